package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.Intake;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.PriorMessage;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the dispatcher writes per message, and that a crash between those writes never loses a message. */
class StoreAndForwardWritesTest {
    private final ScheduledExecutorService executor = Executors.newScheduledThreadPool(2);
    private final Map<String, DeviceReply> relayed = new ConcurrentHashMap<>();
    private final StoreAndForward.Relay relay = new StoreAndForward.Relay() {
        @Override
        public boolean reply(String callbackId, DeviceReply reply) {
            relayed.put(callbackId, reply);
            return true;
        }

        @Override
        public boolean fail(String callbackId, String reason) {
            return true;
        }
    };

    /**
     * Counts the dispatcher's state writes on top of the in-memory store; with {@code crashing} set, processed marks
     * are lost as in a crash before their commit.
     */
    static final class CountingStore implements MessageStore {
        final FakeStore rows = new FakeStore();
        final AtomicInteger inflightMarks = new AtomicInteger();
        final AtomicInteger deliveredMarks = new AtomicInteger();
        volatile boolean crashing;

        FakeStore.Row row(String messageId) {
            return rows.row(messageId);
        }

        @Override
        public CompletionStage<Long> append(NewMessage m) {
            return rows.append(m);
        }

        @Override
        public CompletionStage<Optional<PriorMessage>> findActiveOrRecent(String channel, String messageId) {
            return rows.findActiveOrRecent(channel, messageId);
        }

        @Override
        public CompletionStage<Intake> appendUnlessDuplicate(NewMessage m) {
            return rows.appendUnlessDuplicate(m);
        }

        @Override
        public CompletionStage<Void> markInflight(long id, int attempts) {
            inflightMarks.incrementAndGet();
            return rows.markInflight(id, attempts);
        }

        @Override
        public CompletionStage<Void> requeue(long id, String reason) {
            return rows.requeue(id, reason);
        }

        @Override
        public CompletionStage<Void> markDelivered(long id, int statusCode, String responseBody) {
            deliveredMarks.incrementAndGet();
            return crashing ? new CompletableFuture<>() : rows.markDelivered(id, statusCode, responseBody);
        }

        @Override
        public CompletionStage<Void> markFailed(long id, String reason) {
            return rows.markFailed(id, reason);
        }

        @Override
        public CompletionStage<List<StoredMessage>> pending(String channel, long afterId, int limit) {
            return rows.pending(channel, afterId, limit);
        }

        @Override
        public CompletionStage<Set<String>> channelsWithPending() {
            return rows.channelsWithPending();
        }

        @Override
        public CompletionStage<QueueStats> stats() {
            return rows.stats();
        }

        @Override
        public CompletionStage<Long> sweep() {
            return rows.sweep();
        }
    }

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private StoreAndForward queue(MessageStore store, Fakes.FakeTransport t, Map<String, Object> settings) {
        StoreAndForward q = new StoreAndForward(store, executor, () -> t, () -> new AgentSettings(settings), ch -> null, relay,
                Duration.ofSeconds(300), Duration.ofMillis(50));
        q.setLive(true);
        return q;
    }

    private static InboundMessage hl7(String id) {
        return new InboundMessage("10.0.0.7:51234", "x-application/hl7-v2+er7", "MSH|^~\\&|" + id, id, true);
    }

