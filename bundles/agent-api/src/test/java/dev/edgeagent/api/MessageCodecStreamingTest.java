package dev.edgeagent.api;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageFormatException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The codec writes and reads JSON with Jackson's streaming core; the object mapper it replaced is the reference here,
 * so the wire form cannot drift: same bytes out, same trees in.
 */
class MessageCodecStreamingTest {
    private static final ObjectMapper REFERENCE = JsonMapper.builder()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};

    private enum Level { INFO }

    @Test
    void encodingIsByteIdenticalToTheObjectMapper() throws Exception {
        Random rnd = new Random(42);
        for (int i = 0; i < 500; i++) {
            Map<String, Object> tree = randomObject(rnd, 0);
            tree.put("type", "agent:transmit:request");
            AgentMessage m = MessageCodec.decode(REFERENCE.writeValueAsString(tree));
            assertEquals(REFERENCE.writeValueAsString(m.fields()), MessageCodec.encode(m), "tree " + i);
            assertArrayEquals(REFERENCE.writeValueAsBytes(m.fields()), MessageCodec.encodeToBytes(m), "tree " + i);
            assertEquals(REFERENCE.writeValueAsString(tree), MessageCodec.toJson(tree), "tree " + i);
        }
    }

    @Test
    void decodingGivesTheObjectMappersTree() throws Exception {
        Random rnd = new Random(7);
        for (int i = 0; i < 500; i++) {
            Map<String, Object> tree = randomObject(rnd, 0);
            tree.put("type", "t");
            byte[] json = REFERENCE.writeValueAsBytes(tree);
            Map<String, Object> expected = REFERENCE.readValue(json, MAP);
            assertEquals(expected, MessageCodec.decode(json).fields(), "tree " + i);
            assertEquals(expected, MessageCodec.parseObject(new String(json, StandardCharsets.UTF_8)), "tree " + i);
        }
    }

    @Test
    void numbersTakeTheSmallestTypeThatHoldsThem() throws Exception {
        AgentMessage m = MessageCodec.decode("{\"type\":\"t\",\"i\":7,\"l\":12345678901,\"b\":123456789012345678901234567890,"
                + "\"d\":1.5,\"e\":1e3,\"n\":null,\"t\":true,\"a\":[],\"o\":{}}");
        Map<String, Object> f = m.fields();
        assertEquals(Integer.valueOf(7), f.get("i"));
        assertEquals(Long.valueOf(12345678901L), f.get("l"));
        assertEquals(new BigInteger("123456789012345678901234567890"), f.get("b"));
        assertEquals(Double.valueOf(1.5), f.get("d"));
        assertEquals(Double.valueOf(1000), f.get("e"));
        assertTrue(f.containsKey("n"));
        assertNull(f.get("n"));
        assertEquals(Boolean.TRUE, f.get("t"));
        assertEquals(List.of(), f.get("a"));
        assertEquals(Map.of(), f.get("o"));
    }

    @Test
    void aRepeatedKeyKeepsItsLastValue() throws Exception {
        assertEquals("b", MessageCodec.decode("{\"type\":\"t\",\"x\":\"a\",\"x\":\"b\"}").fields().get("x"));
    }

    /** JSON.parse, which the Medplum Agent uses, refuses these too; the object mapper silently ignored the rest. */
    @Test
    void contentAfterTheObjectIsRefused() {
        for (String bad : new String[] {"{\"type\":\"t\"}x", "{\"type\":\"t\"}{\"type\":\"u\"}", "{\"type\":\"t\"} 1"}) {
            MessageFormatException s = assertThrows(MessageFormatException.class, () -> MessageCodec.decode(bad), bad);
            assertTrue(s.getMessage().startsWith("Invalid JSON"), s.getMessage());
            byte[] b = bad.getBytes(StandardCharsets.UTF_8);
            assertEquals(s.getMessage(), assertThrows(MessageFormatException.class, () -> MessageCodec.decode(b)).getMessage());
        }
        assertDoesNotThrow(() -> MessageCodec.decode("  {\"type\":\"t\"}\r\n "));
    }

    @Test
    void errorsSayWhatTheFrameWas() {
        assertEquals("Invalid JSON: no content (empty frame)",
                assertThrows(MessageFormatException.class, () -> MessageCodec.decode("  ")).getMessage());
        assertTrue(assertThrows(MessageFormatException.class, () -> MessageCodec.decode("[1]")).getMessage()
                .startsWith("Invalid JSON: not an object (the frame starts with an array)"));
        assertTrue(assertThrows(MessageFormatException.class, () -> MessageCodec.decode("null")).getMessage()
                .startsWith("Invalid JSON: not an object (the frame starts with null)"));
        assertTrue(assertThrows(MessageFormatException.class, () -> MessageCodec.parseObject("\"s\"")).getMessage()
                .startsWith("Invalid JSON: not an object (the frame starts with a string)"));
    }

    @Test
    void deepNestingIsBoundedByTheParsersLimit() {
        String deep = "{\"type\":\"t\",\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}";
        MessageFormatException e = assertThrows(MessageFormatException.class, () -> MessageCodec.decode(deep));
        assertTrue(e.getMessage().contains("nesting depth"), e.getMessage());
    }

    @Test
    void valuesOfOtherJavaTypesAreWrittenLikeTheObjectMapperDid() throws Exception {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("enum", Level.INFO);
        v.put("chars", new StringBuilder("sb"));
        v.put("char", 'c');
        v.put("float", 1.25f);
        v.put("short", (short) 3);
        v.put("decimal", new BigDecimal("1.10"));
        v.put("ints", new int[] {1, 2});
        v.put("longs", new long[] {3L});
        v.put("doubles", new double[] {0.5});
        v.put("objects", new Object[] {"a", 1});
        assertEquals(REFERENCE.writeValueAsString(v), MessageCodec.toJson(v));
    }

    @Test
    void aValueWithNoJsonFormIsAProgrammingError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MessageCodec.encode(AgentMessage.of("t").with("x", new Object())));
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
        Map<String, Object> nullKey = new java.util.HashMap<>();
        nullKey.put(null, 1);
        assertThrows(IllegalArgumentException.class, () -> MessageCodec.toJson(nullKey));
    }

    private static Map<String, Object> randomObject(Random rnd, int depth) {
        Map<String, Object> m = new LinkedHashMap<>();
        int n = rnd.nextInt(6);
        for (int i = 0; i < n; i++) {
            m.put(randomString(rnd), randomValue(rnd, depth + 1));
        }
        return m;
    }

    private static Object randomValue(Random rnd, int depth) {
        switch (rnd.nextInt(depth > 3 ? 6 : 8)) {
            case 0: return randomString(rnd);
            case 1: return rnd.nextInt();
            case 2: return rnd.nextLong();
            case 3: return rnd.nextDouble() * Math.pow(10, rnd.nextInt(40) - 20);
            case 4: return rnd.nextBoolean();
            case 5: return null;
            case 6: return randomObject(rnd, depth);
            default: {
                List<Object> l = new ArrayList<>();
                int n = rnd.nextInt(5);
                for (int i = 0; i < n; i++) {
                    l.add(randomValue(rnd, depth + 1));
                }
                return l;
            }
        }
    }

    private static final String[] PIECES = {"a", "MSH|^~\\&|", "\r", "\n", "\t", "\"", "\\", "é", "Ω", "東京", "😀",
            "\u0001", "\u001f", "\u2028", "/", "<", " ", "0"};

    private static String randomString(Random rnd) {
        StringBuilder b = new StringBuilder();
        int n = rnd.nextInt(8);
        for (int i = 0; i < n; i++) {
            b.append(PIECES[rnd.nextInt(PIECES.length)]);
        }
        return b.toString();
    }

    @Test
    void encodingWithAFieldEqualsEncodingTheCopy() {
        AgentMessage m = AgentMessage.transmitRequest("ch", "mllp://x:1", "text/plain", "body", "cb");
        for (Object v : new Object[] {"tok", null, 5}) {
            for (String key : new String[] {"accessToken", "type", "callback", "absent"}) {
                assertArrayEquals(MessageCodec.encodeToBytes(m.with(key, v)), MessageCodec.encodeToBytes(m, key, v),
                        key + "=" + v);
            }
        }
        assertArrayEquals(MessageCodec.encodeToBytes(m), MessageCodec.encodeToBytes(m, null, null));
    }

    @Test
    void randomCorpusCoversTheEscapes() {
        String all = String.join("", Arrays.asList(PIECES));
        AgentMessage m = AgentMessage.of("t").with("s", all);
        assertDoesNotThrow(() -> assertEquals(m, MessageCodec.decode(MessageCodec.encodeToBytes(m))));
    }
}
