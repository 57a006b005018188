package dev.edgeagent.shell.command;

import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.QueueAdmin;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.console.Session;

/**
 * The shared part of {@code agent:queue-retry} and {@code agent:queue-discard}: same arguments, same checks, only the
 * {@link QueueOps.Action} differs. Karaf injects annotated fields of superclasses too, so subclasses only declare
 * {@code @Command}/{@code @Service}.
 */
abstract class FailedMessageCommand implements Action {

    @Reference(optional = true)
    QueueAdmin admin;

    @Reference(optional = true)
    MessageStore store;

    @Reference
    Session session;

    @Argument(index = 0, name = "id|channel", description = "Message id; with --all-failed, an optional channel name", required = false)
    String target;

    @Option(name = "--all-failed", description = "Every failed message (of the channel given, else of all channels)")
    boolean allFailed;

    @Option(name = "--force", aliases = "-f", description = "Do not ask for confirmation")
    boolean force;

    private final QueueOps.Action action;

    FailedMessageCommand(QueueOps.Action action) {
        this.action = action;
    }

    @Override
    public Object execute() throws Exception {
        if (admin == null || store == null) {
            System.err.println(QueueCommand.NO_QUEUE);
            return null;
        }
        new QueueOps(admin, () -> store.stats().toCompletableFuture().get(QueueOps.TIMEOUT_SECONDS, TimeUnit.SECONDS),
                System.out, System.err)
                .apply(action, target, allFailed, force, q -> QueueOps.isYes(session.readLine(q, null)));
        return null;
    }
}
