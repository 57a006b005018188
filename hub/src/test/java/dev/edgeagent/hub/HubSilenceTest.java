package dev.edgeagent.hub;

import static dev.edgeagent.hub.TestSupport.HL7;
import static dev.edgeagent.hub.TestSupport.MAPPER;
import static dev.edgeagent.hub.TestSupport.assertOutcome;
import static dev.edgeagent.hub.TestSupport.json;
import static dev.edgeagent.hub.TestSupport.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgeagent.hub.TestSupport.FakeAgent;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** POST /hub/admin/silence: the hub plays a hung server on one agent socket while new sockets work. */
class HubSilenceTest {
    /** Server heartbeat period; a silent window of several periods must show none of them. */
    private static final long HEARTBEAT_MS = 100;

    private Hub hub;
    private String token;

    @BeforeEach
    void start() throws Exception {
        hub = TestSupport.startHub(HEARTBEAT_MS);
        token = TestSupport.token(hub);
    }

    @AfterEach
    void stop() {
        hub.stop();
    }

    private HttpResponse<String> silence(String query) throws Exception {
        return post(hub, "hub/admin/silence?" + query, token, null, null);
    }

    private ObjectNode transmit(String controlId) {
        return MAPPER.createObjectNode().put("type", "agent:transmit:request").put("accessToken", token)
                .put("channel", "adt-in").put("contentType", HL7)
                .put("body", "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|" + controlId + "|P|2.5")
                .put("callback", "cb-" + controlId);
    }

    /** Nothing at all may arrive for {@code ms}: no heartbeat, reply, error or pong. */
    private static void assertQuiet(FakeAgent a, long ms) throws Exception {
        JsonNode m = a.inbox.poll(ms, TimeUnit.MILLISECONDS);
        assertNull(m, "a silenced socket received " + m);
    }

    @Test
    void silencedSocketGetsNothingAndIsIgnoredWhileANewSocketIsServed() throws Exception {
        try (FakeAgent old = FakeAgent.connected(hub, "agent-1", token)) {
            old.next("agent:heartbeat:request");
            assertEquals(1, hub.connectCount("agent-1"));

            HttpResponse<String> r = silence("agent=agent-1&seconds=60");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("agent-1", json(r).path("agentId").asText());
            assertFalse(json(r).path("remoteAddress").asText().isEmpty(), r.body());
            old.inbox.clear();

            old.send(transmit("silenced-1"));
            old.send(MAPPER.createObjectNode().put("type", "agent:heartbeat:request"));
            old.sendRaw("not json");
            old.ws.sendPing(ByteBuffer.wrap(new byte[] {1, 2})).get(5, TimeUnit.SECONDS);
            assertQuiet(old, 8 * HEARTBEAT_MS);
            assertEquals(0, hub.totalReceived(), "a transmit on a silenced socket must be ignored");
            assertFalse(old.ws.isInputClosed() || old.ws.isOutputClosed(), "the TCP connection stays open");
            assertTrue(hub.isAgentConnected("agent-1"), "a hung server still believes the agent is connected");

            // The agent's recovery path: a new socket is served normally during the window.
            try (FakeAgent fresh = FakeAgent.connected(hub, "agent-1", token)) {
                assertEquals(2, hub.connectCount("agent-1"));
                fresh.send(transmit("fresh-1"));
                JsonNode ack = fresh.next("agent:transmit:response");
                assertEquals("cb-fresh-1", ack.path("callback").asText());
                assertTrue(ack.path("body").asText().contains("MSA|AA|fresh-1"), ack.toString());
                fresh.next("agent:heartbeat:request");
                fresh.ws.sendPing(ByteBuffer.wrap(new byte[] {3})).get(5, TimeUnit.SECONDS);
                fresh.next("pong");
                assertEquals(1, hub.totalReceived());
                assertQuiet(old, 3 * HEARTBEAT_MS);

                // seconds=0 also reaches the silenced socket that is no longer the current one.
                r = silence("agent=agent-1&seconds=0");
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(1, json(r).path("ended").asInt(), r.body());
                old.next("agent:heartbeat:request");
                fresh.next("agent:heartbeat:request");
            }
        }
    }

    @Test
    void silenceEndsByItselfAfterTheGivenSeconds() throws Exception {
        try (FakeAgent a = FakeAgent.connected(hub, "agent-1", token)) {
            assertTrue(hub.silenceAgent("agent-1", 1));
            a.inbox.clear();
            assertQuiet(a, 600);
            // Expired: heartbeats resume and requests are answered again (next() waits up to 5 s).
            a.next("agent:heartbeat:request");
            a.send(transmit("after-1"));
            assertEquals("cb-after-1", a.next("agent:transmit:response").path("callback").asText());
        }
    }

    @Test
    void badRequestsAreRefusedWithAReason() throws Exception {
        assertOutcome(silence("seconds=10"), 400, "Missing query parameter 'agent' (the Agent id to silence)");
        assertOutcome(silence("agent=agent-1&seconds=abc"), 400,
                "Query parameter 'seconds' must be an integer from 0 (end the silence) to 86400, got 'abc'");
        assertOutcome(silence("agent=agent-1"), 400,
                "Query parameter 'seconds' must be an integer from 0 (end the silence) to 86400, got 'null'");
        assertOutcome(silence("agent=agent-1&seconds=-1"), 400,
                "Query parameter 'seconds' must be an integer from 0 (end the silence) to 86400, got '-1'");
        assertOutcome(silence("agent=agent-1&seconds=10"), 404, "Agent agent-1 has no open WebSocket on this hub");
        assertOutcome(TestSupport.get(hub, "hub/admin/silence?agent=agent-1&seconds=10", token), 405,
                "Use POST for /hub/admin/silence");
        assertEquals(401, post(hub, "hub/admin/silence?agent=agent-1&seconds=10", null, null, null).statusCode());
        assertFalse(hub.silenceAgent("agent-1", 10));
    }
}
