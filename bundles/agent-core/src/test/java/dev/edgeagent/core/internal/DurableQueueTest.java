package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.core.internal.Fakes.FakeChannel;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DurableQueueTest extends RuntimeFixture {
    static final Map<String, Object> FAST_RETRY = Map.of("channelAutoRetryBaseDelayMs", 10, "channelAutoRetryMaxDelayMs", 20);
    FakeStore store;

    @BeforeEach
    void durableRuntime() {
        rt.close();
        // Dispatch timeout short so a retry happens in the test; the submission purge stays long.
        rt = new CoreRuntime(null, home, new CoreRuntime.Timing(RESPONSE_TIMEOUT, Duration.ofMillis(20), Duration.ofMillis(50),
                Duration.ofMillis(150)), clock::get);
        rt.configure(bootstrap());
        store = new FakeStore();
    }

    /** Live with the queue switched on (it is off by default) unless {@code settings} say otherwise. */
    private FakeChannel live(Map<String, Object> settings) {
        Map<String, Object> withQueue = new java.util.HashMap<>(settings);
        withQueue.putIfAbsent("durableQueue", true);
        return liveWith(withQueue);
    }

    private FakeChannel liveWith(Map<String, Object> settings) {
        startLive("active", settings, channels("adt", "mllp://0.0.0.0:2575", "orm", "mllp://0.0.0.0:2576"));
        rt.bindStore(store);
        return hl7.latest("adt");
    }

    private static Submission submit(FakeChannel ch, String id) {
        return ch.context.submit(new InboundMessage("10.0.0.7:51234", "x-application/hl7-v2+er7", "MSH|^~\\&|" + id, id));
    }

    private static <T> T now(CompletionStage<T> s) throws Exception {
        return s.toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private List<String> transmitted() {
        return transport.sentOfType("agent:transmit:request").stream()
                .map(m -> m.getString("body").substring(9) + " " + m.callback().substring(m.callback().indexOf('#')))
                .collect(Collectors.toList());
    }

    private AgentMessage sentFor(String msgId) {
        return transport.awaitSent("transmit of " + msgId, m -> ("MSH|^~\\&|" + msgId).equals(m.body()));
    }

    private void answer(String callback, int status, String body) {
        rt.onMessage(AgentMessage.of("agent:transmit:response").with("channel", "adt").with("remote", "10.0.0.7:51234")
                .with("contentType", "x-application/hl7-v2+er7").with("statusCode", status).with("body", body)
                .with("callback", callback));
    }

    @Test
    void acceptedCompletesOnlyAfterTheStoreHasTheMessage() throws Exception {
        FakeChannel adt = live(Map.of());
        store.hold = true;
        Submission s = submit(adt, "MSG1");
        Thread.sleep(50);
        assertFalse(s.accepted().toCompletableFuture().isDone(), "no commit ACK before the message is durable");
        assertTrue(transmitted().isEmpty(), "nothing is sent before it is stored");

        store.release();
        assertNull(now(s.accepted()));
        AgentMessage sent = sentFor("MSG1");
        assertEquals(s.callback() + "#1", sent.callback());
        assertEquals("adt", sent.channel());
        assertEquals(MessageState.INFLIGHT, store.row("MSG1").state);

        answer(s.callback() + "#1", 200, "MSH|ACK1");
        assertEquals(new DeviceReply(200, "x-application/hl7-v2+er7", "MSH|ACK1"), now(s.reply()));
        Fakes.await("processed", () -> store.row("MSG1").state == MessageState.PROCESSED);
        assertEquals("MSH|ACK1", store.row("MSG1").serverBody);
        assertEquals(0, rt.pendingCount());
    }

    @Test
    void storageFailureRefusesTheMessageWithTheReason() {
        FakeChannel adt = live(Map.of());
        store.failAppends = "Durable queue /q.sqlite could not store message from channel 'adt' (message MSG1): disk full";
        Submission s = submit(adt, "MSG1");
        ExecutionException e = assertThrows(ExecutionException.class, () -> now(s.accepted()));
        assertEquals(store.failAppends, e.getCause().getMessage());
        assertThrows(ExecutionException.class, () -> now(s.reply()));
        assertTrue(transmitted().isEmpty());
        assertEquals(1, LogCapture.containing("WARN", "[adt] Message MSG1 not accepted: Durable queue").size());
        assertEquals(0, rt.pendingCount());
    }

    @Test
    void dispatchesOnlyWhileTheLinkIsLive() throws Exception {
        FakeChannel adt = live(Map.of());
        transport.state = LinkState.CONNECTING;
        rt.onLinkState(LinkState.CONNECTING);
        Submission a = submit(adt, "A");
        Submission b = submit(adt, "B");
        now(a.accepted());
        now(b.accepted());
        Thread.sleep(100);
        assertTrue(transmitted().isEmpty(), "stored, but not sent while the link is down");

        transport.state = LinkState.LIVE;
        rt.onLinkState(LinkState.LIVE);
        sentFor("A");
        answer(a.callback() + "#1", 200, "ACK-A");
        sentFor("B");
        answer(b.callback() + "#1", 200, "ACK-B");
        assertEquals("ACK-B", now(b.reply()).body());
        assertEquals(List.of("A #1", "B #1"), transmitted());
    }

    @Test
    void linkLostWhileWaitingSendsAgainWithTheNextAttempt() throws Exception {
        FakeChannel adt = live(Map.of());
        Submission a = submit(adt, "A");
        sentFor("A");
        rt.onLinkState(LinkState.CONNECTING);
        rt.onLinkState(LinkState.LIVE);
        Fakes.await("second attempt", () -> transmitted().contains("A #2"));
        answer(a.callback() + "#2", 200, "ACK");
        assertEquals("ACK", now(a.reply()).body());
    }

    @Test
    void noAnswerMeansAnotherAttemptWithTheNextSuffix() throws Exception {
        FakeChannel adt = live(FAST_RETRY);
        Submission a = submit(adt, "A");
        Submission b = submit(adt, "B");
        Fakes.await("two attempts", () -> transmitted().size() >= 2);
        assertEquals(List.of("A #1", "A #2"), transmitted().subList(0, 2), "B waits behind A (strict FIFO)");
        assertEquals(1, LogCapture.containing("WARN", "[adt] Attempt 1 of message A failed: no answer from the server within 150 ms").size());

        answer(a.callback() + "#2", 200, "ACK-A");
        assertEquals("ACK-A", now(a.reply()).body());
        sentFor("B");
        assertEquals(2, store.row("A").attempts);
        // The first attempt's late answer is recognised and does not reach the device twice.
        answer(a.callback() + "#1", 200, "ACK-A-late");
        assertTrue(adt.unmatched.isEmpty());
        answer(b.callback() + "#1", 200, "ACK-B");
        now(b.reply());
    }

    @Test
    void serverErrorsAreRetriedAndPermanentRefusalsAreNot() throws Exception {
        FakeChannel adt = live(FAST_RETRY);
        Submission a = submit(adt, "A");
        sentFor("A");
        answer(a.callback() + "#1", 503, "Service unavailable");
        Fakes.await("retry after 503", () -> transmitted().contains("A #2"));
        answer(a.callback() + "#2", 400, "Bad message");
        DeviceReply r = now(a.reply());
        assertEquals(400, r.statusCode(), "the device hears the server's refusal");
        Fakes.await("failed", () -> store.row("A").state == MessageState.FAILED);
        assertEquals("server answered 400: Bad message", store.row("A").lastError);
    }

    @Test
    void retryModeNoneGivesUpAfterTheFirstAttempt() throws Exception {
        FakeChannel adt = live(Map.of("channelRetryMode", "none"));
        Submission a = submit(adt, "A");
        ExecutionException e = assertThrows(ExecutionException.class, () -> now(a.reply()));
        assertEquals("Message A not delivered after 1 attempt(s) (retry mode none): no answer from the server within 150 ms",
                e.getCause().getMessage());
        assertEquals(MessageState.FAILED, store.row("A").state);
    }

    @Test
    void eachChannelKeepsItsOwnFifoOrder() throws Exception {
        FakeChannel adt = live(Map.of());
        FakeChannel orm = hl7.latest("orm");
        Submission a1 = submit(adt, "A1");
        Submission a2 = submit(adt, "A2");
        Submission a3 = submit(adt, "A3");
        Submission o1 = submit(orm, "O1");
        sentFor("A1");
        sentFor("O1"); // another channel is not blocked by adt's message in flight
        Thread.sleep(50);
        assertFalse(transmitted().contains("A2 #1"));
        answer(a1.callback() + "#1", 200, "1");
        sentFor("A2");
        answer(a2.callback() + "#1", 200, "2");
        sentFor("A3");
        answer(a3.callback() + "#1", 200, "3");
        answer(o1.callback() + "#1", 200, "o");
        now(a3.reply());
        now(o1.reply());
        List<String> adtOrder = transmitted().stream().filter(x -> x.startsWith("A")).toList();
        assertEquals(List.of("A1 #1", "A2 #1", "A3 #1"), adtOrder);
    }

    @Test
    void pagesThroughALongQueue() throws Exception {
        FakeChannel adt = live(Map.of());
        transport.state = LinkState.CONNECTING;
        rt.onLinkState(LinkState.CONNECTING);
        int n = StoreAndForward.PAGE * 2 + 5;
        for (int i = 0; i < n; i++) now(submit(adt, "M" + i).accepted());
        transport.state = LinkState.LIVE;
        rt.onLinkState(LinkState.LIVE);
        for (int i = 0; i < n; i++) {
            AgentMessage m = sentFor("M" + i);
            answer(m.callback(), 200, "ACK" + i);
        }
        Fakes.await("all processed", () -> store.rows.values().stream().allMatch(r -> r.state == MessageState.PROCESSED));
        for (int i = 0; i < n; i++) assertEquals("M" + i + " #1", transmitted().get(i));
    }

    @Test
    void restartRecoveryResendsStoredMessagesInOrder() throws Exception {
        NewMessage left = new NewMessage("adt", "10.0.0.7:51234", "x-application/hl7-v2+er7", "MSH|^~\\&|OLD1", "OLD1", "Agent/agent-1-old1");
        NewMessage queued = new NewMessage("adt", "10.0.0.7:51234", "x-application/hl7-v2+er7", "MSH|^~\\&|OLD2", "OLD2", "Agent/agent-1-old2");
        store.preload(left, MessageState.INFLIGHT, 1);
        store.preload(queued, MessageState.QUEUED, 0);
        FakeChannel adt = live(Map.of());
        assertEquals("Agent/agent-1-old1#2", sentFor("OLD1").callback(), "the attempt count continues");
        Fakes.await("recovery log", () -> !LogCapture.containing("INFO",
                "[adt] Resuming delivery of 2 stored message(s) (1 possibly sent before the restart); the server's answers"
                        + " to them will be stored only").isEmpty());
        Submission fresh = submit(adt, "NEW");
        answer("Agent/agent-1-old1#2", 200, "ACK1");
        assertEquals("Agent/agent-1-old2#1", sentFor("OLD2").callback());
        answer("Agent/agent-1-old2#1", 200, "ACK2");
        answer(sentFor("NEW").callback(), 200, "ACK3");
        assertEquals("ACK3", now(fresh.reply()).body());
        assertEquals(List.of("OLD1 #2", "OLD2 #1", "NEW #1"), transmitted());
        assertEquals("ACK1", store.row("OLD1").serverBody);
        assertTrue(adt.unmatched.isEmpty(), "answers to recovered messages have no device to go to");
    }

    @Test
    void queueIsOffUnlessTheAgentSettingTurnsItOn() throws Exception {
        FakeChannel adt = liveWith(Map.of());
        Submission s = submit(adt, "MSG1");
        assertNull(now(s.accepted()));
        assertEquals(s.callback(), sentFor("MSG1").callback(), "no attempt suffix on the direct path");
        assertTrue(store.rows.isEmpty());
    }

    @Test
    void durableQueueFalseKeepsTheDirectPath() throws Exception {
        FakeChannel adt = live(Map.of("durableQueue", false));
        Submission s = submit(adt, "MSG1");
        assertNull(now(s.accepted()));
        AgentMessage sent = sentFor("MSG1");
        assertEquals(s.callback(), sent.callback(), "no attempt suffix on the direct path");
        assertTrue(store.rows.isEmpty());
        rt.onMessage(AgentMessage.of("agent:transmit:response").with("channel", "adt").with("callback", s.callback())
                .with("body", "ACK"));
        assertEquals("ACK", now(s.reply()).body());
        assertEquals(false, ((Map<?, ?>) rt.stats().get("durableQueue")).get("enabled"));
    }

    @Test
    void statsShowTheQueue() throws Exception {
        FakeChannel adt = live(Map.of());
        transport.state = LinkState.CONNECTING;
        rt.onLinkState(LinkState.CONNECTING);
        now(submit(adt, "A").accepted());
        Map<?, ?> dq = (Map<?, ?>) rt.stats().get("durableQueue");
        assertEquals(true, dq.get("enabled"));
        assertEquals(4096L, dq.get("dbSizeBytes"));
        assertEquals(1L, ((Map<?, ?>) dq.get("countsByState")).get("queued"));
        Map<?, ?> depth = (Map<?, ?>) ((Map<?, ?>) dq.get("channelDepth")).get("adt");
        assertEquals(1L, depth.get("queued"));
        assertEquals(0L, depth.get("inflight"));
        assertTrue(((Long) depth.get("oldestQueuedAgeMs")) >= 0);
    }

    @Test
    void withoutAStoreNothingChanges() throws Exception {
        startLive(channels("adt", "mllp://0.0.0.0:2575"));
        Submission s = submit(hl7.latest("adt"), "MSG1");
        assertEquals(s.callback(), sentFor("MSG1").callback());
        assertFalse(rt.stats().containsKey("durableQueue"));
    }
}
