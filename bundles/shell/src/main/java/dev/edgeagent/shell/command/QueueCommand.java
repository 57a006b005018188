package dev.edgeagent.shell.command;

import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.QueueAdmin;
import dev.edgeagent.api.queue.QueueStats;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "queue", description = "Shows the durable queue: messages per channel and state, oldest pending message; with --failed, lists failed messages")
@Service
public class QueueCommand implements Action {
    static final String NO_QUEUE = "No durable queue deployed (feature edge-queue): messages go straight to the server.";
    static final int DEFAULT_LIST = 50;

    @Reference(optional = true)
    MessageStore store;

    @Reference(optional = true)
    QueueAdmin admin;

    @Option(name = "--failed", description = "List failed messages (oldest first) instead of the counts")
    boolean failed;

    @Option(name = "--after", description = "With --failed: start after this message id (paging)")
    long after;

    @Option(name = "--limit", description = "With --failed: at most this many messages (default 50, at most 1000)")
    int limit = DEFAULT_LIST;

    @Argument(index = 0, name = "channel", description = "With --failed: only this channel", required = false)
    @Completion(ChannelNameCompleter.class)
    String channel;

    @Override
    public Object execute() throws Exception {
        if (store == null) {
            System.out.println(NO_QUEUE);
            return null;
        }
        if (failed) {
            if (admin == null) {
                System.err.println(NO_QUEUE);
                return null;
            }
            List<QueueAdmin.Entry> page = admin.failed(channel, after, Math.max(1, limit)).toCompletableFuture().get(30, TimeUnit.SECONDS);
            System.out.print(renderFailed(page, channel, Math.max(1, limit)));
            return null;
        }
        QueueStats st = store.stats().toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.out.print(render(st, System.currentTimeMillis()));
        return null;
    }

    /** One line per failed message; the last line tells how to see the next page. */
    static String renderFailed(List<QueueAdmin.Entry> page, String channel, int limit) {
        if (page.isEmpty()) {
            return "No failed messages" + (channel == null ? "" : " in channel '" + channel + "'") + ".\n";
        }
        StringBuilder sb = new StringBuilder();
        String fmt = "%10s  %-20s %-22s %8s  %-20s  %s%n";
        sb.append(String.format(fmt, "Id", "Channel", "Message id", "Attempts", "Failed at", "Last error"));
        for (QueueAdmin.Entry e : page) {
            String err = e.lastError() == null ? "-" : e.lastError().replace('\r', ' ').replace('\n', ' ');
            if (err.length() > 100) err = err.substring(0, 97) + "...";
            long at = e.processedAt() >= 0 ? e.processedAt() : e.updatedAt();
            sb.append(String.format(fmt, e.message().id(), e.message().channel(), Format.orDash(e.message().messageId()),
                    e.message().attempts(), Instant.ofEpochMilli(at).toString().replaceFirst("\\.\\d+Z$", "Z"), err));
        }
        long last = page.get(page.size() - 1).message().id();
        if (page.size() >= limit) {
            sb.append("More may follow: agent:queue --failed --after ").append(last).append(channel == null ? "" : " " + channel).append('\n');
        }
        sb.append("Details: agent:queue-show <id>; act: agent:queue-retry / agent:queue-discard <id|--all-failed [channel]>\n");
        return sb.toString();
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
