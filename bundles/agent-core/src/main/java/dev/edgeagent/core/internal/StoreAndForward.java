package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageTypes;
import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import dev.edgeagent.api.transport.Transport;
import dev.edgeagent.api.transport.TransportException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Store and forward (spec §8): device messages go to the {@link MessageStore} first, and one dispatcher per
 * channel sends them to the server in FIFO order, one at a time, only while the link is live. Each attempt
 * carries the callback {@code <callbackId>#<attempt>}; no answer within the response timeout, a lost link or
 * a transient server error (5xx, 429) means another attempt after an exponential back-off with jitter.
 * <p>
 * Memory stays bounded whatever the queue depth: a dispatcher holds at most one page of messages and reads
 * the next page by id cursor. The store is the source of truth; the dispatcher does not wait for its
 * bookkeeping writes (inflight/processed marks), which the store applies in order: a crash between the
 * server's answer and the processed mark means the message is sent once more (at least once, same MSH-10).
 */
final class StoreAndForward {
    private static final Logger LOG = LoggerFactory.getLogger(StoreAndForward.class);
    static final int PAGE = 100;
    /** Answers to settled messages that may still arrive (an earlier attempt's late answer) are recognised and dropped. */
    static final int RECENT_SETTLED = 4096;

    static final String SETTING_ENABLED = "durableQueue";
    /**
     * Off until the queue is complete (standard-mode bypass of the fsync, parallel dispatch, duplicates): with one
     * message in flight per channel it would cap a busy channel at one server round trip per message.
     */
    static final boolean DEFAULT_ENABLED = false;
    static final String RETRY_MODE = "channelRetryMode";
    static final String BASE_DELAY = "channelAutoRetryBaseDelayMs";
    static final String MAX_DELAY = "channelAutoRetryMaxDelayMs";
    static final String MAX_ATTEMPTS = "channelAutoRetryMaxAttempts";
    static final String MULTIPLIER = "channelAutoRetryBackoffMultiplier";

    /** Where answers go once a message is settled: back to the device's submission, if it still waits. */
    interface Relay {
        /** @return false when no submission waits for this callback (e.g. sent before a restart) */
        boolean reply(String callbackId, DeviceReply reply);

        boolean fail(String callbackId, String reason);
    }

    private final MessageStore store;
    private final ScheduledExecutorService executor;
    private final Supplier<Transport> transport;
    private final Supplier<AgentSettings> settings;
    private final Relay relay;
    private final Duration responseTimeout;
    private final Map<String, Dispatcher> dispatchers = new ConcurrentHashMap<>();
    private final Map<String, Dispatcher> inflight = new ConcurrentHashMap<>();
    private final Set<String> recentlySettled = Collections.newSetFromMap(Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> e) {
                    return size() > RECENT_SETTLED;
                }
            }));
    private volatile boolean live;
    private volatile boolean closed;

    StoreAndForward(MessageStore store, ScheduledExecutorService executor, Supplier<Transport> transport,
                    Supplier<AgentSettings> settings, Relay relay, Duration responseTimeout) {
        this.store = store;
        this.executor = executor;
        this.transport = transport;
        this.settings = settings;
        this.relay = relay;
        this.responseTimeout = responseTimeout;
    }

    MessageStore store() {
        return store;
    }

    /** Stores the message; the stage completes once it is durable. Then its channel's dispatcher is woken. */
    CompletionStage<Long> append(String channel, InboundMessage m, String callbackId) {
        return store.append(new NewMessage(channel, m.remote(), m.contentType(), m.body(), m.messageId(), callbackId))
                .whenComplete((id, e) -> {
                    if (e == null) dispatcher(channel).wake();
                });
    }

    /**
     * Restart recovery: every channel with pending messages gets a dispatcher. Those messages' devices are
     * gone, so their answers are stored only.
     */
    void recover() {
        store.stats().whenComplete((st, e) -> {
            if (e != null) {
                LOG.error("Durable queue: cannot read pending messages to resume delivery: {}", messageOf(e));
                return;
            }
            st.channels().forEach((ch, depth) -> {
                long n = depth.count(MessageState.QUEUED) + depth.count(MessageState.INFLIGHT);
                if (n == 0) return;
                LOG.info("[{}] Resuming delivery of {} stored message(s) ({} possibly sent before the restart); the server's"
                        + " answers to them will be stored only, their device connections are gone", ch, n,
                        depth.count(MessageState.INFLIGHT));
                dispatcher(ch).wake();
            });
        });
    }

    void setLive(boolean isLive) {
        live = isLive;
        for (Dispatcher d : dispatchers.values()) {
            if (isLive) d.wake();
            else d.linkLost();
        }
    }

    /**
     * An {@code agent:transmit:response} for a stored message.
     *
     * @return true when it belonged to the durable queue (it must then not be routed any other way)
     */
    boolean onResponse(String callback, DeviceReply reply) {
        if (callback == null) return false;
        String id = MessageRouter.stripAttempt(callback);
        Dispatcher d = inflight.get(id);
        if (d != null) {
            d.answered(id, callback, reply);
            return true;
        }
        if (recentlySettled.contains(id)) {
            LOG.debug("Dropping late answer {} for an already settled message", callback);
            return true;
        }
        return false;
    }

    void close() {
        closed = true;
        for (Dispatcher d : dispatchers.values()) d.stop();
    }

    /** The {@code durableQueue} object of $stats (spec §9.1). */
    Map<String, Object> stats(boolean enabled) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("enabled", enabled);
        QueueStats st;
        try {
            st = store.stats().toCompletableFuture().get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            out.put("error", messageOf(e));
            return out;
        }
        long now = System.currentTimeMillis();
        out.put("dbSizeBytes", st.dbSizeBytes());
        Map<String, Object> counts = new LinkedHashMap<>();
        st.countsByState().forEach((s, n) -> counts.put(s.label(), n));
        out.put("countsByState", counts);
        Map<String, Object> depth = new LinkedHashMap<>();
        st.channels().forEach((ch, d) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("queued", d.count(MessageState.QUEUED));
            m.put("inflight", d.count(MessageState.INFLIGHT));
            m.put("oldestQueuedAgeMs", d.oldestQueuedAt() < 0 ? -1L : Math.max(0, now - d.oldestQueuedAt()));
            depth.put(ch, m);
        });
        out.put("channelDepth", depth);
        out.put("lastSweepAt", st.lastSweepAt());
        out.put("lastSweepDeleted", st.lastSweepDeleted());
        return out;
    }

    private Dispatcher dispatcher(String channel) {
        return dispatchers.computeIfAbsent(channel, Dispatcher::new);
    }

    private void run(Runnable r) {
        try {
            executor.execute(r);
        } catch (RejectedExecutionException e) {
            // runtime stopping: the messages stay stored and are sent after the next start
        }
    }

    static String messageOf(Throwable e) {
        Throwable t = e;
        while (t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException) {
            if (t.getCause() == null) break;
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    // ------------------------------------------------------------------ retry policy

    enum RetryMode { NONE, NORMAL, GUARANTEED }

    record RetryPolicy(RetryMode mode, long baseMs, long maxMs, int maxAttempts, double multiplier) {
        static RetryPolicy from(AgentSettings s) {
            RetryMode mode;
            try {
                mode = RetryMode.valueOf(s.getString(RETRY_MODE, "guaranteed").trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                mode = RetryMode.GUARANTEED;
            }
            double mult = 2;
            if (s.get(MULTIPLIER) instanceof Number n && n.doubleValue() > 0) mult = n.doubleValue();
            int dfltMax = mode == RetryMode.NORMAL ? 10 : 0;
            return new RetryPolicy(mode, s.getNonNegativeInt(BASE_DELAY, 1000), s.getNonNegativeInt(MAX_DELAY, 60_000),
                    s.getNonNegativeInt(MAX_ATTEMPTS, dfltMax), mult);
        }

        /** Whether another attempt follows the failed attempt number {@code attempt}. */
        boolean retries(int attempt) {
            if (mode == RetryMode.NONE) return false;
            return maxAttempts <= 0 || attempt < maxAttempts;
        }

        /** base × multiplier^(attempt-1), capped, with "equal jitter" (half fixed, half random). */
        long delayMs(int attempt) {
            double d = baseMs * Math.pow(multiplier, Math.max(0, attempt - 1));
            long capped = (long) Math.min(d, maxMs);
            long half = capped / 2;
            return half + (half > 0 ? ThreadLocalRandom.current().nextLong(half + 1) : 0);
        }
    }

    // ------------------------------------------------------------------ per-channel dispatcher

    /** Strict FIFO, one message in flight. All state is guarded by the dispatcher's monitor. */
    private final class Dispatcher {
        final String channel;
        final ArrayDeque<StoredMessage> buffer = new ArrayDeque<>();
        long cursor;
        boolean reading;
        boolean dirty = true;
        boolean stopped;
        StoredMessage current;
        int attempt;
        boolean sent; // current is on the wire and its answer awaited
        ScheduledFuture<?> timer;

        Dispatcher(String channel) {
            this.channel = channel;
        }

        void wake() {
            synchronized (this) {
                dirty = true;
            }
            run(this::pump);
        }

        synchronized void stop() {
            stopped = true;
            cancelTimer();
        }

        synchronized void linkLost() {
            if (current != null && sent) {
                // The answer cannot come over a new connection; send again as soon as the link is back.
                cancelTimer();
                sent = false;
                store.requeue(current.id(), "link to the server lost while waiting for the answer");
            }
        }

        synchronized void pump() {
            if (stopped || closed || !live) return;
            if (current != null) {
                if (!sent && timer == null) sendCurrent();
                return;
            }
            StoredMessage next = buffer.poll();
            if (next != null) {
                current = next;
                attempt = next.attempts();
                inflight.put(next.callbackId(), this);
                sendCurrent();
                return;
            }
            if (reading || !dirty) return;
            reading = true;
            dirty = false;
            store.pending(channel, cursor, PAGE).whenComplete((page, e) -> run(() -> onPage(page, e)));
        }

        synchronized void onPage(List<StoredMessage> page, Throwable e) {
            reading = false;
            if (e != null) {
                LOG.error("[{}] Durable queue: cannot read stored messages: {}; retrying in 1 s", channel, messageOf(e));
                dirty = true;
                schedule(this::pump, 1000);
                return;
            }
            for (StoredMessage m : page) {
                buffer.add(m);
                cursor = m.id();
            }
            // A full page means more may follow even without a new append.
            if (page.size() == PAGE) dirty = true;
            pump();
        }

        private void sendCurrent() {
            Transport t = transport.get();
            StoredMessage m = current;
            attempt++;
            String callback = m.callbackId() + "#" + attempt;
            store.markInflight(m.id(), attempt).whenComplete((v, e) -> {
                if (e != null) LOG.warn("[{}] Durable queue: {}", channel, messageOf(e));
            });
            if (t == null) {
                failedAttempt("no transport deployed");
                return;
            }
            try {
                t.send(transmitRequest(m, callback));
            } catch (TransportException | RuntimeException ex) {
                failedAttempt("the link refused the frame: " + messageOf(ex));
                return;
            }
            sent = true;
            int a = attempt;
            timer = schedule(() -> timedOut(m.id(), a), responseTimeout.toMillis());
        }

        synchronized void timedOut(long id, int a) {
            if (current == null || current.id() != id || attempt != a || !sent) return;
            timer = null;
            sent = false;
            failedAttempt("no answer from the server within " + (responseTimeout.toMillis() % 1000 == 0
                    ? responseTimeout.toSeconds() + " s" : responseTimeout.toMillis() + " ms"));
        }

        synchronized void answered(String callbackId, String callback, DeviceReply reply) {
            if (current == null || !current.callbackId().equals(callbackId)) return;
            cancelTimer();
            sent = false;
            StoredMessage m = current;
            int status = reply.statusCode();
            if (reply.isSuccess()) {
                store.markDelivered(m.id(), status, reply.body()).whenComplete(this::logWriteFailure);
                relayOrLog(m, reply);
                settle();
            } else if (status >= 500 || status == 429) {
                failedAttempt("server answered " + status + ": " + truncate(reply.body()));
            } else {
                // A permanent refusal: retrying cannot help; the device hears the server's answer.
                String reason = "server answered " + status + ": " + truncate(reply.body());
                LOG.warn("[{}] Message {} refused by the server ({}); not retried", channel, shown(m), reason);
                store.markFailed(m.id(), reason).whenComplete(this::logWriteFailure);
                relayOrLog(m, reply);
                settle();
            }
        }

        /** Called with the monitor held. */
        private void failedAttempt(String reason) {
            StoredMessage m = current;
            RetryPolicy p = RetryPolicy.from(settings.get());
            if (!p.retries(attempt)) {
                String why = "Message " + shown(m) + " not delivered after " + attempt + " attempt(s) (retry mode "
                        + p.mode().name().toLowerCase(Locale.ROOT) + "): " + reason;
                LOG.error("[{}] {}", channel, why);
                store.markFailed(m.id(), reason).whenComplete(this::logWriteFailure);
                if (!relay.fail(m.callbackId(), why)) LOG.debug("[{}] No device waits for {}", channel, shown(m));
                settle();
                return;
            }
            long delay = p.delayMs(attempt);
            LOG.warn("[{}] Attempt {} of message {} failed: {}; retrying in {} ms", channel, attempt, shown(m), reason, delay);
            store.requeue(m.id(), reason).whenComplete(this::logWriteFailure);
            sent = false;
            timer = schedule(this::retryDue, delay);
        }

        synchronized void retryDue() {
            timer = null;
            pump(); // sends again if the link is live; otherwise the next LIVE does
        }

        private void settle() {
            inflight.remove(current.callbackId());
            recentlySettled.add(current.callbackId());
            current = null;
            attempt = 0;
            run(this::pump);
        }

        private void relayOrLog(StoredMessage m, DeviceReply reply) {
            if (!relay.reply(m.callbackId(), reply)) {
                LOG.debug("[{}] Answer to {} stored only: no device connection waits for it", channel, shown(m));
            }
        }

        private void logWriteFailure(Object v, Throwable e) {
            if (e != null) LOG.warn("[{}] Durable queue: {}", channel, messageOf(e));
        }

        private void cancelTimer() {
            if (timer != null) timer.cancel(false);
            timer = null;
        }

        private ScheduledFuture<?> schedule(Runnable r, long delayMs) {
            try {
                return executor.schedule(r, delayMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                return null;
            }
        }
    }

    private static String shown(StoredMessage m) {
        return m.messageId() != null ? m.messageId() : "#" + m.id();
    }

    private static String truncate(String s) {
        if (s == null) return "";
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }

    private static AgentMessage transmitRequest(StoredMessage m, String callback) {
        Map<String, Object> f = new LinkedHashMap<>(16);
        f.put(AgentMessage.TYPE, MessageTypes.TRANSMIT_REQUEST);
        f.put(AgentMessage.ACCESS_TOKEN, "placeholder");
        f.put(AgentMessage.CHANNEL, m.channel());
        if (m.remote() != null) f.put(AgentMessage.REMOTE, m.remote());
        if (m.contentType() != null) f.put(AgentMessage.CONTENT_TYPE, m.contentType());
        f.put(AgentMessage.BODY, m.body());
        f.put(AgentMessage.CALLBACK, callback);
        return AgentMessage.fromMap(f);
    }
}
