package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.MessageRefusedException;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageTypes;
import dev.edgeagent.api.queue.Intake;
import dev.edgeagent.api.queue.PriorMessage;
import dev.edgeagent.api.queue.StoredMessage;
import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.Transport;
import dev.edgeagent.api.transport.TransportException;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hot path device → server: turns submissions into {@code agent:transmit:request} frames and correlates the
 * server's answers by callback. Lock-free (one ConcurrentHashMap); nothing is logged per message above DEBUG.
 */
final class MessageRouter {
    private static final Logger LOG = LoggerFactory.getLogger(MessageRouter.class);

    private static final class Pending implements Submission {
        final String callback;
        final String channel;
        final String messageId;
        final long createdNanos;
        volatile boolean durable;
        final CompletableFuture<Void> accepted = new CompletableFuture<>();
        final CompletableFuture<DeviceReply> reply = new CompletableFuture<>();

        Pending(String callback, String channel, String messageId, long createdNanos) {
            this.callback = callback;
            this.channel = channel;
            this.messageId = messageId;
            this.createdNanos = createdNanos;
        }

        @Override
        public String callback() {
            return callback;
        }

        // Minimal stages: a channel must not be able to complete the runtime's futures.
        @Override
        public CompletionStage<Void> accepted() {
            return accepted.minimalCompletionStage();
        }

        @Override
        public CompletionStage<DeviceReply> reply() {
            return reply.minimalCompletionStage();
        }

        void fail(String message) {
            fail(new IllegalStateException(message));
        }

        void fail(RuntimeException ex) {
            accepted.completeExceptionally(ex);
            reply.completeExceptionally(ex);
        }
    }

    /**
     * Devices waiting for a stored message's answer are bounded in number: during a long outage an enhanced-mode
     * device keeps sending (each message CA'd from disk) and every wait would otherwise stay in memory for the whole
     * response timeout. Beyond the bound the oldest waits end early, like an expired one; their messages are delivered.
     */
    static final int DEFAULT_MAX_DURABLE_WAITS = 10_000;

    private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();
    /** Durable submissions in arrival order; may still hold settled ones until they are polled. */
    private final ConcurrentLinkedQueue<Pending> durableWaits = new ConcurrentLinkedQueue<>();
    private final AtomicInteger durableWaitCount = new AtomicInteger();
    private final AtomicLong durableWaitsReleased = new AtomicLong();
    private volatile int maxDurableWaits = DEFAULT_MAX_DURABLE_WAITS;
    private final Supplier<Transport> transport;
    private final Supplier<String> agentId;
    private final CloudClient cloud;
    private final long timeoutNanos;
    private final LongSupplier nanoClock;
    private final Supplier<StoreAndForward> durableQueue;

    MessageRouter(Supplier<Transport> transport, Supplier<String> agentId, Duration responseTimeout, LongSupplier nanoClock) {
        this(transport, agentId, responseTimeout, nanoClock, () -> null);
    }

    /** @param durableQueue the store-and-forward path, or null (supplied) when messages go straight to the link */
    MessageRouter(Supplier<Transport> transport, Supplier<String> agentId, Duration responseTimeout, LongSupplier nanoClock,
                  Supplier<StoreAndForward> durableQueue) {
        this.durableQueue = durableQueue;
        this.transport = transport;
        this.agentId = agentId;
        this.timeoutNanos = responseTimeout.toNanos();
        this.nanoClock = nanoClock;
        this.cloud = new TransportCloudClient(transport);
    }

    ChannelContext contextFor(String channelName) {
        return new ChannelContext() {
            @Override
            public String agentId() {
                return agentId.get();
            }

            @Override
            public Submission submit(InboundMessage message) {
                return MessageRouter.this.submit(channelName, message);
            }

            @Override
            public CloudClient cloud() {
                return cloud;
            }
        };
    }

