package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.MessageRefusedException;
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
        // A dispatch timeout well above any scheduling delay of a loaded CI machine: an answer the test gives is
        // never raced by a retry. Tests about timeouts shorten it with shortDispatchTimeout().
        runtimeWithDispatchTimeout(Duration.ofSeconds(3));
        store = new FakeStore();
    }

    /** Frequent rescans so every test also checks that re-reading the queue never sends a message twice. */
    private void runtimeWithDispatchTimeout(Duration dispatchTimeout) {
        rt.close();
        rt = new CoreRuntime(null, home, new CoreRuntime.Timing(RESPONSE_TIMEOUT, Duration.ofMillis(20), Duration.ofMillis(50),
                dispatchTimeout, Duration.ofMillis(30)), clock::get, options());
        rt.configure(bootstrap());
    }

    /** For tests where the server never answers: a retry happens within the test. */
    private void shortDispatchTimeout() {
        runtimeWithDispatchTimeout(Duration.ofMillis(150));
    }

    /** Live with the queue switched on explicitly unless {@code settings} say otherwise. */
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

    /** As an enhanced-mode HL7 channel submits: a commit ACK is owed. */
    private static Submission submit(FakeChannel ch, String id) {
        return ch.context.submit(new InboundMessage("10.0.0.7:51234", "x-application/hl7-v2+er7", "MSH|^~\\&|" + id, id, true));
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
        assertEquals(MessageState.QUEUED, store.row("MSG1").state, "a first attempt is not marked inflight");

        answer(s.callback() + "#1", 200, "MSH|ACK1");
        assertEquals(new DeviceReply(200, "x-application/hl7-v2+er7", "MSH|ACK1"), now(s.reply()));
        Fakes.await("processed", () -> store.row("MSG1").state == MessageState.PROCESSED);
        assertEquals("MSH|ACK1", store.row("MSG1").serverBody);
        assertEquals(0, rt.pendingCount());
    }

    @Test
    void devicesWaitingForStoredAnswersAreBoundedAndTheMessagesStillFlow() throws Exception {
        FakeChannel adt = live(Map.of());
        transport.state = LinkState.CONNECTING;
        rt.onLinkState(LinkState.CONNECTING);
        rt.maxDurableWaits(3);
        List<Submission> subs = new java.util.ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            Submission s = submit(adt, "M" + i);
            now(s.accepted());
            subs.add(s);
        }
        // The two oldest waits ended early, with a reason saying the message is still delivered; the rest still wait.
        for (int i = 0; i < 2; i++) {
            Submission old = subs.get(i);
            ExecutionException e = assertThrows(ExecutionException.class, () -> now(old.reply()));
            assertTrue(e.getCause().getMessage().startsWith("More than 3 stored messages"), e.getCause().getMessage());
            assertTrue(e.getCause().getMessage().endsWith("will still be delivered"), e.getCause().getMessage());
        }
        for (int i = 2; i < 5; i++) {
            assertFalse(subs.get(i).reply().toCompletableFuture().isDone(), "M" + (i + 1) + " still waits");
        }
        assertEquals(3, rt.pendingCount());
        assertEquals(1, LogCapture.containing("WARN", "device wait(s) for the server's answer ended early").size());

        transport.state = LinkState.LIVE;
        rt.onLinkState(LinkState.LIVE);
        for (int i = 1; i <= 5; i++) {
            AgentMessage sent = sentFor("M" + i);
            answer(sent.callback(), 200, "MSH|ACK" + i);
        }
        for (int i = 2; i < 5; i++) {
            assertEquals("MSH|ACK" + (i + 1), now(subs.get(i).reply()).body());
        }
        for (int i = 1; i <= 5; i++) {
            String id = "M" + i;
            Fakes.await(id + " processed", () -> store.row(id).state == MessageState.PROCESSED);
        }
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
        shortDispatchTimeout();
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
        shortDispatchTimeout();
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
                "[adt] Resuming delivery of 2 stored message(s) (1 of them being retried before the restart; any may have"
                        + " reached the server already and is sent again with the same message id); the server's answers"
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
    void queueIsOnByDefault() throws Exception {
        FakeChannel adt = liveWith(Map.of());
        Submission s = submit(adt, "MSG1");
        assertNull(now(s.accepted()));
        assertEquals(s.callback() + "#1", sentFor("MSG1").callback());
        assertEquals(MessageState.QUEUED, store.row("MSG1").state, "a first attempt is not marked inflight");
        assertEquals(true, ((Map<?, ?>) rt.stats().get("durableQueue")).get("enabled"));
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

    // ------------------------------------------------------------------ second slice

    private FakeChannel liveAt(String adtAddress, Map<String, Object> settings) {
        startLive("active", settings, channels("adt", adtAddress, "orm", "mllp://0.0.0.0:2576"));
        rt.bindStore(store);
        return hl7.latest("adt");
    }

    private static Submission submitBody(FakeChannel ch, String id, String body, boolean commitAckOwed) {
        return ch.context.submit(new InboundMessage("10.0.0.7:51234", "x-application/hl7-v2+er7", body, id, commitAckOwed));
    }

    private static String adt(String id, String patient) {
        return "MSH|^~\\&|LAB|H|EA|C|20240101||ADT^A08|" + id + "|P|2.5\rPID|1||" + patient + "^^^H^MR\r";
    }

    /** Message ids (MSH-10) of the transmit requests so far, in send order, with the attempt suffix. */
    private List<String> sentIds() {
        return transport.sentOfType("agent:transmit:request").stream()
                .map(m -> LogicalKey.parse("MSH-10").of(m.body()) + " " + m.callback().substring(m.callback().indexOf('#')))
                .collect(Collectors.toList());
    }

    private AgentMessage sentId(String id) {
        return transport.awaitSent("transmit of " + id, m -> id.equals(LogicalKey.parse("MSH-10").of(m.body())));
    }

    @Test
    void standardModeMessagesBypassTheStoreAndAreNeverAcknowledgedWithoutTheServer() throws Exception {
        FakeChannel adt = liveWith(Map.of());
        Submission s = submitBody(adt, "STD1", adt("STD1", "P1"), false);
        assertNull(now(s.accepted()));
        AgentMessage sent = sentId("STD1");
        assertEquals(s.callback(), sent.callback(), "direct path: no attempt suffix");
        assertTrue(store.rows.isEmpty(), "no fsync for a message that owes no commit ACK");

        // The link drops before the server answers: the device never gets a positive answer.
        rt.onLinkState(LinkState.CONNECTING);
        clock.addAndGet(RESPONSE_TIMEOUT.toNanos());
        ExecutionException e = assertThrows(ExecutionException.class, () -> now(s.reply()));
        assertEquals("No response from server within 300 s", e.getCause().getMessage());
        assertTrue(store.rows.isEmpty());
    }

    @Test
    void identicalCopyOfAPendingMessageIsAcceptedAndGetsTheOriginalsAnswer() throws Exception {
        FakeChannel adt = liveWith(Map.of());
        Submission first = submitBody(adt, "D1", adt("D1", "P1"), true);
        now(first.accepted());
        AgentMessage sent = sentId("D1");
        Submission copy = submitBody(adt, "D1", adt("D1", "P1"), true);
        assertNull(now(copy.accepted()), "commit ACK again");
        answer(sent.callback(), 200, "MSH|ACK-D1");
        assertEquals("MSH|ACK-D1", now(first.reply()).body());
        assertEquals("MSH|ACK-D1", now(copy.reply()).body());
        assertEquals(List.of("D1 #1"), sentIds(), "sent once");
        assertEquals(1, store.rows.size());
    }

    @Test
    void identicalCopyOfAProcessedMessageReplaysTheStoredAnswer() throws Exception {
        FakeChannel adt = liveWith(Map.of());
        Submission first = submitBody(adt, "D1", adt("D1", "P1"), true);
        answer(sentId("D1").callback(), 200, "MSH|ACK-D1");
        now(first.reply());
        Fakes.await("processed", () -> store.row("D1").state == MessageState.PROCESSED);

        Submission copy = submitBody(adt, "D1", adt("D1", "P1"), true);
        assertNull(now(copy.accepted()));
        assertEquals(new DeviceReply(200, "x-application/hl7-v2+er7", "MSH|ACK-D1"), now(copy.reply()));
        Thread.sleep(50);
        assertEquals(List.of("D1 #1"), sentIds(), "the replay does not reach the server");
        assertEquals(0, rt.pendingCount());
    }

    @Test
    void differentBodyWithTheSameControlIdIsRejected() throws Exception {
        FakeChannel adt = liveWith(Map.of());
        now(submitBody(adt, "D1", adt("D1", "P1"), true).accepted());
        Submission other = submitBody(adt, "D1", adt("D1", "P2"), true);
        ExecutionException e = assertThrows(ExecutionException.class, () -> now(other.accepted()));
        assertEquals("Duplicate message control id 'D1' on channel 'adt': a different message with this id is still waiting"
                + " for the server", e.getCause().getMessage());
        assertEquals(MessageRefusedException.Reason.DUPLICATE_DIFFERENT_CONTENT, refusal(e).reason());
        assertEquals(MessageRefusedException.Reason.DUPLICATE_DIFFERENT_CONTENT,
                refusal(assertThrows(ExecutionException.class, () -> now(other.reply()))).reason());
        assertEquals(1, LogCapture.containing("WARN", "[adt] Message D1 not accepted: Duplicate message control id").size());
        // The same id on another channel is no duplicate.
        assertNull(now(submitBody(hl7.latest("orm"), "D1", adt("D1", "P2"), true).accepted()));
        assertEquals(2, store.rows.size());
    }

    @Test
    void duplicateBehaviorRejectRefusesEvenIdenticalCopies() throws Exception {
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?duplicateBehavior=reject", Map.of());
        Submission first = submitBody(adt, "D1", adt("D1", "P1"), true);
        answer(sentId("D1").callback(), 200, "MSH|ACK-D1");
        now(first.reply());
        Fakes.await("processed", () -> store.row("D1").state == MessageState.PROCESSED);
        Submission copy = submitBody(adt, "D1", adt("D1", "P1"), true);
        ExecutionException e = assertThrows(ExecutionException.class, () -> now(copy.accepted()));
        assertEquals("Duplicate message control id 'D1' on channel 'adt': a message with this id is already processed"
                + " (duplicateBehavior=reject)", e.getCause().getMessage());
        assertEquals(MessageRefusedException.Reason.DUPLICATE, refusal(e).reason());
        // Different content under reject is still reported as a reused id, which the device is told apart.
        Submission other = submitBody(adt, "D1", adt("D1", "P2"), true);
        ExecutionException diff = assertThrows(ExecutionException.class, () -> now(other.accepted()));
        assertEquals("Duplicate message control id 'D1' on channel 'adt': a different message with this id is already"
                + " processed (duplicateBehavior=reject)", diff.getCause().getMessage());
        assertEquals(MessageRefusedException.Reason.DUPLICATE_DIFFERENT_CONTENT, refusal(diff).reason());
        assertEquals(List.of("D1 #1"), sentIds(), "no refused copy reaches the server");
    }

    @Test
    void storageFailureIsNoRefusal() throws Exception {
        FakeChannel adt = liveWith(Map.of());
        store.failAppends = "disk full";
        ExecutionException e = assertThrows(ExecutionException.class, () -> now(submitBody(adt, "S1", adt("S1", "P1"), true).accepted()));
        assertTrue(MessageRefusedException.of(e).isEmpty(), "a storage failure is transient: " + e.getCause());
    }

    /** The refusal a failed stage carries; fails the test when the failure is of another kind. */
    private static MessageRefusedException refusal(ExecutionException e) {
        return MessageRefusedException.of(e).orElseThrow(() -> new AssertionError("not a refusal: " + e.getCause(), e));
    }

    @Test
    void maxWorkersWithoutAKeyPipelinesInFifoSendOrder() throws Exception {
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?maxWorkers=3", Map.of());
        List<Submission> subs = new java.util.ArrayList<>();
        for (int i = 1; i <= 5; i++) subs.add(submitBody(adt, "M" + i, adt("M" + i, "P"), true));
        Fakes.await("three in flight", () -> sentIds().size() == 3);
        Thread.sleep(50);
        assertEquals(List.of("M1 #1", "M2 #1", "M3 #1"), sentIds(), "at most maxWorkers awaiting answers");
        answer(sentId("M2").callback(), 200, "ACK2"); // answers may come in any order
        Fakes.await("M4 sent", () -> sentIds().size() == 4);
        answer(sentId("M1").callback(), 200, "ACK1");
        answer(sentId("M3").callback(), 200, "ACK3");
        answer(sentId("M4").callback(), 200, "ACK4");
        answer(sentId("M5").callback(), 200, "ACK5");
        for (int i = 0; i < 5; i++) assertEquals("ACK" + (i + 1), now(subs.get(i).reply()).body());
        assertEquals(List.of("M1 #1", "M2 #1", "M3 #1", "M4 #1", "M5 #1"), sentIds());
    }

    @Test
    void pipelineHoldsNewMessagesWhileOneWaitsForItsRetry() throws Exception {
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?maxWorkers=2", Map.of("channelAutoRetryBaseDelayMs", 100,
                "channelAutoRetryMaxDelayMs", 100));
        Submission a = submitBody(adt, "A", adt("A", "P"), true);
        Submission b = submitBody(adt, "B", adt("B", "P"), true);
        Submission c = submitBody(adt, "C", adt("C", "P"), true);
        Fakes.await("two in flight", () -> sentIds().size() == 2);
        answer(sentId("A").callback(), 503, "busy");
        answer(sentId("B").callback(), 200, "ACK-B");
        Fakes.await("C sent", () -> sentIds().contains("C #1"));
        assertEquals(List.of("A #1", "B #1", "A #2", "C #1"), sentIds(), "C does not overtake A's retry (100 ms back-off)");
        answer(a.callback() + "#2", 200, "ACK-A");
        answer(sentId("C").callback(), 200, "ACK-C");
        assertEquals("ACK-C", now(c.reply()).body());
        assertEquals("ACK-A", now(a.reply()).body());
        assertEquals("ACK-B", now(b.reply()).body());
    }

    @Test
    void logicalKeyRunsKeysInParallelButNeverReordersOneKey() throws Exception {
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?maxWorkers=3&logicalChannelKey=PID-3.1", Map.of());
        submitBody(adt, "X1", adt("X1", "PX"), true);
        submitBody(adt, "X2", adt("X2", "PX"), true);
        submitBody(adt, "Y1", adt("Y1", "PY"), true);
        submitBody(adt, "X3", adt("X3", "PX"), true);
        submitBody(adt, "Z1", adt("Z1", "PZ"), true);
        submitBody(adt, "W1", adt("W1", "PW"), true);
        Fakes.await("one per key, up to 3", () -> sentIds().size() == 3);
        Thread.sleep(50);
        assertEquals(List.of("X1 #1", "Y1 #1", "Z1 #1"), sentIds(), "X2 waits for X1; W1 for a free worker");
        answer(sentId("X1").callback(), 200, "ACK");
        Fakes.await("X2 next", () -> sentIds().size() == 4);
        assertEquals("X2 #1", sentIds().get(3), "the freed worker goes to the oldest message that may go");
        answer(sentId("Y1").callback(), 200, "ACK");
        Fakes.await("W1 next", () -> sentIds().size() == 5);
        assertEquals("W1 #1", sentIds().get(4), "X3 still waits behind X2");
        answer(sentId("X2").callback(), 200, "ACK");
        answer(sentId("X3").callback(), 200, "ACK");
        answer(sentId("Z1").callback(), 200, "ACK");
        answer(sentId("W1").callback(), 200, "ACK");
        Fakes.await("all processed", () -> store.rows.values().stream().allMatch(r -> r.state == MessageState.PROCESSED));
        List<String> x = sentIds().stream().filter(i -> i.startsWith("X")).toList();
        assertEquals(List.of("X1 #1", "X2 #1", "X3 #1"), x);
    }

    @Test
    void aFailingKeyDoesNotHoldUpOtherKeys() throws Exception {
        shortDispatchTimeout();
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?maxWorkers=2&logicalChannelKey=PID-3.1", FAST_RETRY);
        submitBody(adt, "X1", adt("X1", "PX"), true);
        submitBody(adt, "X2", adt("X2", "PX"), true);
        submitBody(adt, "Y1", adt("Y1", "PY"), true);
        submitBody(adt, "Y2", adt("Y2", "PY"), true);
        AgentMessage x1 = sentId("X1");
        answer(sentId("Y1").callback(), 200, "ACK");
        answer(sentId("Y2").callback(), 200, "ACK");
        Fakes.await("X1 retried after the timeout", () -> sentIds().contains("X1 #2"));
        assertFalse(sentIds().contains("X2 #1"), "X2 waits for X1");
        answer(x1.callback().replace("#1", "#2"), 200, "ACK");
        sentId("X2");
    }

    @Test
    void hl7RejectionIsPermanentAndHl7ErrorIsRetried() throws Exception {
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?autoRetryBaseDelayMs=10&autoRetryMaxDelayMs=20", Map.of());
        Submission a = submitBody(adt, "A", adt("A", "P"), true);
        answer(sentId("A").callback(), 200, "MSH|^~\\&|C|C|EA|H|20240101||ACK|9|P|2.5\rMSA|AE|A|db busy\r");
        Fakes.await("AE retried", () -> sentIds().contains("A #2"));
        assertEquals(1, LogCapture.containing("WARN", "[adt] Attempt 1 of message A failed: server answered AE: db busy").size());
        String ar = "MSH|^~\\&|C|C|EA|H|20240101||ACK|9|P|2.5\rMSA|AR|A|unknown patient\r";
        answer(a.callback() + "#2", 200, ar);
        assertEquals(ar, now(a.reply()).body(), "the device hears the server's AR");
        Fakes.await("failed", () -> store.row("A").state == MessageState.FAILED);
        assertEquals("server answered AR: unknown patient", store.row("A").lastError);
        Thread.sleep(50);
        assertEquals(List.of("A #1", "A #2"), sentIds());
    }

    @Test
    void exhaustedRetriesOnAnHl7ErrorRelayTheServersAnswer() throws Exception {
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?retryMode=normal&autoRetryMaxAttempts=2&autoRetryBaseDelayMs=5",
                Map.of("channelRetryMode", "none"));
        Submission a = submitBody(adt, "A", adt("A", "P"), true);
        String ae = "MSH|^~\\&|C|C|EA|H|20240101||ACK|9|P|2.5\rMSA|AE|A|db busy\r";
        answer(sentId("A").callback(), 200, ae);
        Fakes.await("second attempt", () -> sentIds().contains("A #2"));
        answer(a.callback() + "#2", 200, ae);
        assertEquals(ae, now(a.reply()).body());
        Fakes.await("failed", () -> store.row("A").state == MessageState.FAILED);
        assertEquals(1, LogCapture.containing("ERROR",
                "[adt] Message A not delivered after 2 attempt(s) (retry mode normal): server answered AE: db busy").size());
    }

    @Test
    void invalidQueueParametersAreReportedWhenTheConfigurationLoads() {
        liveAt("mllp://0.0.0.0:2575?maxWorkers=0&retryMode=sometimes", Map.of("channelLogicalChannelKey", "PID"));
        assertEquals(1, LogCapture.containing("WARN",
                "Channel 'adt': Invalid maxWorkers value '0'; expected an integer from 1 to 500. Ignoring.").size());
        assertEquals(1, LogCapture.containing("WARN",
                "Channel 'adt': Invalid retryMode value 'sometimes'; expected one of none, normal, guaranteed. Ignoring.").size());
        assertEquals(1, LogCapture.containing("WARN", "Invalid channelLogicalChannelKey setting 'PID'; expected").size(),
                "an Agent setting is reported once, not per channel");
    }

    @Test
    void aFailedMessagePutBackByAnOperatorIsSentAgain() throws Exception {
        FakeChannel adt = liveAt("mllp://0.0.0.0:2575?retryMode=none", Map.of());
        Submission a = submitBody(adt, "A", adt("A", "P"), true);
        assertThrows(ExecutionException.class, () -> now(a.reply()));
        Submission b = submitBody(adt, "B", adt("B", "P"), true);
        answer(sentId("B").callback(), 200, "ACK-B");
        Fakes.await("B processed", () -> store.row("B").state == MessageState.PROCESSED);
        synchronized (store) { // what QueueAdmin.retry does: queued again, attempts reset, behind the read cursor
            store.row("A").state = MessageState.QUEUED;
            store.row("A").attempts = 0;
        }
        Fakes.await("A sent again", () -> sentIds().stream().filter("A #1"::equals).count() == 2);
        answer(a.callback() + "#1", 200, "ACK-A");
        Fakes.await("A processed", () -> store.row("A").state == MessageState.PROCESSED);
        Thread.sleep(100); // several rescans
        assertEquals(List.of("A #1", "B #1", "A #1"), sentIds(), "nothing sent twice by the rescans");
    }
}
