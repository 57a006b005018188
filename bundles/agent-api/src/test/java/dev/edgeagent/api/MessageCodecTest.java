package dev.edgeagent.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageFormatException;
import dev.edgeagent.api.message.MessageTypes;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MessageCodecTest {

    @Test
    void transmitRequestRoundTripKeepsEveryField() throws Exception {
        AgentMessage m = AgentMessage.transmitRequest("adt-in", "::ffff:10.0.0.7:51234", "x-application/hl7-v2+er7",
                "MSH|^~\\&|ADT1|MCM|LABADT|MCM|198808181126|SECURITY|ADT^A01|MSG00001|P|2.2\rPID|||PATID1234^5^M11",
                "Agent/abc-123");
        String json = MessageCodec.encode(m);
        assertTrue(json.startsWith("{\"type\":\"agent:transmit:request\""), json);
        assertTrue(json.contains("\"body\":\"MSH|^~\\\\&|ADT1"), json);
        assertTrue(json.contains("\\r"), "segment separator must be escaped as \\r: " + json);
        AgentMessage back = MessageCodec.decode(json);
        assertEquals(m, back);
        assertEquals("adt-in", back.channel());
        assertEquals("Agent/abc-123", back.callback());
    }

    @Test
    void statusCodeAbsentMeansSuccess() throws Exception {
        AgentMessage m = MessageCodec.decode("{\"type\":\"agent:transmit:response\",\"body\":\"x\"}");
        assertNull(m.statusCode());
        assertTrue(m.isSuccess());
        AgentMessage bad = MessageCodec.decode("{\"type\":\"agent:transmit:response\",\"statusCode\":400}");
        assertEquals(400, bad.statusCode());
        assertFalse(bad.isSuccess());
    }

    @Test
    void unknownFieldsSurviveRoundTrip() throws Exception {
        String json = "{\"type\":\"agent:logs:response\",\"statusCode\":200,\"logs\":[{\"level\":\"INFO\",\"msg\":\"hi\"}],\"callback\":\"cb\"}";
        AgentMessage m = MessageCodec.decode(json);
        assertEquals(List.of(Map.of("level", "INFO", "msg", "hi")), m.getList("logs"));
        assertEquals(json, MessageCodec.encode(m));
    }

    @Test
    void malformedJsonIsReported() {
        MessageFormatException e = assertThrows(MessageFormatException.class, () -> MessageCodec.decode("{not json"));
        assertTrue(e.getMessage().startsWith("Invalid JSON"));
        assertNull(e.callback());
    }

    @Test
    void missingTypeKeepsCallbackForTheErrorReply() {
        MessageFormatException e = assertThrows(MessageFormatException.class, () -> MessageCodec.decode("{\"callback\":\"c1\"}"));
        assertEquals("c1", e.callback());
    }

    @Test
    void legacyAliasesNormalise() {
        assertEquals(MessageTypes.CONNECT_RESPONSE, MessageTypes.normalizeInbound("connected"));
        assertEquals(MessageTypes.TRANSMIT_RESPONSE, MessageTypes.normalizeInbound("transmit"));
        assertEquals(MessageTypes.TRANSMIT_REQUEST, MessageTypes.normalizeInbound("push"));
        assertEquals("agent:foo", MessageTypes.normalizeInbound("agent:foo"));
    }

    @Test
    void toStringMasksToken() {
        AgentMessage m = AgentMessage.connectRequest("secret-token", "a1");
        assertFalse(m.toString().contains("secret-token"));
        assertTrue(m.toString().contains("a1"));
    }

    @Test
    void withNullRemovesField() {
        AgentMessage m = AgentMessage.transmitResponse(null, "mllp://x:1", "text/plain", 400, "err", "cb");
        assertFalse(m.has("channel"), "push responses carry no channel unless the request had one");
        assertEquals(400, m.statusCode());
    }
}