    Submission submit(String channel, InboundMessage m) {
        String callback = "Agent/" + agentId.get() + "-" + fastUuid();
        Pending p = new Pending(callback, channel, m.messageId(), nanoClock.getAsLong());
        StoreAndForward q = durableQueue.get();
        // Without a commit ACK nothing is acknowledged before the server answers, so there is nothing to persist:
        // the device's answer is the server's, and a message the server never answers gets a negative one.
        if (q != null && m.commitAckOwed()) {
            return submitDurable(q, channel, m, p);
        }
        Transport t = transport.get();
        if (t == null) {
            p.fail("No transport deployed; message from channel '" + channel + "' cannot be sent to the server");
            return p;
        }
        // Registered before sending so an answer racing the send call still finds its entry.
        pending.put(callback, p);
        try {
            t.send(AgentMessage.transmitRequest(channel, m.remote(), m.contentType(), m.body(), callback));
            p.accepted.complete(null);
        } catch (TransportException | RuntimeException e) {
            pending.remove(callback);
            p.fail(e.getMessage() == null ? e.toString() : e.getMessage());
        }
        return p;
    }

    /**
     * Accepted only once the store has the message on disk; the reply comes when the dispatcher gets the
     * server's answer (this submission stays registered so the answer can still reach the device).
     */
    private Submission submitDurable(StoreAndForward q, String channel, InboundMessage m, Pending p) {
        p.durable = true;
        pending.put(p.callback, p);
        durableWaits.add(p);
        if (durableWaitCount.incrementAndGet() > maxDurableWaits) {
            releaseOldestWaits();
        }
        CompletionStage<Intake> stored;
        try {
            stored = q.append(channel, m, p.callback);
        } catch (RuntimeException e) {
            stored = CompletableFuture.failedFuture(e);
        }
        stored.whenComplete((in, e) -> {
            if (e == null && !in.isDuplicate()) {
                p.accepted.complete(null);
                return;
            }
            pending.remove(p.callback);
            RuntimeException failure = e != null ? new IllegalStateException(StoreAndForward.messageOf(e))
                    : duplicate(q, channel, m, p, in.duplicateOf());
            if (failure != null) {
                LOG.warn("[{}] Message {} not accepted: {}", channel, m.messageId() != null ? m.messageId() : p.callback,
                        failure.getMessage());
                p.fail(failure);
            }
        });
        return p;
    }

    /**
     * {@code duplicateBehavior} (spec §8): with {@code idempotent}, an identical copy is accepted again and gets the
     * stored server answer (or the coming one, if the original is still pending); a different body, or any copy
     * under {@code reject}, is refused. A different body is refused as {@code DUPLICATE_DIFFERENT_CONTENT} under either
     * behaviour, so the device learns that its id was reused, not merely that it resent a message.
     *
     * @return the refusal, or null when the copy was handled
     */
    private MessageRefusedException duplicate(StoreAndForward q, String channel, InboundMessage m, Pending p,
                                              PriorMessage prior) {
        StoredMessage earlier = prior.message();
        String what = "Duplicate message control id '" + m.messageId() + "' on channel '" + channel + "': ";
        String state = earlier.state().isPending() ? "still waiting for the server" : "already processed";
        boolean same = earlier.body().equals(m.body());
        boolean reject = q.config(channel).rejectDuplicates();
        if (!same) {
            return new MessageRefusedException(MessageRefusedException.Reason.DUPLICATE_DIFFERENT_CONTENT,
                    what + "a different message with this id is " + state + (reject ? " (duplicateBehavior=reject)" : ""));
        }
        if (reject) {
            return new MessageRefusedException(MessageRefusedException.Reason.DUPLICATE,
                    what + "a message with this id is " + state + " (duplicateBehavior=reject)");
        }
        if (earlier.state().isPending()) {
            LOG.info("[{}] Message {} received again while {}; accepted once, the server's answer goes to the new copy too",
                    channel, m.messageId(), state);
            follow(earlier.callbackId(), p);
            p.accepted.complete(null);
        } else {
            LOG.info("[{}] Message {} received again; replaying the server's stored answer", channel, m.messageId());
            p.accepted.complete(null);
            p.reply.complete(new DeviceReply(prior.statusCode(), earlier.contentType(), prior.responseBody()));
        }
        return null;
    }

