package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.OutboundRequest;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.ops.OperationHandler;
import dev.edgeagent.core.internal.Fakes.FakeConnector;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class InboundTest extends RuntimeFixture {

    @BeforeEach
    void live() {
        startLive(channels("adt", "mllp://0.0.0.0:2575"));
    }

    private AgentMessage ping(String remote, String body, String callback) {
        rt.onMessage(AgentMessage.of("agent:transmit:request").with("contentType", "x-application/ping")
                .with("remote", remote).with("body", body).with("callback", callback));
        return transport.awaitReply(callback);
    }

    @Test
    void pingValidationTexts() {
        AgentMessage v6 = ping("::1", "PING", "p1");
        assertEquals("agent:transmit:response", v6.type());
        assertEquals(400, v6.statusCode());
        assertEquals("text/plain", v6.contentType());
        assertEquals("Attempted to ping an IPv6 address: ::1\n\nIPv6 is currently unsupported.", v6.body());
        assertEquals("::1", v6.remote());
        assertFalse(v6.has("channel"));

        assertEquals("Attempted to ping an invalid host.\n\n\"-f 127.0.0.1\" is not a valid IPv4 address or a resolvable hostname.",
                ping("-f 127.0.0.1", "PING", "p2").body());
        assertEquals("Attempted to ping an invalid host.\n\n\"bad_host!\" is not a valid IPv4 address or a resolvable hostname.",
                ping("bad_host!", "", "p3").body());
        assertEquals("Unable to ping 127.0.0.1 \"abc\" times. \"abc\" is not a number.",
                ping("127.0.0.1", "PING abc", "p4").body());
    }

    @Test
    void realPingToLoopback() {
        AgentMessage r = ping("127.0.0.1", "PING 1", "p-real");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("x-application/ping", r.contentType());
        assertContains(r.body(), "127.0.0.1");
        assertEquals(r.body().trim(), r.body());
    }

    @Test
    void pingEchoesTheChannelWhenPresent() {
        rt.onMessage(AgentMessage.of("agent:transmit:request").with("contentType", "x-application/ping").with("channel", "adt")
                .with("remote", "::1").with("callback", "pc"));
        assertEquals("adt", transport.awaitReply("pc").channel());
    }

    @Test
    void pushIsRoutedToTheConnectorServingTheScheme() {
        FakeConnector mllp = new FakeConnector("mllp");
        FakeConnector tcp = new FakeConnector("tcp");
        rt.addConnector(mllp);
        rt.addConnector(tcp);
        rt.onMessage(AgentMessage.of("agent:transmit:request").with("remote", "mllp://10.0.0.9:2575?encoding=latin1")
                .with("contentType", "x-application/hl7-v2+er7").with("body", "MSH|^~\\&|ORM").with("returnAck", "first")
                .with("callback", "agent:cb:api-1:1"));
        AgentMessage r = transport.awaitReply("agent:cb:api-1:1");
        assertEquals(List.of(new OutboundRequest("mllp://10.0.0.9:2575?encoding=latin1", "x-application/hl7-v2+er7",
                "MSH|^~\\&|ORM", "first")), mllp.requests);
        assertTrue(tcp.requests.isEmpty());
        assertEquals(AgentMessage.transmitResponse(null, "mllp://10.0.0.9:2575?encoding=latin1", "x-application/hl7-v2+er7",
                200, "MSH|ack", "agent:cb:api-1:1"), r);
        assertFalse(r.has("channel"), "no channel unless the request had one");

        mllp.behaviour = req -> CompletableFuture.completedFuture(new DeviceReply(400, "text/plain", "MSH.10 is missing but required"));
        rt.onMessage(AgentMessage.of("agent:transmit:request").with("channel", "orders").with("remote", "mllp://10.0.0.9:2575")
                .with("body", "MSH|").with("callback", "c2"));
        AgentMessage r2 = transport.awaitReply("c2");
        assertEquals("orders", r2.channel());
        assertEquals(400, r2.statusCode());
        assertEquals("MSH.10 is missing but required", r2.body());

        mllp.behaviour = req -> CompletableFuture.failedFuture(new IllegalArgumentException("Error: Invalid HL7 message"));
        rt.onMessage(AgentMessage.of("agent:transmit:request").with("remote", "mllp://10.0.0.9:2575").with("body", "x")
                .with("callback", "c3"));
        AgentMessage r3 = transport.awaitReply("c3");
        assertEquals(AgentMessage.error("Error: Invalid HL7 message", "c3"), r3);
    }

    @Test
    void pushWithoutRemoteOrConnector() {
        rt.onMessage(AgentMessage.of("agent:transmit:request").with("body", "MSH|").with("callback", "c1"));
        assertEquals(AgentMessage.error("Missing remote address", "c1"), transport.awaitReply("c1"));

        rt.onMessage(AgentMessage.of("agent:transmit:request").with("remote", "dicom://10.0.0.9:104").with("body", "x")
                .with("callback", "c2"));
        AgentMessage r = transport.awaitReply("c2");
        assertEquals(AgentMessage.transmitResponse(null, "dicom://10.0.0.9:104", "text/plain", 400,
                "No deployed protocol bundle can send to 'dicom://10.0.0.9:104'", "c2"), r);
    }

    @Test
    void legacyPushAliasIsAccepted() {
        FakeConnector mllp = new FakeConnector("mllp");
        rt.addConnector(mllp);
        rt.onMessage(AgentMessage.of("push").with("remote", "mllp://10.0.0.9:2575").with("body", "MSH|").with("callback", "lp"));
        assertEquals("agent:transmit:response", transport.awaitReply("lp").type());
    }

    @Test
    void unknownTypeUndecodableAndServerErrors() {
        rt.onMessage(AgentMessage.of("agent:bogus:request").with("callback", "u1"));
        assertEquals(AgentMessage.error("Unknown message type: agent:bogus:request", "u1"), transport.awaitReply("u1"));
        assertEquals(1, LogCapture.containing("WARN", "Unknown message type: agent:bogus:request").size());

        rt.onUndecodable("Invalid JSON: Unexpected character", null);
        AgentMessage e = transport.awaitSent("undecodable answer", m -> "agent:error".equals(m.type()) && m.body().startsWith("WebSocket"));
        assertEquals("WebSocket error on incoming message: Invalid JSON: Unexpected character", e.body());
        assertFalse(e.has("callback"));
        rt.onUndecodable("Missing message type", "cb-x");
        assertEquals("WebSocket error on incoming message: Missing message type", transport.awaitReply("cb-x").body());

        int before = transport.sent.size();
        rt.onMessage(AgentMessage.error("Invalid access token", null));
        assertEquals(before, transport.sent.size(), "no reply to a server error");
        assertEquals(1, LogCapture.containing("ERROR", "Error received from server: Invalid access token").size());

        rt.onMessage(AgentMessage.of("agent:logs:request").with("callback", "l1"));
        assertEquals("Unable to fetch logs since current logger instance does not support fetching",
                transport.awaitReply("l1").body());
    }

    @Test
    void operationHandlersAnswerTheirType() {
        OperationHandler logs = req -> CompletableFuture.completedFuture(
                AgentMessage.of("agent:logs:response").with("statusCode", 200).with("logs", List.of()));
        OperationHandler upgrade = req -> CompletableFuture.failedFuture(new IllegalStateException("Upgrade already in progress"));
        rt.addOperation("agent:logs:request", logs);
        rt.addOperation("agent:upgrade:request", upgrade);

        rt.onMessage(AgentMessage.of("agent:logs:request").with("limit", 5).with("callback", "o1"));
        AgentMessage r = transport.awaitReply("o1");
        assertEquals("agent:logs:response", r.type());
        assertEquals(List.of(), r.getList("logs"));

        rt.onMessage(AgentMessage.of("agent:upgrade:request").with("callback", "o2"));
        assertEquals(AgentMessage.error("Upgrade already in progress", "o2"), transport.awaitReply("o2"));

        rt.removeOperation("agent:upgrade:request", upgrade);
        rt.onMessage(AgentMessage.of("agent:upgrade:request").with("callback", "o3"));
        assertEquals("Unknown message type: agent:upgrade:request", transport.awaitReply("o3").body());
    }

    @Test
    void replyFailuresAreLoggedNotThrown() {
        transport.refuse = "Transport stopped";
        assertDoesNotThrow(() -> rt.onMessage(AgentMessage.of("agent:bogus").with("callback", "z")));
        assertEquals(1, LogCapture.containing("WARN", "Unable to send agent:error (callback z): Transport stopped").size());
    }

    @Test
    @SuppressWarnings("unchecked")
    void statsShape() {
        hl7.latest("adt").detail = Map.of("hl7ConnectionsOpen", 2, "rtt", Map.of("count", 0));
        FakeConnector mllp = new FakeConnector("mllp");
        mllp.stats = Map.of("hl7ClientCount", 3, "clientStats", Map.of("mllp://10.0.0.9:2575?encoding=utf-8", Map.of("rtt", Map.of())));
        rt.addConnector(mllp);
        hl7.latest("adt").context.submit(new dev.edgeagent.api.channel.InboundMessage("1.2.3.4:5", "x", "MSH|", "M1"));

        rt.onMessage(AgentMessage.of("agent:stats:request").with("callback", "s1"));
        AgentMessage r = transport.awaitReply("s1");
        assertEquals("agent:stats:response", r.type());
        assertEquals(200, r.statusCode());
        Map<String, Object> stats = (Map<String, Object>) r.get("stats");
        assertEquals(List.of("hl7ConnectionsOpen", "ping", "webSocketQueueDepth", "hl7QueueDepth", "hl7ClientCount", "live",
                "outstandingHeartbeats", "channelStats", "clientStats"), List.copyOf(stats.keySet()));
        assertEquals(2L, stats.get("hl7ConnectionsOpen"));
        assertEquals(7L, stats.get("ping"));
        assertEquals(3, stats.get("webSocketQueueDepth"));
        assertEquals(1, stats.get("hl7QueueDepth"));
        assertEquals(3L, stats.get("hl7ClientCount"));
        assertEquals(true, stats.get("live"));
        assertEquals(1, stats.get("outstandingHeartbeats"));
        assertEquals(Map.of("adt", Map.of("hl7ConnectionsOpen", 2, "rtt", Map.of("count", 0))), stats.get("channelStats"));
        assertEquals(Map.of("mllp://10.0.0.9:2575?encoding=utf-8", Map.of("rtt", Map.of())), stats.get("clientStats"));
        // The stats object must survive JSON encoding as it travels over the wire.
        assertContains(dev.edgeagent.api.message.MessageCodec.toJson(stats), "\"live\":true");
    }
}
