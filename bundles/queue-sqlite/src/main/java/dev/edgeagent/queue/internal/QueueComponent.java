package dev.edgeagent.queue.internal;

import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.Intake;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.QueueAdmin;
import dev.edgeagent.api.queue.PriorMessage;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SQLite {@link MessageStore} as a DS component (PID {@code dev.edgeagent.queue}). Retention settings are
 * applied in place; {@code queueDbPath} is read once (as in Medplum, it cannot change while the file is open).
 * The same component is the {@link QueueAdmin} of the shell, so both work on the one connection and writer thread.
 */
@Component(service = {MessageStore.class, QueueAdmin.class}, configurationPid = QueueComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
public class QueueComponent implements MessageStore, QueueAdmin {
    private static final Logger LOG = LoggerFactory.getLogger(QueueComponent.class);
    public static final String PID = "dev.edgeagent.queue";

    private final SqliteMessageStore store;
    private final ScheduledExecutorService sweeper;
    private ScheduledFuture<?> sweepTask; // guarded by this
    private int sweepSecs = -1; // guarded by this

    @Activate
    public QueueComponent(Map<String, Object> props) {
        QueueSettings s = QueueSettings.from(props);
        store = new SqliteMessageStore(s.dbPath());
        sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "edgeagent-queue-sweeper");
            t.setDaemon(true);
            return t;
        });
        apply(s);
    }

    @Modified
    void modified(Map<String, Object> props) {
        QueueSettings s = QueueSettings.from(props);
        if (!s.dbPath().toAbsolutePath().equals(store.path())) {
            LOG.warn("queueDbPath changed to {}; the queue keeps using {} until the agent restarts", s.dbPath(), store.path());
        }
        apply(s);
    }

    private synchronized void apply(QueueSettings s) {
        for (String w : s.warnings()) LOG.warn(w);
        store.setRetention(s.retention());
        if (s.sweepIntervalSecs() == sweepSecs) return;
        sweepSecs = s.sweepIntervalSecs();
        if (sweepTask != null) sweepTask.cancel(false);
        // The first sweep runs shortly after start so a full store is reported early.
        sweepTask = sweeper.scheduleWithFixedDelay(() -> store.sweep().whenComplete((n, e) -> {
            if (e != null) LOG.warn("Durable queue retention sweep failed: {}", SqliteMessageStore.reason(e));
        }), Math.min(60, sweepSecs), sweepSecs, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() {
        sweeper.shutdownNow();
        store.close();
    }

    @Override
    public CompletionStage<Long> append(NewMessage message) {
        return store.append(message);
    }

    @Override
    public CompletionStage<Intake> appendUnlessDuplicate(NewMessage message) {
        return store.appendUnlessDuplicate(message);
    }

    @Override
    public CompletionStage<Optional<PriorMessage>> findActiveOrRecent(String channel, String messageId) {
        return store.findActiveOrRecent(channel, messageId);
    }

    @Override
    public CompletionStage<Void> markInflight(long id, int attempts) {
        return store.markInflight(id, attempts);
    }

    @Override
    public CompletionStage<Void> requeue(long id, String reason) {
        return store.requeue(id, reason);
    }

    @Override
    public CompletionStage<Void> markDelivered(long id, int statusCode, String responseBody) {
        return store.markDelivered(id, statusCode, responseBody);
    }

    @Override
    public CompletionStage<Void> markFailed(long id, String reason) {
        return store.markFailed(id, reason);
    }

    @Override
    public CompletionStage<List<StoredMessage>> pending(String channel, long afterId, int limit) {
        return store.pending(channel, afterId, limit);
    }

    @Override
    public CompletionStage<Set<String>> channelsWithPending() {
        return store.channelsWithPending();
    }

    @Override
    public CompletionStage<QueueStats> stats() {
        return store.stats();
    }

    @Override
    public CompletionStage<Long> sweep() {
        return store.sweep();
    }

    // ------------------------------------------------------------------ QueueAdmin

    @Override
    public CompletionStage<Optional<Entry>> get(long id) {
        return store.get(id);
    }

    @Override
    public CompletionStage<List<Entry>> failed(String channel, long afterId, int limit) {
        return store.failed(channel, afterId, limit);
    }

    @Override
    public CompletionStage<Integer> retry(long id) {
        return store.retry(id);
    }

    @Override
    public CompletionStage<Integer> retryAllFailed(String channel) {
        return store.retryAllFailed(channel);
    }

    @Override
    public CompletionStage<Integer> discard(long id) {
        return store.discard(id);
    }

    @Override
    public CompletionStage<Integer> discardAllFailed(String channel) {
        return store.discardAllFailed(channel);
    }
}
