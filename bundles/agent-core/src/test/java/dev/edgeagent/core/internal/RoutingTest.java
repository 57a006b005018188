package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.core.internal.Fakes.FakeChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RoutingTest extends RuntimeFixture {
    private FakeChannel adt;

    @BeforeEach
    void live() {
        startLive(channels("adt", "mllp://0.0.0.0:2575"));
        adt = hl7.latest("adt");
    }

    private Submission submit(String id) {
        return adt.context.submit(new InboundMessage("10.0.0.7:51234", "x-application/hl7-v2+er7", "MSH|^~\\&|" + id, id));
    }

    private static <T> T now(java.util.concurrent.CompletionStage<T> s) throws Exception {
        return s.toCompletableFuture().get(2, TimeUnit.SECONDS);
    }

    private AgentMessage response(String callback, Integer status, String body) {
        AgentMessage m = AgentMessage.of("agent:transmit:response").with("channel", "adt").with("remote", "10.0.0.7:51234")
                .with("contentType", "x-application/hl7-v2+er7").with("body", body).with("callback", callback);
        return status == null ? m : m.with("statusCode", status);
    }

    @Test
    void transmitRequestIsBuiltAndTheReplyReachesTheExactSubmission() throws Exception {
        Submission first = submit("MSG1");
        Submission second = submit("MSG2");
        assertTrue(first.callback().matches("Agent/agent-1-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
                first.callback());
        assertNotEquals(first.callback(), second.callback());
        assertEquals(AgentMessage.transmitRequest("adt", "10.0.0.7:51234", "x-application/hl7-v2+er7", "MSH|^~\\&|MSG1",
                first.callback()), transport.sent.get(0));
        assertEquals(adt.context.agentId(), AGENT);
        assertNull(now(first.accepted()));
        assertEquals(2, rt.pendingCount());

        rt.onMessage(response(second.callback(), 200, "ACK2"));
        assertEquals(new DeviceReply(200, "x-application/hl7-v2+er7", "ACK2"), now(second.reply()));
        assertFalse(first.reply().toCompletableFuture().isDone());

        rt.onMessage(response(first.callback(), null, "ACK1"));
        assertEquals(200, now(first.reply()).statusCode(), "absent statusCode means success");
        assertEquals(0, rt.pendingCount());
        assertTrue(adt.unmatched.isEmpty());
    }

    @Test
    void errorStatusIsHandedToTheChannel() throws Exception {
        Submission s = submit("MSG1");
        rt.onMessage(response(s.callback(), 400, "Bot failed"));
        DeviceReply r = now(s.reply());
        assertEquals(400, r.statusCode());
        assertFalse(r.isSuccess());
    }

    @Test
    void attemptSuffixIsStripped() throws Exception {
        Submission s = submit("MSG1");
        rt.onMessage(response(s.callback() + "#2", 200, "ACK"));
        assertEquals("ACK", now(s.reply()).body());
        assertEquals("abc#x", MessageRouter.stripAttempt("abc#x"));
        assertEquals("abc#", MessageRouter.stripAttempt("abc#"));
        assertEquals("a#1", MessageRouter.stripAttempt("a#1#12"));
    }

    @Test
    void responseWithoutCallbackIsDeliveredByRemote() {
        Submission s = submit("MSG1");
        rt.onMessage(response(null, 200, "ACK"));
        assertEquals(1, LogCapture.containing("WARN", "Transmit response missing callback").size());
        assertEquals(java.util.List.of("10.0.0.7:51234 200 ACK"), adt.unmatched);
        assertFalse(s.reply().toCompletableFuture().isDone());

        adt.remoteConnected = false;
        rt.onMessage(response("Agent/agent-1-unknown", 200, "ACK"));
        assertEquals(2, adt.unmatched.size(), "an unknown callback is routed by remote too");
        assertEquals(1, LogCapture.containing("WARN", "Attempted to send message to disconnected remote: 10.0.0.7:51234").size());
    }

    @Test
    void unmatchedErrorResponseIsLoggedNotDelivered() {
        rt.onMessage(response(null, 400, "Bot failed"));
        assertTrue(adt.unmatched.isEmpty());
        assertEquals(1, LogCapture.containing("ERROR", "Error during handling transmit request: Bot failed").size());
    }

    @Test
    void refusedFrameFailsBothStages() {
        transport.refuse = "Outage buffer full (10000 frames)";
        Submission s = submit("MSG1");
        ExecutionException e = assertThrows(ExecutionException.class, () -> s.accepted().toCompletableFuture().get(1, TimeUnit.SECONDS));
        assertEquals("Outage buffer full (10000 frames)", e.getCause().getMessage());
        assertThrows(ExecutionException.class, () -> s.reply().toCompletableFuture().get(1, TimeUnit.SECONDS));
        assertEquals(0, rt.pendingCount());
    }

    @Test
    void submissionStagesCannotBeCompletedByAChannel() throws Exception {
        Submission s = submit("MSG1");
        CompletableFuture<DeviceReply> f = s.reply().toCompletableFuture();
        f.complete(new DeviceReply(200, "t", "fake"));
        rt.onMessage(response(s.callback(), 200, "real"));
        assertEquals("real", now(s.reply()).body(), "only the server's answer completes the submission");
    }

    @Test
    void unansweredSubmissionsArePurged() throws Exception {
        Submission old = submit("OLD1");
        clock.addAndGet(RESPONSE_TIMEOUT.toNanos() - 1_000_000_000L);
        Submission young = submit("YOUNG");
        clock.addAndGet(2_000_000_000L);
        Fakes.await("purge", () -> old.reply().toCompletableFuture().isDone());
        ExecutionException e = assertThrows(ExecutionException.class, () -> now(old.reply()));
        assertEquals("No response from server within 300 s", e.getCause().getMessage());
        assertEquals(1, LogCapture.containing("WARN",
                "[adt] Cleaning up pending message; never got response for message with ID 'OLD1'").size());
        assertFalse(young.reply().toCompletableFuture().isDone());
        assertEquals(1, rt.pendingCount());
    }
}
