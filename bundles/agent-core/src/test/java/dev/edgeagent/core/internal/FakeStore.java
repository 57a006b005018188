package dev.edgeagent.core.internal;

import dev.edgeagent.api.queue.Intake;
import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.PriorMessage;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/** In-memory MessageStore; appends can be held (to observe "not yet durable") or failed. */
final class FakeStore implements MessageStore {
    static final class Row {
        final long id;
        final NewMessage m;
        MessageState state = MessageState.QUEUED;
        int attempts;
        Integer status;
        String serverBody;
        String lastError;

        Row(long id, NewMessage m) {
            this.id = id;
            this.m = m;
        }
    }

    final TreeMap<Long, Row> rows = new TreeMap<>();
    private final List<Runnable> held = new ArrayList<>();
    volatile boolean hold;
    volatile String failAppends;
    private long nextId = 1;

    @Override
    public CompletionStage<Long> append(NewMessage m) {
        return write(() -> insert(m));
    }

    @Override
    public CompletionStage<Intake> appendUnlessDuplicate(NewMessage m) {
        return write(() -> {
            PriorMessage p = m.messageId() == null ? null : prior(m.channel(), m.messageId());
            return p != null ? Intake.duplicate(p) : Intake.stored(insert(m));
        });
    }

    @Override
    public synchronized CompletionStage<Optional<PriorMessage>> findActiveOrRecent(String channel, String messageId) {
        return CompletableFuture.completedFuture(Optional.ofNullable(prior(channel, messageId)));
    }

    /** Pending or processed (this fake keeps no retention period). */
    private synchronized PriorMessage prior(String channel, String messageId) {
        for (Row r : rows.descendingMap().values()) {
            if (r.m.channel().equals(channel) && messageId.equals(r.m.messageId())
                    && (r.state.isPending() || r.state == MessageState.PROCESSED)) {
                return new PriorMessage(stored(r), r.status == null ? -1 : r.status, r.serverBody);
            }
        }
        return null;
    }

    private synchronized long insert(NewMessage m) {
        long id = nextId++;
        rows.put(id, new Row(id, m));
        return id;
    }

    /** Applies the write now, or when released (hold), in call order; failAppends refuses it. */
    private <T> CompletionStage<T> write(Supplier<T> w) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (failAppends != null) {
            f.completeExceptionally(new IllegalStateException(failAppends));
            return f;
        }
        Runnable write = () -> f.complete(w.get());
        synchronized (this) {
            if (hold) {
                held.add(write);
                return f;
            }
        }
        write.run();
        return f;
    }

    /** Completes the held appends ("the group commit is done"). */
    void release() {
        List<Runnable> r;
        synchronized (this) {
            hold = false;
            r = new ArrayList<>(held);
            held.clear();
        }
        r.forEach(Runnable::run);
    }

    /** A row left by a previous run. */
    synchronized long preload(NewMessage m, MessageState state, int attempts) {
        long id = nextId++;
        Row r = new Row(id, m);
        r.state = state;
        r.attempts = attempts;
        rows.put(id, r);
        return id;
    }

    synchronized Row row(String messageId) {
        for (Row r : rows.values()) if (messageId.equals(r.m.messageId())) return r;
        return null;
    }

    private synchronized CompletionStage<Void> update(long id, java.util.function.Consumer<Row> u) {
        Row r = rows.get(id);
        if (r != null) u.accept(r);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> markInflight(long id, int attempts) {
        return update(id, r -> {
            r.state = MessageState.INFLIGHT;
            r.attempts = attempts;
        });
    }

    @Override
    public CompletionStage<Void> requeue(long id, String reason) {
        return update(id, r -> {
            r.state = MessageState.QUEUED;
            r.lastError = reason;
        });
    }

    @Override
    public CompletionStage<Void> markDelivered(long id, int statusCode, String responseBody) {
        return update(id, r -> {
            r.state = MessageState.PROCESSED;
            r.status = statusCode;
            r.serverBody = responseBody;
        });
    }

    @Override
    public CompletionStage<Void> markFailed(long id, String reason) {
        return update(id, r -> {
            r.state = MessageState.FAILED;
            r.lastError = reason;
        });
    }

    @Override
    public synchronized CompletionStage<List<StoredMessage>> pending(String channel, long afterId, int limit) {
        List<StoredMessage> out = new ArrayList<>();
        for (Row r : rows.tailMap(afterId, false).values()) {
            if (out.size() >= limit) break;
            if (r.state.isPending() && r.m.channel().equals(channel)) {
                out.add(stored(r));
            }
        }
        return CompletableFuture.completedFuture(out);
    }

    private static StoredMessage stored(Row r) {
        return new StoredMessage(r.id, r.m.channel(), r.m.remote(), r.m.contentType(), r.m.body(), r.m.messageId(),
                r.m.callbackId(), r.state, r.attempts, 0);
    }

    @Override
    public synchronized CompletionStage<Set<String>> channelsWithPending() {
        Set<String> out = new LinkedHashSet<>();
        for (Row r : rows.values()) if (r.state.isPending()) out.add(r.m.channel());
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public synchronized CompletionStage<QueueStats> stats() {
        Map<MessageState, Long> total = new EnumMap<>(MessageState.class);
        Map<String, Map<MessageState, Long>> per = new TreeMap<>();
        for (MessageState s : MessageState.values()) total.put(s, 0L);
        for (Row r : rows.values()) {
            total.merge(r.state, 1L, Long::sum);
            per.computeIfAbsent(r.m.channel(), k -> new EnumMap<>(MessageState.class)).merge(r.state, 1L, Long::sum);
        }
        Map<String, QueueStats.ChannelDepth> ch = new TreeMap<>();
        per.forEach((k, v) -> ch.put(k, new QueueStats.ChannelDepth(v, v.containsKey(MessageState.QUEUED) ? 0 : -1)));
        return CompletableFuture.completedFuture(new QueueStats(4096, total, ch, -1, -1));
    }

    @Override
    public CompletionStage<Long> sweep() {
        return CompletableFuture.completedFuture(0L);
    }
}