    private static <T> T now(CompletionStage<T> s) throws Exception {
        return s.toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static List<String> callbacks(Fakes.FakeTransport t) {
        return t.sentOfType("agent:transmit:request").stream().map(AgentMessage::callback).collect(Collectors.toList());
    }

    private static void answer(StoreAndForward q, String callback) {
        assertTrue(q.onResponse(callback, new DeviceReply(200, "x-application/hl7-v2+er7", "MSA|AA")));
    }

    @Test
    void aDeliveredMessageCostsItsAppendAndOneProcessedMark() throws Exception {
        CountingStore store = new CountingStore();
        Fakes.FakeTransport t = new Fakes.FakeTransport();
        StoreAndForward q = queue(store, t, Map.of());
        for (int i = 1; i <= 3; i++) now(q.append("adt", hl7("M" + i), "Agent/a-m" + i));
        for (int i = 1; i <= 3; i++) {
            String cb = "Agent/a-m" + i + "#1";
            t.awaitSent("transmit of M" + i, m -> cb.equals(m.callback()));
            assertEquals(MessageState.QUEUED, store.row("M" + i).state, "a first attempt leaves the row queued");
            answer(q, cb);
        }
        Fakes.await("processed marks", () -> store.row("M3").state == MessageState.PROCESSED);
        assertEquals(0, store.inflightMarks.get(), "no inflight write before a first attempt");
        assertEquals(3, store.deliveredMarks.get());
        assertEquals(List.of("Agent/a-m1#1", "Agent/a-m2#1", "Agent/a-m3#1"), callbacks(t), "FIFO, one at a time");
        assertEquals(3, relayed.size());
        q.close();
    }

    @Test
    void aRetryIsMarkedWithItsAttemptCount() throws Exception {
        CountingStore store = new CountingStore();
        Fakes.FakeTransport t = new Fakes.FakeTransport();
        StoreAndForward q = queue(store, t, Map.of("channelAutoRetryBaseDelayMs", 10, "channelAutoRetryMaxDelayMs", 20));
        now(q.append("adt", hl7("R1"), "Agent/a-r1"));
        t.awaitSent("first attempt", m -> "Agent/a-r1#1".equals(m.callback()));
        assertTrue(q.onResponse("Agent/a-r1#1", new DeviceReply(503, "text/plain", "busy")));
        t.awaitSent("second attempt", m -> "Agent/a-r1#2".equals(m.callback()));
        Fakes.await("inflight mark of the retry", () -> store.row("R1").state == MessageState.INFLIGHT);
        assertEquals(2, store.row("R1").attempts, "the attempt count survives a restart from here on");
        answer(q, "Agent/a-r1#2");
        Fakes.await("processed", () -> store.row("R1").state == MessageState.PROCESSED);
        q.close();
    }

    @Test
    void aCrashAfterTheFirstAttemptWasSentResendsItAfterTheRestart() throws Exception {
        FakeStore store = new FakeStore();
        Fakes.FakeTransport before = new Fakes.FakeTransport();
        StoreAndForward q = queue(store, before, Map.of());
        now(q.append("adt", hl7("C1"), "Agent/a-c1"));
        now(q.append("adt", hl7("C2"), "Agent/a-c2"));
        before.awaitSent("first attempt of C1", m -> "Agent/a-c1#1".equals(m.callback()));
        // The process dies here: C1 is on the wire with no mark at all, C2 waits. Nothing the old instance had in
        // memory survives; the store is all the new one gets.
        q.close();

        Fakes.FakeTransport after = new Fakes.FakeTransport();
        StoreAndForward restarted = queue(store, after, Map.of());
        restarted.recover();
        after.awaitSent("C1 sent again", m -> "Agent/a-c1#1".equals(m.callback()));
        answer(restarted, "Agent/a-c1#1");
        after.awaitSent("then C2", m -> "Agent/a-c2#1".equals(m.callback()));
        answer(restarted, "Agent/a-c2#1");
        Fakes.await("both processed", () -> store.row("C2").state == MessageState.PROCESSED
                && store.row("C1").state == MessageState.PROCESSED);
        assertEquals(List.of("Agent/a-c1#1", "Agent/a-c2#1"), callbacks(after), "resent once, in order, nothing lost");
        restarted.close();
    }

    @Test
    void aCrashBeforeTheProcessedMarkLandsMeansOneMoreSendNeverALoss() throws Exception {
        CountingStore store = new CountingStore();
        Fakes.FakeTransport before = new Fakes.FakeTransport();
        StoreAndForward q = queue(store, before, Map.of());
        now(q.append("adt", hl7("P1"), "Agent/a-p1"));
        before.awaitSent("first attempt", m -> "Agent/a-p1#1".equals(m.callback()));
        store.crashing = true; // the server answered, the device heard it, the processed mark never lands
        answer(q, "Agent/a-p1#1");
        assertEquals(1, store.deliveredMarks.get());
        assertEquals(MessageState.QUEUED, store.row("P1").state);
        q.close();
        store.crashing = false;

        Fakes.FakeTransport after = new Fakes.FakeTransport();
        StoreAndForward restarted = queue(store, after, Map.of());
        restarted.recover();
        after.awaitSent("P1 sent again", m -> "Agent/a-p1#1".equals(m.callback()));
        answer(restarted, "Agent/a-p1#1");
        Fakes.await("processed", () -> store.row("P1").state == MessageState.PROCESSED);
        restarted.close();
    }
}
