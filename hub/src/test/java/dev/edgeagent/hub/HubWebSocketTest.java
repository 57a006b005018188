package dev.edgeagent.hub;

import static dev.edgeagent.hub.TestSupport.HL7;
import static dev.edgeagent.hub.TestSupport.MAPPER;
import static dev.edgeagent.hub.TestSupport.get;
import static dev.edgeagent.hub.TestSupport.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgeagent.hub.TestSupport.FakeAgent;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HubWebSocketTest {
    private static Hub hub;
    private static String token;

    @BeforeAll
    static void start() throws Exception {
        hub = TestSupport.startHub(150);
        token = TestSupport.token(hub);
    }

    @AfterAll
    static void stop() {
        hub.stop();
    }

    private static ObjectNode connect(String token, String agentId) {
        ObjectNode m = MAPPER.createObjectNode().put("type", "agent:connect:request");
        if (token != null) {
            m.put("accessToken", token);
        }
        if (agentId != null) {
            m.put("agentId", agentId);
        }
        return m;
    }

    private static ObjectNode transmit(String channel, String contentType, String body) {
        return MAPPER.createObjectNode().put("type", "agent:transmit:request").put("accessToken", token)
                .put("channel", channel).put("remote", "127.0.0.1:51234").put("contentType", contentType)
                .put("body", body).put("callback", "Agent/agent-1-" + System.nanoTime());
    }

    private static void assertError(FakeAgent a, String body) throws Exception {
        JsonNode e = a.next("agent:error");
        assertEquals(body, e.path("body").asText());
        assertFalse(e.has("callback"), "server-generated errors carry no callback: " + e);
    }

    @Test
    void connectErrorsKeepTheSocketOpen() throws Exception {
        try (FakeAgent a = new FakeAgent(hub)) {
            a.send(connect(null, "agent-1"));
            assertError(a, "Missing access token");
            a.send(connect(token, null));
            assertError(a, "Missing agent ID");
            a.send(connect("bogus.token.value", "agent-1"));
            assertError(a, "Invalid access token");
            a.send(connect(token, "no-such-agent"));
            assertError(a, "Agent not found: Agent/no-such-agent does not exist on this hub");
            a.send(connect(token, "agent-1"));
            a.next("agent:connect:response");
        }
    }

    @Test
    void transmitChecksRunInOrder() throws Exception {
        try (FakeAgent a = new FakeAgent(hub)) {
            a.send(transmit("adt-in", HL7, "MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5"));
            assertError(a, "Not connected");
            a.send(connect(token, "agent-1"));
            a.next("agent:connect:response");
            ObjectNode m = transmit("adt-in", HL7, "MSH|x");
            m.remove("accessToken");
            a.send(m);
            assertError(a, "Missing access token");
            m = transmit("adt-in", HL7, "MSH|x");
            m.remove("channel");
            a.send(m);
            assertError(a, "Missing channel");
            m = transmit("adt-in", HL7, "MSH|x");
            m.remove("body");
            a.send(m);
            assertError(a, "Missing body");
            a.send(transmit("adt-in", HL7, "MSH|x").put("accessToken", "bad"));
            assertError(a, "Invalid access token");
            a.send(transmit("lab-in", HL7, "MSH|x"));
            assertError(a, "Channel not found");
        }
    }

    @Test
    void hl7TransmitGetsAnAckFromTheBot() throws Exception {
        hub.clearReceivedMessages();
        try (FakeAgent a = FakeAgent.connected(hub, "agent-1", token)) {
            String msg = "MSH|^~\\&|ADT1|MCM|LABADT|MCM|198808181126|SECURITY|ADT^A01^ADT_A01|MSG00001|P|2.2\r"
                    + "PID|||PATID1234^5^M11";
            ObjectNode req = transmit("adt-in", HL7, msg);
            a.send(req);
            JsonNode r = a.next("agent:transmit:response");
            assertEquals("adt-in", r.path("channel").asText());
            assertEquals("127.0.0.1:51234", r.path("remote").asText());
            assertEquals(HL7, r.path("contentType").asText());
            assertEquals(200, r.path("statusCode").asInt());
            assertEquals(req.path("callback").asText(), r.path("callback").asText());
            String[] segs = r.path("body").asText().split("\r");
            assertEquals(2, segs.length);
            String[] msh = segs[0].split("\\|", -1);
            assertEquals("^~\\&", msh[1]);
            assertEquals("LABADT", msh[2]);
            assertEquals("MCM", msh[3]);
            assertEquals("ADT1", msh[4]);
            assertEquals("MCM", msh[5]);
            assertEquals(14, msh[6].length());
            assertEquals("ACK^A01^ACK", msh[8]);
            assertTrue(msh[9].matches("\\d{13}"), msh[9]);
            assertEquals("P", msh[10]);
            assertEquals("2.2", msh[11]);
            assertEquals("MSA|AA|MSG00001|OK", segs[1]);

            List<ReceivedMessage> got = hub.receivedMessages();
            assertEquals(1, got.size());
            assertEquals("agent-1", got.get(0).agentId());
            assertEquals(msg, got.get(0).body());
            assertFalse(got.get(0).frameJson().contains(token), "access token must be masked");

            JsonNode ring = json(get(hub, "hub/messages?limit=5", token));
            assertEquals(1, ring.size());
            assertEquals("***", ring.get(0).path("accessToken").asText());
            assertEquals(msg, ring.get(0).path("body").asText());
            assertTrue(ring.get(0).has("receivedAt"));
        }
    }

    @Test
    void unparsableHl7AndOtherContentTypes() throws Exception {
        try (FakeAgent a = FakeAgent.connected(hub, "agent-1", token)) {
            a.send(transmit("adt-in", HL7, "PID|no header"));
            JsonNode r = a.next("agent:transmit:response");
            assertEquals(400, r.path("statusCode").asInt());
            assertEquals("application/json", r.path("contentType").asText());
            assertTrue(MAPPER.readTree(r.path("body").asText()).asText().startsWith("Invalid HL7 message"), r.toString());

            a.send(transmit("adt-in", "application/octet-stream", "0102ff"));
            r = a.next("agent:transmit:response");
            assertEquals(200, r.path("statusCode").asInt());
            assertTrue(MAPPER.readTree(r.path("body").asText()).path("received").asBoolean());
        }
    }

    /** Frames are parsed from and written as UTF-8 bytes: non-ASCII and non-BMP text must survive both ways. */
    @Test
    void binaryFramesAndNonAsciiTextRoundTrip() throws Exception {
        try (FakeAgent a = FakeAgent.connected(hub, "agent-1", token)) {
            String msg = "MSH|^~\\&|Grüße😀|MCM|LABADT|MCM|198808181126||ADT^A01|MSG-é|P|2.5\rPID|||Ω";
            ObjectNode req = transmit("adt-in", HL7, msg);
            a.sendBinary(MAPPER.writeValueAsBytes(req));
            JsonNode r = a.next("agent:transmit:response");
            assertEquals(200, r.path("statusCode").asInt(), r.toString());
            String[] msh = r.path("body").asText().split("\r")[0].split("\\|", -1);
            assertEquals("Grüße😀", msh[4], "sender echoed as receiver in the ACK");
            assertTrue(r.path("body").asText().contains("MSA|AA|MSG-é"), r.toString());

            // Invalid UTF-8 in a binary frame is still read with replacement characters, as before.
            byte[] bad = "{\"type\":\"agent:frobnicate?\"}".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            bad[bad.length - 3] = (byte) 0xFF;
            a.sendBinary(bad);
            assertEquals("Unknown message type: agent:frobnicate\uFFFD", a.next("agent:error").path("body").asText());
            a.sendBinary("{oops".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertTrue(a.next("agent:error").path("body").asText().startsWith("Invalid message: not valid JSON"));
        }
    }

    @Test
    void badFramesDoNotKillTheSocket() throws Exception {
        try (FakeAgent a = FakeAgent.connected(hub, "agent-1", token)) {
            a.sendRaw("{not json");
            assertTrue(a.next("agent:error").path("body").asText().startsWith("Invalid message: not valid JSON"));
            a.sendRaw("[1,2]");
            assertEquals("Invalid message: expected a JSON object", a.next("agent:error").path("body").asText());
            a.send(MAPPER.createObjectNode().put("type", "agent:frobnicate"));
            assertEquals("Unknown message type: agent:frobnicate", a.next("agent:error").path("body").asText());
            a.send(MAPPER.createObjectNode().put("type", "agent:heartbeat:request"));
            assertEquals(Hub.version(), a.next("agent:heartbeat:response").path("version").asText());
        }
    }

    @Test
    void heartbeatsDriveStatusAndCloseDisconnects() throws Exception {
        FakeAgent a = FakeAgent.connected(hub, "agent-1", token);
        a.next("agent:heartbeat:request");
        a.send(MAPPER.createObjectNode().put("type", "agent:heartbeat:response").put("version", "9.9.9-abcdef0"));
        long deadline = System.currentTimeMillis() + 5000;
        while (!"9.9.9-abcdef0".equals(hub.agentVersion("agent-1")) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        JsonNode status = json(get(hub, "fhir/R4/Agent/agent-1/$status", token));
        assertEquals("connected", status.at("/parameter/0/valueCode").asText());
        assertEquals("9.9.9-abcdef0", status.at("/parameter/1/valueString").asText());
        assertEquals("lastUpdated", status.at("/parameter/2/name").asText());

        a.ws.sendClose(1000, "bye").get();
        deadline = System.currentTimeMillis() + 5000;
        while (hub.isAgentConnected("agent-1") && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        status = json(get(hub, "fhir/R4/Agent/agent-1/$status", token));
        assertEquals("disconnected", status.at("/parameter/0/valueCode").asText());
        assertEquals("9.9.9-abcdef0", status.at("/parameter/1/valueString").asText());
        a.close();

        JsonNode unknown = json(get(hub, "fhir/R4/Agent/agent-off/$status", token));
        assertEquals("unknown", unknown.at("/parameter/0/valueCode").asText());
        assertEquals("unknown", unknown.at("/parameter/1/valueString").asText());
        assertEquals(2, unknown.path("parameter").size());
    }

    @Test
    void newestSocketReceivesServerMessages() throws Exception {
        try (FakeAgent older = FakeAgent.connected(hub, "agent-1", token);
                FakeAgent newer = FakeAgent.connected(hub, "agent-1", token)) {
            String body = MAPPER.writeValueAsString(MAPPER.createObjectNode().put("destination", "Device/dev-1")
                    .put("contentType", HL7).put("body", "MSH|^~\\&|A|B|C|D|||ORM^O01|5|P|2.5"));
            assertEquals(200, TestSupport.post(hub, "fhir/R4/Agent/agent-1/$push", token, "application/json", body)
                    .statusCode());
            assertEquals("mllp://127.0.0.1:2576", newer.next("agent:transmit:request").path("remote").asText());
            older.ws.sendClose(1000, "replaced").get();
            Thread.sleep(100);
            assertTrue(hub.isAgentConnected("agent-1"), "closing the replaced socket must not disconnect the agent");
            assertTrue(older.inbox.stream().noneMatch(m -> m.path("type").asText().equals("agent:transmit:request")));
        }
    }

    @Test
    void legacyMessageTypesAreAccepted() throws Exception {
        try (FakeAgent a = new FakeAgent(hub)) {
            a.send(connect(token, "agent-1").put("type", "connect"));
            a.next("agent:connect:response");
            a.send(transmit("adt-in", HL7, "MSH|^~\\&|A|B|C|D|||ORU^R01|42|P").put("type", "transmit"));
            JsonNode r = a.next("agent:transmit:response");
            assertTrue(r.path("body").asText().contains("|ACK^R01|"), r.toString());
            assertTrue(r.path("body").asText().endsWith("|P|2.5.1\rMSA|AA|42|OK"), r.toString());
        }
    }
}