    /** The copy's device gets the answer to the original: with the original's waiter if one is left, else in its place. */
    private void follow(String originalCallback, Pending copy) {
        while (true) {
            Pending original = pending.get(originalCallback);
            if (original != null) {
                original.reply.whenComplete((r, e) -> {
                    if (e == null) copy.reply.complete(r);
                    else copy.reply.completeExceptionally(e);
                });
                return;
            }
            if (pending.putIfAbsent(originalCallback, copy) == null) return;
        }
    }

    void maxDurableWaits(int max) {
        maxDurableWaits = max;
    }

    private void releaseOldestWaits() {
        while (durableWaitCount.get() > maxDurableWaits) {
            Pending old = durableWaits.poll();
            if (old == null) return;
            durableWaitCount.decrementAndGet();
            // Only a wait that already had its commit ACK ends here; one still being stored is left to the purge.
            if (!old.accepted.isDone() || old.accepted.isCompletedExceptionally() || !pending.remove(old.callback, old)) {
                continue;
            }
            long n = durableWaitsReleased.incrementAndGet();
            if (n == 1 || n % 1000 == 0) {
                LOG.warn("[{}] {} device wait(s) for the server's answer ended early so far: more than {} stored messages"
                        + " are waiting for the server; the messages stay in the durable queue and will be delivered",
                        old.channel, n, maxDurableWaits);
            }
            old.fail("More than " + maxDurableWaits + " stored messages are waiting for the server; this one stays in"
                    + " the durable queue and will still be delivered");
        }
    }

    /** Hands a durable message's final answer to its submission; false when none waits (restart, purge). */
    boolean relay(String callback, DeviceReply reply) {
        Pending p = pending.remove(callback);
        if (p == null) return false;
        p.reply.complete(reply);
        return true;
    }

    /** Fails a durable message's submission (retries exhausted); false when none waits. */
    boolean relayFailure(String callback, String reason) {
        Pending p = pending.remove(callback);
        if (p == null) return false;
        p.fail(reason);
        return true;
    }

    /**
     * Completes the submission the callback belongs to ({@code #<attempt>} suffix ignored).
     *
     * @return false when no submission is waiting for it
     */
    boolean complete(String callback, DeviceReply reply) {
        if (callback == null) return false;
        Pending p = pending.remove(stripAttempt(callback));
        if (p == null) return false;
        p.reply.complete(reply);
        return true;
    }

    static String stripAttempt(String callback) {
        int hash = callback.lastIndexOf('#');
        if (hash < 0 || hash == callback.length() - 1) return callback;
        for (int i = hash + 1; i < callback.length(); i++) {
            char c = callback.charAt(i);
            if (c < '0' || c > '9') return callback;
        }
        return callback.substring(0, hash);
    }

    int pendingCount() {
        return pending.size();
    }

    /** Fails and forgets submissions the server never answered (spec §9.1). */
    int purgeExpired() {
        long now = nanoClock.getAsLong();
        int purged = 0;
        for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (now - p.createdNanos >= timeoutNanos) {
                it.remove();
                purged++;
                LOG.warn("[{}] Cleaning up pending message; never got response for message with ID '{}'", p.channel,
                        p.messageId != null ? p.messageId : p.callback);
                String text = "No response from server within " + Duration.ofNanos(timeoutNanos).toSeconds() + " s";
                // A stored message is still delivered; only this device's wait for the answer ends.
                p.fail(p.durable ? text + "; the message stays in the durable queue and will still be delivered" : text);
            }
        }
        return purged;
    }

    /** Fails every waiting submission (runtime stopping). */
    void failAll(String reason) {
        for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            it.remove();
            p.fail(reason);
        }
    }

    private static String fastUuid() {
        // SecureRandom-backed UUID.randomUUID() contends under load; uniqueness, not secrecy, is needed here.
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
        long lsb = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
    }
}
