package dev.edgeagent.shell.command;

import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.QueueStats;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "queue", description = "Shows the durable queue: messages per channel and state, oldest pending message")
@Service
public class QueueCommand implements Action {

    @Reference(optional = true)
    MessageStore store;

    @Override
    public Object execute() throws Exception {
        if (store == null) {
            System.out.println("No durable queue deployed (feature edge-queue): messages go straight to the server.");
            return null;
        }
        QueueStats st = store.stats().toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.out.print(render(st, System.currentTimeMillis()));
        return null;
    }

    static String render(QueueStats st, long now) {
        StringBuilder sb = new StringBuilder();
        String fmt = "%-24s %9s %9s %10s %9s  %s%n";
        sb.append(String.format(fmt, "Channel", "Queued", "Inflight", "Processed", "Failed", "Oldest pending"));
        st.channels().forEach((ch, d) -> sb.append(String.format(fmt, ch, d.count(MessageState.QUEUED),
                d.count(MessageState.INFLIGHT), d.count(MessageState.PROCESSED), d.count(MessageState.FAILED),
                d.oldestQueuedAt() < 0 ? "-" : age(now - d.oldestQueuedAt()))));
        sb.append(String.format(fmt, "(total)", st.countsByState().get(MessageState.QUEUED),
                st.countsByState().get(MessageState.INFLIGHT), st.countsByState().get(MessageState.PROCESSED),
                st.countsByState().get(MessageState.FAILED), ""));
        sb.append("Database size: ").append(st.dbSizeBytes() / 1024).append(" KiB");
        if (st.lastSweepAt() >= 0) {
            sb.append("; last retention sweep ").append(age(now - st.lastSweepAt())).append(" ago deleted ")
                    .append(st.lastSweepDeleted()).append(" message(s)");
        }
        return sb.append('\n').toString();
    }

    static String age(long ms) {
        long s = Math.max(0, ms) / 1000;
        if (s < 60) return s + " s";
        if (s < 3600) return s / 60 + " min " + s % 60 + " s";
        return s / 3600 + " h " + s % 3600 / 60 + " min";
    }
}
