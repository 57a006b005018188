package dev.edgeagent.api.message;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.io.SegmentedStringWriter;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * JSON encoding of {@link AgentMessage}: one JSON object per frame, UTF-8 text. Thread-safe. The byte/stream methods
 * produce and accept exactly the UTF-8 form of what the String methods do; they exist so that the hot path never
 * builds an intermediate String.
 *
 * <p>Built on Jackson's streaming core alone. Messages are plain trees (maps, lists, strings, numbers, booleans), so
 * the object-binding layer bought nothing but ~465 loaded classes (~2.5 MiB of metaspace in the agent) and a
 * deserialization context allocated per frame.
 *
 * <p>Decoding follows JSON.parse as the Medplum Agent uses it: objects become insertion-ordered maps (a repeated key
 * keeps its last value), arrays lists, integers Integer/Long/BigInteger by size, other numbers Double; anything after
 * the top-level object other than whitespace is an error.
 */
public final class MessageCodec {
    /**
     * Non-BMP characters (emoji, rare CJK) as 4-byte UTF-8 in the byte forms, exactly as the String form encoded
     * to UTF-8; Jackson's default would escape them as a surrogate pair of backslash-u escapes instead.
     * Streams belong to the caller: never closed here.
     */
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)
            .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
            .build();

    private MessageCodec() {}

    public static String encode(AgentMessage message) {
        return toJson(message.fields());
    }

    /** The UTF-8 bytes of {@link #encode(AgentMessage)}. */
    public static byte[] encodeToBytes(AgentMessage message) {
        return encodeToBytes(message, null, null);
    }

    /**
     * The UTF-8 bytes of {@code message.with(key, value)}, without building that copy: the field keeps its place if
     * the message has it, else comes last; a null value leaves it out. Used to put the current access token into
     * every frame sent.
     *
     * @since 1.1
     */
    public static byte[] encodeToBytes(AgentMessage message, String key, Object value) {
        BufferRecycler br = FACTORY._getBufferRecycler();
        try (ByteArrayBuilder bb = new ByteArrayBuilder(br)) {
            try (JsonGenerator g = FACTORY.createGenerator(bb, JsonEncoding.UTF8)) {
                if (key == null) {
                    writeValue(g, message.fields());
                } else {
                    writeWith(g, message.fields(), key, value);
                }
            }
            return bb.getClearAndRelease();
        } catch (IOException e) {
            // Only in-memory sinks: the one failure is a string that cannot be encoded, a programming error.
            throw notSerialisable(e);
        } finally {
            br.releaseToPool();
        }
    }

    /**
     * Writes the UTF-8 bytes of {@link #encode(AgentMessage)} to {@code out} (flushed, not closed).
     *
     * @throws IOException when {@code out} fails, or when a string value cannot be encoded as UTF-8 (a lone
     *                     UTF-16 surrogate); what was written before the failure stays in {@code out}
     */
    public static void encode(AgentMessage message, OutputStream out) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
            writeValue(g, message.fields());
        }
    }

    /**
     * Decodes one frame.
     *
     * @throws MessageFormatException when the text is not a JSON object or has no string {@code type}
     */
    public static AgentMessage decode(String json) throws MessageFormatException {
        try (JsonParser p = FACTORY.createParser(json)) {
            return toMessage(readObject(p));
        } catch (IOException e) {
            throw invalid(e);
        }
    }

    /** Decodes one frame from UTF-8 (or UTF-16/32 with the usual JSON detection) bytes. */
    public static AgentMessage decode(byte[] json, int offset, int length) throws MessageFormatException {
        try (JsonParser p = FACTORY.createParser(json, offset, length)) {
            return toMessage(readObject(p));
        } catch (IOException e) {
            throw invalid(e);
        }
    }

    public static AgentMessage decode(byte[] json) throws MessageFormatException {
        return decode(json, 0, json.length);
    }

    /**
     * Decodes one frame read from {@code in}, which is left open. An I/O failure of the stream is reported as
     * {@link UncheckedIOException}, malformed content as {@link MessageFormatException}.
     */
    public static AgentMessage decode(InputStream in) throws MessageFormatException {
        try (JsonParser p = FACTORY.createParser(in)) {
            return toMessage(readObject(p));
        } catch (JsonProcessingException | CharConversionException e) {
            throw invalid(e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read a frame: " + e.getMessage(), e);
        }
    }

    private static AgentMessage toMessage(Map<String, Object> fields) throws MessageFormatException {
        Object type = fields.get(AgentMessage.TYPE);
        Object cb = fields.get(AgentMessage.CALLBACK);
        if (!(type instanceof String)) {
            throw new MessageFormatException("Missing message type", cb instanceof String ? (String) cb : null);
        }
        // The map was built here and is not shared: no defensive copy.
        return AgentMessage.adopt(fields);
    }

    private static MessageFormatException invalid(IOException e) {
        return new MessageFormatException("Invalid JSON: " + reason(e), null);
    }

    private static IllegalArgumentException notSerialisable(IOException e) {
        return new IllegalArgumentException("Message is not JSON-serialisable: " + reason(e), e);
    }

    /** Jackson's message without the location suffix it appends. */
    private static String reason(IOException e) {
        return e instanceof JsonProcessingException ? ((JsonProcessingException) e).getOriginalMessage() : e.getMessage();
    }

    // ---------------------------------------------------------------- reading

    /** Reads one whole document that must be an object. */
    private static Map<String, Object> readObject(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t == null) {
            throw new JsonParseException(p, "no content (empty frame)");
        }
        if (t != JsonToken.START_OBJECT) {
            throw new JsonParseException(p, "not an object (the frame starts with " + describe(t) + ")");
        }
        Map<String, Object> m = readFields(p);
        JsonToken extra = p.nextToken();
        if (extra != null) {
            throw new JsonParseException(p, "unexpected " + describe(extra) + " after the end of the object");
        }
        return m;
    }

    /** Reads the fields of an object whose START_OBJECT has been consumed, through its END_OBJECT. */
    private static Map<String, Object> readFields(JsonParser p) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        String key;
        while ((key = p.nextFieldName()) != null) {
            m.put(key, readValue(p, p.nextToken()));
        }
        return m;
    }

    private static Object readValue(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                // Integer, Long or BigInteger: the smallest that holds it.
                return p.getNumberValue();
            case VALUE_NUMBER_FLOAT:
                return p.getDoubleValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            case START_OBJECT:
                return readFields(p);
            case START_ARRAY: {
                List<Object> l = new ArrayList<>();
                JsonToken e;
                while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
                    l.add(readValue(p, e));
                }
                return l;
            }
            default:
                throw new JsonParseException(p, "unexpected " + describe(t));
        }
    }

    private static String describe(JsonToken t) {
        switch (t) {
            case START_ARRAY: return "an array";
            case VALUE_STRING: return "a string";
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT: return "a number";
            case VALUE_TRUE:
            case VALUE_FALSE: return "a boolean";
            case VALUE_NULL: return "null";
            case START_OBJECT: return "an object";
            default: return t.asString() == null ? t.name() : "'" + t.asString() + "'";
        }
    }

    // ---------------------------------------------------------------- writing

    private static void writeValue(JsonGenerator g, Object v) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String) {
            g.writeString((String) v);
        } else if (v instanceof Map) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (e.getKey() == null) {
                    throw new JsonFormatForWrite("a map has a null key");
                }
                g.writeFieldName(e.getKey().toString());
                writeValue(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof Iterable) {
            g.writeStartArray();
            for (Object o : (Iterable<?>) v) {
                writeValue(g, o);
            }
            g.writeEndArray();
        } else if (v instanceof Number) {
            writeNumber(g, (Number) v);
        } else if (v instanceof Boolean) {
            g.writeBoolean((Boolean) v);
        } else if (v instanceof CharSequence || v instanceof Character) {
            g.writeString(v.toString());
        } else if (v instanceof Enum) {
            g.writeString(((Enum<?>) v).name());
        } else if (v instanceof Object[]) {
            g.writeStartArray();
            for (Object o : (Object[]) v) {
                writeValue(g, o);
            }
            g.writeEndArray();
        } else if (v instanceof int[]) {
            int[] a = (int[]) v;
            g.writeArray(a, 0, a.length);
        } else if (v instanceof long[]) {
            long[] a = (long[]) v;
            g.writeArray(a, 0, a.length);
        } else if (v instanceof double[]) {
            double[] a = (double[]) v;
            g.writeArray(a, 0, a.length);
        } else {
            throw new JsonFormatForWrite("no JSON form for a value of type " + v.getClass().getName());
        }
    }

    private static void writeWith(JsonGenerator g, Map<String, Object> fields, String key, Object value) throws IOException {
        g.writeStartObject();
        boolean seen = false;
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            if (key.equals(e.getKey())) {
                seen = true;
                if (value != null) {
                    g.writeFieldName(key);
                    writeValue(g, value);
                }
            } else {
                g.writeFieldName(e.getKey());
                writeValue(g, e.getValue());
            }
        }
        if (!seen && value != null) {
            g.writeFieldName(key);
            writeValue(g, value);
        }
        g.writeEndObject();
    }

    private static void writeNumber(JsonGenerator g, Number n) throws IOException {
        if (n instanceof Integer || n instanceof Short || n instanceof Byte || n instanceof AtomicInteger) {
            g.writeNumber(n.intValue());
        } else if (n instanceof Long || n instanceof AtomicLong) {
            g.writeNumber(n.longValue());
        } else if (n instanceof Double) {
            g.writeNumber(n.doubleValue());
        } else if (n instanceof Float) {
            g.writeNumber(n.floatValue());
        } else if (n instanceof BigInteger) {
            g.writeNumber((BigInteger) n);
        } else if (n instanceof BigDecimal) {
            g.writeNumber((BigDecimal) n);
        } else {
            g.writeNumber(n.doubleValue());
        }
    }

    /** A value with no JSON form: a programming error, reported as IllegalArgumentException by the callers. */
    private static final class JsonFormatForWrite extends JsonProcessingException {
        private static final long serialVersionUID = 1L;

        JsonFormatForWrite(String msg) {
            super(msg);
        }
    }

    /** Encodes any JSON-compatible value (used for stats and other nested objects). */
    public static String toJson(Object value) {
        BufferRecycler br = FACTORY._getBufferRecycler();
        try (SegmentedStringWriter w = new SegmentedStringWriter(br)) {
            try (JsonGenerator g = FACTORY.createGenerator(w)) {
                writeValue(g, value);
            }
            return w.getAndClear();
        } catch (IOException e) {
            throw notSerialisable(e);
        } finally {
            br.releaseToPool();
        }
    }

    /** Decodes a JSON object into a map (used for FHIR resources read over REST). */
    public static Map<String, Object> parseObject(String json) throws MessageFormatException {
        try (JsonParser p = FACTORY.createParser(json)) {
            return readObject(p);
        } catch (IOException e) {
            throw invalid(e);
        }
    }
}
