package dev.edgeagent.shell.command;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "queue-discard", description = "Deletes failed messages for good (logged): one by id, or all failed ones of a channel or of every channel")
@Service
public class QueueDiscardCommand extends FailedMessageCommand {

    public QueueDiscardCommand() {
        super(QueueOps.Action.DISCARD);
    }
}
