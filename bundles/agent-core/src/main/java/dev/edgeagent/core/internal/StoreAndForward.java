package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.queue.Intake;
import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import dev.edgeagent.api.transport.Transport;
import dev.edgeagent.api.transport.TransportException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Store and forward (spec §8): messages whose channel owes the device a commit ACK go to the {@link MessageStore}
 * first; one dispatcher per channel sends them to the server only while the link is live. Each attempt carries
 * the callback {@code <callbackId>#<attempt>}; no answer within the response timeout, a lost link, a transient
 * server error (5xx, 408, 429) or an HL7 answer AE/CE means another attempt after an exponential back-off with
 * jitter (per retry mode); a 4xx status or an HL7 answer AR/CR is permanent: the message fails and the device
 * hears the server's answer.
 * <p>
 * Ordering per channel ({@link DeliveryConfig}):
 * <ul>
 * <li>{@code maxWorkers=1} (default): strict FIFO; the next message is sent only once the previous one is settled
 *     (answered, or given up on).</li>
 * <li>{@code maxWorkers=N} without {@code logicalChannelKey}: pipelining. First attempts are sent in arrival order,
 *     up to N awaiting their answers at once. While any of them waits to be sent again (after a failure or a lost
 *     link) no new message is sent, so a retried message can reach the server after at most N-1 of its
 *     successors, and never after a message that arrived later than those.</li>
 * <li>{@code maxWorkers=N} with {@code logicalChannelKey}: at most one message per key in flight, so messages of one
 *     key are delivered strictly in arrival order (each only after its predecessor settled, retries included);
 *     different keys go in parallel up to N. A message whose key fields are missing has the empty key.</li>
 * </ul>
 * Memory stays bounded whatever the queue depth: a dispatcher holds about max(100, 2 × maxWorkers) waiting
 * messages and reads the next page by id cursor (and from the start every few seconds, for messages an operator
 * put back). The store is the source of truth; the dispatcher does not wait
 * for its bookkeeping writes (inflight/processed marks), which the store applies in order: a crash between the
 * server's answer and the processed mark means the message is sent once more (at least once, same MSH-10).
 * A first attempt is not marked inflight (the row stays queued, which a restart treats the same way), so a delivered
 * message costs its append plus one processed mark.
 */
final class StoreAndForward {
    private static final Logger LOG = LoggerFactory.getLogger(StoreAndForward.class);
    static final int PAGE = 100;
    /** Answers to settled messages that may still arrive (an earlier attempt's late answer) are recognised and dropped. */
    static final int RECENT_SETTLED = 4096;
    private static final LogicalKey MSA_1 = LogicalKey.parse("MSA-1");
    private static final LogicalKey MSA_3 = LogicalKey.parse("MSA-3");

    static final String SETTING_ENABLED = "durableQueue";
    /** On by default (Medplum's is opt-in): only messages that owe a commit ACK pay for the fsync. */
    static final boolean DEFAULT_ENABLED = true;

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
    private final Function<String, ChannelConfig> channelConfig;
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
    private ScheduledFuture<?> rescanTask;

    /**
     * @param channelConfig the current configuration of a channel by name, or null when it is not configured
     *                      (then only the Agent settings apply)
     * @param rescan        how often each channel's queue is read again from its start, so messages put back
     *                      behind the read cursor (a failed message retried by an operator) are found
     */
    StoreAndForward(MessageStore store, ScheduledExecutorService executor, Supplier<Transport> transport,
                    Supplier<AgentSettings> settings, Function<String, ChannelConfig> channelConfig, Relay relay,
                    Duration responseTimeout, Duration rescan) {
        this.store = store;
        this.executor = executor;
        this.transport = transport;
        this.settings = settings;
        this.channelConfig = channelConfig;
        this.relay = relay;
        this.responseTimeout = responseTimeout;
        long every = Math.max(1, rescan.toMillis());
        try {
            rescanTask = executor.scheduleWithFixedDelay(() -> {
                for (Dispatcher d : dispatchers.values()) d.rescan();
            }, every, every, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // runtime stopping
        }
    }

    MessageStore store() {
        return store;
    }

    /** The delivery configuration of a channel as it applies now. */
    DeliveryConfig config(String channel) {
        return DeliveryConfig.of(channelConfig.apply(channel), settings.get());
    }

    /**
     * Stores the message unless it duplicates a pending or recently processed one (same channel and message id);
     * the stage completes once it is durable. Then its channel's dispatcher is woken.
     */
    CompletionStage<Intake> append(String channel, InboundMessage m, String callbackId) {
        NewMessage nm = new NewMessage(channel, m.remote(), m.contentType(), m.body(), m.messageId(), callbackId);
        CompletionStage<Intake> stored = m.messageId() == null
                ? store.append(nm).thenApply(Intake::stored) : store.appendUnlessDuplicate(nm);
        return stored.whenComplete((in, e) -> {
            // The row is known in full here: handing it over saves the dispatcher reading it back from the store.
            if (e == null && !in.isDuplicate()) {
                dispatcher(channel).offer(new StoredMessage(in.id(), channel, nm.remote(), nm.contentType(), nm.body(),
                        nm.messageId(), nm.callbackId(), MessageState.QUEUED, 0, System.currentTimeMillis()));
            }
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
                // A first attempt leaves no mark, so any of them may have reached the server: sent again, same MSH-10.
                LOG.info("[{}] Resuming delivery of {} stored message(s) ({} of them being retried before the restart; any"
                        + " may have reached the server already and is sent again with the same message id); the server's"
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
            d.answered(id, reply);
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
        if (rescanTask != null) rescanTask.cancel(false);
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

    /** How a server answer settles a message. */
    private enum Verdict { DELIVERED, RETRY, REFUSED }

    private record Outcome(Verdict verdict, String reason) {
    }

    private static Outcome classify(DeviceReply reply) {
        int status = reply.statusCode();
        if (status >= 500 || status == 429 || status == 408) {
            return new Outcome(Verdict.RETRY, "server answered " + status + ": " + truncate(reply.body()));
        }
        if (status >= 400) return new Outcome(Verdict.REFUSED, "server answered " + status + ": " + truncate(reply.body()));
        // An HL7 answer carries its verdict in MSA-1 (any status below 400).
        String code = MSA_1.of(reply.body());
        if (code.length() == 2 && (code.charAt(1) == 'R' || code.charAt(1) == 'E') && (code.charAt(0) == 'A' || code.charAt(0) == 'C')) {
            String text = MSA_3.of(reply.body());
            String reason = "server answered " + code + (text.isEmpty() ? "" : ": " + truncate(text));
            return new Outcome(code.charAt(1) == 'R' ? Verdict.REFUSED : Verdict.RETRY, reason);
        }
        return new Outcome(Verdict.DELIVERED, null);
    }

    // ------------------------------------------------------------------ per-channel dispatcher

    /** A message taken from the store and not yet settled. */
    private static final class Attempt {
        final StoredMessage m;
        final String key;
        int attempt;
        boolean sent; // on the wire, its answer awaited
        ScheduledFuture<?> timer; // response timeout while sent, back-off while waiting to be sent again
        DeviceReply lastAnswer; // the server's last retryable answer, relayed if retries run out

        Attempt(StoredMessage m, String key) {
            this.m = m;
            this.key = key;
            this.attempt = m.attempts();
        }
    }

    /** A stored message waiting to be sent, with its partition key computed once per key spec. */
    private static final class Waiting {
        final StoredMessage m;
        LogicalKey keySpec;
        String key;

        Waiting(StoredMessage m) {
            this.m = m;
        }

        String key(LogicalKey spec) {
            if (spec != keySpec) {
                keySpec = spec;
                key = spec.of(m.body());
            }
            return key;
        }
    }

    /** All state is guarded by the dispatcher's monitor. */
    private final class Dispatcher {
        final String channel;
        final ArrayList<Waiting> buffer = new ArrayList<>();
        final Set<Long> buffered = new HashSet<>();
        /** Taken or settled while a page read was on its way: that page may show them in their old state. */
        final Set<Long> touched = new HashSet<>();
        final TreeMap<Long, Attempt> active = new TreeMap<>();
        final Map<String, Attempt> byCallback = new HashMap<>();
        final Map<String, Integer> busyKeys = new HashMap<>();
        long cursor;
        /**
         * Every pending row up to {@code cursor} is known (waiting, active or settled): the last page read was short
         * and nothing was missed since, so appends handed over by {@link #offer} may go straight into the buffer.
         */
        boolean caughtUp;
        boolean reading;
        boolean dirty = true;
        boolean stopped;
        ChannelConfig configSource;
        AgentSettings settingsSource;
        DeliveryConfig config;

        Dispatcher(String channel) {
            this.channel = channel;
        }

        /** Re-read only when the channel or the Agent settings were reloaded. */
        DeliveryConfig config() {
            ChannelConfig c = channelConfig.apply(channel);
            AgentSettings s = settings.get();
            if (config == null || c != configSource || s != settingsSource) {
                configSource = c;
                settingsSource = s;
                config = DeliveryConfig.of(c, s);
            }
            return config;
        }

        void wake() {
            synchronized (this) {
                caughtUp = false;
                dirty = true;
            }
            run(this::pump);
        }

        synchronized void stop() {
            stopped = true;
            for (Attempt a : active.values()) cancelTimer(a);
        }

        /**
         * A message just appended: buffered directly when nothing can be missed by doing so, otherwise left to the
         * next page read (which must then start at or below it).
         */
        void offer(StoredMessage m) {
            synchronized (this) {
                int room = Math.max(PAGE, 2 * config().maxWorkers()) - buffer.size();
                if (caughtUp && !reading && room > 0 && !stopped) {
                    if (!active.containsKey(m.id()) && buffered.add(m.id())) {
                        // Appends of one channel usually complete in id order; a rare late one goes to its place.
                        int i = buffer.size();
                        while (i > 0 && buffer.get(i - 1).m.id() > m.id()) i--;
                        buffer.add(i, new Waiting(m));
                    }
                    cursor = Math.max(cursor, m.id());
                } else {
                    caughtUp = false;
                    dirty = true;
                    if (m.id() <= cursor) cursor = m.id() - 1;
                }
            }
            run(this::pump);
        }

        /** Reads from the start again; what is already known is skipped, so this costs about one short page. */
        void rescan() {
            synchronized (this) {
                if (stopped || closed || !live) return;
                cursor = 0;
                caughtUp = false;
                dirty = true;
            }
            run(this::pump);
        }

        synchronized void linkLost() {
            for (Attempt a : active.values()) {
                if (!a.sent) continue;
                // The answer cannot come over a new connection; send again as soon as the link is back.
                cancelTimer(a);
                a.sent = false;
                store.requeue(a.m.id(), "link to the server lost while waiting for the answer").whenComplete(this::logWriteFailure);
            }
        }

        synchronized void pump() {
            if (stopped || closed || !live) return;
            DeliveryConfig c = config();
            // First what was sent before and must go again (retry due, link back), oldest first.
            for (Attempt a : new ArrayList<>(active.values())) {
                if (!a.sent && a.timer == null && active.get(a.m.id()) == a) send(a);
                if (!live) return;
            }
            while (active.size() < c.maxWorkers() && live) {
                if (c.key() == null && awaitingResend()) break; // nothing overtakes a message that must go again
                int i = next(c.key());
                if (i < 0) break;
                Waiting w = buffer.remove(i);
                buffered.remove(w.m.id());
                if (reading) touched.add(w.m.id());
                Attempt a = new Attempt(w.m, c.key() == null ? null : w.key(c.key()));
                active.put(w.m.id(), a);
                byCallback.put(w.m.callbackId(), a);
                inflight.put(w.m.callbackId(), this);
                if (a.key != null) busyKeys.merge(a.key, 1, Integer::sum);
                send(a);
            }
            int room = Math.max(PAGE, 2 * c.maxWorkers()) - buffer.size();
            if (reading || !dirty || room <= 0) return;
            reading = true;
            dirty = false;
            touched.clear();
            store.pending(channel, cursor, PAGE).whenComplete((page, e) -> run(() -> onPage(page, PAGE, e)));
        }

        private boolean awaitingResend() {
            for (Attempt a : active.values()) if (!a.sent) return true;
            return false;
        }

        /** Index of the first waiting message that may be sent now, or -1. */
        private int next(LogicalKey spec) {
            if (spec == null) return buffer.isEmpty() ? -1 : 0;
            for (int i = 0; i < buffer.size(); i++) {
                if (!busyKeys.containsKey(buffer.get(i).key(spec))) return i;
            }
            return -1;
        }

        synchronized void onPage(List<StoredMessage> page, int limit, Throwable e) {
            reading = false;
            if (e != null) {
                LOG.error("[{}] Durable queue: cannot read stored messages: {}; retrying in 1 s", channel, messageOf(e));
                dirty = true;
                schedule(this::pump, 1000);
                return;
            }
            for (StoredMessage m : page) {
                // After a rescan the page starts with what is already in flight or waiting: not taken twice.
                if (!active.containsKey(m.id()) && !touched.contains(m.id()) && buffered.add(m.id())) buffer.add(new Waiting(m));
                cursor = Math.max(cursor, m.id());
            }
            touched.clear();
            // A full page means more may follow even without a new append.
            if (page.size() >= limit) dirty = true;
            else if (!dirty) caughtUp = true; // dirty: an append was not taken while this page was on its way
            pump();
        }

        /** Called with the monitor held. */
        private void send(Attempt a) {
            Transport t = transport.get();
            a.attempt++;
            String callback = a.m.callbackId() + "#" + a.attempt;
            // A first attempt is not marked: the row stays queued, which after a crash means exactly what inflight
            // would (send again, same MSH-10), and the answer's processed mark is usually the message's only write
            // after its append. From the second attempt on the mark keeps the attempt count across restarts.
            if (a.attempt > 1) store.markInflight(a.m.id(), a.attempt).whenComplete(this::logWriteFailure);
            if (t == null) {
                failedAttempt(a, "no transport deployed", null);
                return;
            }
            try {
                t.send(AgentMessage.transmitRequest(a.m.channel(), a.m.remote(), a.m.contentType(), a.m.body(), callback));
            } catch (TransportException | RuntimeException ex) {
                failedAttempt(a, "the link refused the frame: " + messageOf(ex), null);
                return;
            }
            a.sent = true;
            int n = a.attempt;
            a.timer = schedule(() -> timedOut(a, n), responseTimeout.toMillis());
        }

        synchronized void timedOut(Attempt a, int n) {
            if (active.get(a.m.id()) != a || a.attempt != n || !a.sent) return;
            a.timer = null;
            a.sent = false;
            failedAttempt(a, "no answer from the server within " + (responseTimeout.toMillis() % 1000 == 0
                    ? responseTimeout.toSeconds() + " s" : responseTimeout.toMillis() + " ms"), null);
        }

        /** Any attempt's answer counts, even one that came late while a retry was waiting. */
        synchronized void answered(String callbackId, DeviceReply reply) {
            Attempt a = byCallback.get(callbackId);
            if (a == null) return;
            cancelTimer(a);
            a.sent = false;
            Outcome o = classify(reply);
            switch (o.verdict()) {
                case DELIVERED -> {
                    // Marked before pump(): a page read it may start must see this message settled.
                    store.markDelivered(a.m.id(), reply.statusCode(), reply.body()).whenComplete(this::logWriteFailure);
                    // Then the next message goes out from this thread, before the device hears the answer: with
                    // maxWorkers=1 an executor hand-over or waking the device's connection would sit on the critical
                    // path of every delivery. The relay follows under the same monitor.
                    release(a);
                    pump();
                    relayOrLog(a.m, reply);
                }
                case REFUSED -> {
                    // Permanent: retrying cannot help; the device hears the server's answer.
                    LOG.warn("[{}] Message {} refused by the server ({}); not retried", channel, shown(a.m), o.reason());
                    store.markFailed(a.m.id(), o.reason()).whenComplete(this::logWriteFailure);
                    relayOrLog(a.m, reply);
                    settle(a);
                }
                case RETRY -> failedAttempt(a, o.reason(), reply);
            }
        }

        /** Called with the monitor held; {@code answer} is the server's retryable answer, if any. */
        private void failedAttempt(Attempt a, String reason, DeviceReply answer) {
            DeliveryConfig.RetryPolicy p = config().retry();
            if (answer != null) a.lastAnswer = answer;
            if (!p.retries(a.attempt)) {
                String why = "Message " + shown(a.m) + " not delivered after " + a.attempt + " attempt(s) (retry mode "
                        + p.mode().name().toLowerCase(Locale.ROOT) + "): " + reason;
                LOG.error("[{}] {}", channel, why);
                store.markFailed(a.m.id(), reason).whenComplete(this::logWriteFailure);
                if (a.lastAnswer != null) {
                    relayOrLog(a.m, a.lastAnswer); // the device hears the server's own AE/CE
                } else if (!relay.fail(a.m.callbackId(), why)) {
                    LOG.debug("[{}] No device waits for {}", channel, shown(a.m));
                }
                settle(a);
                return;
            }
            long delay = p.delayMs(a.attempt);
            LOG.warn("[{}] Attempt {} of message {} failed: {}; retrying in {} ms", channel, a.attempt, shown(a.m), reason, delay);
            store.requeue(a.m.id(), reason).whenComplete(this::logWriteFailure);
            a.sent = false;
            a.timer = schedule(() -> retryDue(a), delay);
        }

        synchronized void retryDue(Attempt a) {
            if (active.get(a.m.id()) != a) return;
            a.timer = null;
            pump(); // sends again if the link is live; otherwise the next LIVE does
        }

        private void settle(Attempt a) {
            release(a);
            run(this::pump);
        }

        /** Forgets a settled message (monitor held); the caller sends the next one. */
        private void release(Attempt a) {
            cancelTimer(a);
            if (reading) touched.add(a.m.id());
            active.remove(a.m.id());
            byCallback.remove(a.m.callbackId());
            inflight.remove(a.m.callbackId());
            recentlySettled.add(a.m.callbackId());
            if (a.key != null) busyKeys.computeIfPresent(a.key, (k, n) -> n > 1 ? n - 1 : null);
        }

        private void relayOrLog(StoredMessage m, DeviceReply reply) {
            if (!relay.reply(m.callbackId(), reply)) {
                LOG.debug("[{}] Answer to {} stored only: no device connection waits for it", channel, shown(m));
            }
        }

        private void logWriteFailure(Object v, Throwable e) {
            if (e != null) LOG.warn("[{}] Durable queue: {}", channel, messageOf(e));
        }

        private void cancelTimer(Attempt a) {
            if (a.timer != null) a.timer.cancel(false);
            a.timer = null;
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
}
