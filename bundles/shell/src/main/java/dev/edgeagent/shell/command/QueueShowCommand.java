package dev.edgeagent.shell.command;

import dev.edgeagent.api.queue.QueueAdmin;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "queue-show", description = "Shows one stored message: channel, remote, state, attempts, times, last error, server answer and body")
@Service
public class QueueShowCommand implements Action {

    @Reference(optional = true)
    QueueAdmin admin;

    @Argument(index = 0, name = "id", description = "Store id of the message (agent:queue --failed lists failed ones)", required = true)
    String id;

    @Option(name = "--full", description = "Show the whole body and server answer, however long")
    boolean full;

    @Override
    public Object execute() throws Exception {
        if (admin == null) {
            System.err.println(QueueCommand.NO_QUEUE);
            return null;
        }
        new QueueOps(admin, null, System.out, System.err).show(id, full, System.currentTimeMillis());
        return null;
    }
}
