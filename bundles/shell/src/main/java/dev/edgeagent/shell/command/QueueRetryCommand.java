package dev.edgeagent.shell.command;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "queue-retry", description = "Sends failed messages again (state queued, attempts reset): one by id, or all failed ones of a channel or of every channel")
@Service
public class QueueRetryCommand extends FailedMessageCommand {

    public QueueRetryCommand() {
        super(QueueOps.Action.RETRY);
    }
}
