package dev.edgeagent.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageFormatException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The byte/stream forms must be exactly the UTF-8 of the String forms (the wire format must not depend on the path). */
class MessageCodecBytesTest {
    private static final AgentMessage SAMPLE = AgentMessage.transmitRequest("adt-in", "::ffff:10.0.0.7:51234",
            "x-application/hl7-v2+er7", "MSH|^~\\&|ADT1|MCM|é|Ω|😀|\"q\"|\u0001\rPID|||PATID1234^5^M11\r", "cb-1")
            .with("stats", Map.of("n", 3)).with("logs", List.of("a", 1, true));

    @Test
    void streamAndBytesEncodingEqualTheUtf8OfTheStringEncoding() throws IOException {
        byte[] expected = MessageCodec.encode(SAMPLE).getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('#');
        MessageCodec.encode(SAMPLE, out);
        byte[] streamed = out.toByteArray();
        assertEquals('#', streamed[0], "what the stream already held stays in front");
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(streamed, 1, streamed.length));
        assertArrayEquals(expected, MessageCodec.encodeToBytes(SAMPLE));
    }

    @Test
    void encodeToStreamNeitherClosesNorLeavesBytesBuffered() throws IOException {
        boolean[] closed = {false};
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        OutputStream out = new OutputStream() {
            @Override
            public void write(int b) {
                sink.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                sink.write(b, off, len);
            }

            @Override
            public void close() {
                closed[0] = true;
            }
        };
        MessageCodec.encode(AgentMessage.heartbeatRequest(), out);
        assertFalse(closed[0]);
        assertEquals(MessageCodec.encode(AgentMessage.heartbeatRequest()), sink.toString(StandardCharsets.UTF_8));
    }

    /** Not representable in UTF-8: escaped (lossless JSON) rather than replaced by '?' as a String-to-UTF-8 step would. */
    @Test
    void loneSurrogateIsEscaped() throws Exception {
        AgentMessage odd = AgentMessage.of("agent:transmit:request").with("body", "x\uD800y");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MessageCodec.encode(odd, out);
        assertEquals("{\"type\":\"agent:transmit:request\",\"body\":\"x\\uD800y\"}", out.toString(StandardCharsets.US_ASCII));
        assertEquals(odd, MessageCodec.decode(out.toByteArray()));
    }

    @Test
    void bytesAndStreamDecodeLikeTheString() throws Exception {
        String json = MessageCodec.encode(SAMPLE);
        byte[] utf8 = json.getBytes(StandardCharsets.UTF_8);
        AgentMessage fromString = MessageCodec.decode(json);
        assertEquals(SAMPLE, fromString);
        assertEquals(fromString, MessageCodec.decode(utf8));
        byte[] padded = new byte[utf8.length + 7];
        System.arraycopy(utf8, 0, padded, 3, utf8.length);
        assertEquals(fromString, MessageCodec.decode(padded, 3, utf8.length));
        assertEquals(fromString, MessageCodec.decode(new ByteArrayInputStream(utf8)));
        assertEquals(List.copyOf(fromString.fields().keySet()),
                List.copyOf(MessageCodec.decode(utf8).fields().keySet()), "field order is kept");
    }

    @Test
    void decodeLeavesTheStreamOpen() throws Exception {
        boolean[] closed = {false};
        InputStream in = new ByteArrayInputStream("{\"type\":\"t\"}".getBytes(StandardCharsets.UTF_8)) {
            @Override
            public void close() {
                closed[0] = true;
            }
        };
        assertEquals("t", MessageCodec.decode(in).type());
        assertFalse(closed[0]);
    }

    @Test
    void malformedBytesAreReportedLikeMalformedText() {
        for (String bad : new String[] {"{not json", "null", "[1]"}) {
            MessageFormatException s = assertThrows(MessageFormatException.class, () -> MessageCodec.decode(bad));
            byte[] b = bad.getBytes(StandardCharsets.UTF_8);
            MessageFormatException fromBytes = assertThrows(MessageFormatException.class, () -> MessageCodec.decode(b));
            MessageFormatException fromStream = assertThrows(MessageFormatException.class,
                    () -> MessageCodec.decode(new ByteArrayInputStream(b)));
            assertTrue(s.getMessage().startsWith("Invalid JSON"), s.getMessage());
            assertEquals(s.getMessage(), fromBytes.getMessage(), bad);
            assertEquals(s.getMessage(), fromStream.getMessage(), bad);
        }
        MessageFormatException noType = assertThrows(MessageFormatException.class,
                () -> MessageCodec.decode("{\"callback\":\"c9\"}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("Missing message type", noType.getMessage());
        assertEquals("c9", noType.callback());
    }

    @Test
    void invalidUtf8IsAFormatError() {
        byte[] bad = {'{', '"', 't', 'y', 'p', 'e', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        MessageFormatException e = assertThrows(MessageFormatException.class, () -> MessageCodec.decode(bad));
        assertTrue(e.getMessage().startsWith("Invalid JSON"), e.getMessage());
    }
}
