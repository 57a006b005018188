package dev.edgeagent.api.message;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * JSON encoding of {@link AgentMessage}: one JSON object per frame, UTF-8 text. Thread-safe: the mapper, reader
 * and writer are configured once and shared. The byte/stream methods produce and accept exactly the UTF-8 form of
 * what the String methods do; they exist so that the hot path never builds an intermediate String.
 */
public final class MessageCodec {
    /**
     * Non-BMP characters (emoji, rare CJK) as 4-byte UTF-8 in the byte forms, exactly as the String form encoded
     * to UTF-8; Jackson's default would escape them as a surrogate pair of backslash-u escapes instead.
     */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};
    /** Streams belong to the caller: never closed here. */
    private static final ObjectReader READER = MAPPER.readerFor(MAP).without(JsonParser.Feature.AUTO_CLOSE_SOURCE);
    private static final ObjectWriter WRITER = MAPPER.writer();

    private MessageCodec() {}

    public static String encode(AgentMessage message) {
        try {
            return WRITER.writeValueAsString(message.fields());
        } catch (JsonProcessingException e) {
            // Only JSON-compatible values are ever put into a message, so this is a programming error.
            throw notSerialisable(e);
        }
    }

    /** The UTF-8 bytes of {@link #encode(AgentMessage)}. */
    public static byte[] encodeToBytes(AgentMessage message) {
        try {
            return WRITER.writeValueAsBytes(message.fields());
        } catch (JsonProcessingException e) {
            throw notSerialisable(e);
        }
    }

    /**
     * Writes the UTF-8 bytes of {@link #encode(AgentMessage)} to {@code out} (flushed, not closed).
     *
     * @throws IOException when {@code out} fails, or when a string value cannot be encoded as UTF-8 (a lone
     *                     UTF-16 surrogate); what was written before the failure stays in {@code out}
     */
    public static void encode(AgentMessage message, OutputStream out) throws IOException {
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(out, JsonEncoding.UTF8)
                .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)) {
            WRITER.writeValue(g, message.fields());
        }
    }

    /**
     * Decodes one frame.
     *
     * @throws MessageFormatException when the text is not a JSON object or has no string {@code type}
     */
    public static AgentMessage decode(String json) throws MessageFormatException {
        Map<String, Object> fields;
        try {
            fields = READER.readValue(json);
        } catch (JsonProcessingException e) {
            throw invalid(e);
        }
        return toMessage(fields);
    }

    /** Decodes one frame from UTF-8 (or UTF-16/32 with the usual JSON detection) bytes. */
    public static AgentMessage decode(byte[] json, int offset, int length) throws MessageFormatException {
        Map<String, Object> fields;
        try {
            fields = READER.readValue(json, offset, length);
        } catch (IOException e) {
            throw invalid(e);
        }
        return toMessage(fields);
    }

    public static AgentMessage decode(byte[] json) throws MessageFormatException {
        return decode(json, 0, json.length);
    }

    /**
     * Decodes one frame read from {@code in}, which is left open. An I/O failure of the stream is reported as
     * {@link UncheckedIOException}, malformed content as {@link MessageFormatException}.
     */
    public static AgentMessage decode(InputStream in) throws MessageFormatException {
        Map<String, Object> fields;
        try {
            fields = READER.readValue(in);
        } catch (JsonProcessingException | java.io.CharConversionException e) {
            throw invalid(e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read a frame: " + e.getMessage(), e);
        }
        return toMessage(fields);
    }

    private static AgentMessage toMessage(Map<String, Object> fields) throws MessageFormatException {
        if (fields == null) {
            throw new MessageFormatException("Invalid JSON: not an object", null);
        }
        Object type = fields.get(AgentMessage.TYPE);
        Object cb = fields.get(AgentMessage.CALLBACK);
        if (!(type instanceof String)) {
            throw new MessageFormatException("Missing message type", cb instanceof String ? (String) cb : null);
        }
        return AgentMessage.fromMap(fields);
    }

    private static MessageFormatException invalid(IOException e) {
        String why = e instanceof JsonProcessingException ? ((JsonProcessingException) e).getOriginalMessage() : e.getMessage();
        return new MessageFormatException("Invalid JSON: " + why, null);
    }

    private static IllegalArgumentException notSerialisable(JsonProcessingException e) {
        return new IllegalArgumentException("Message is not JSON-serialisable: " + e.getOriginalMessage(), e);
    }

    /** Encodes any JSON-compatible value (used for stats and other nested objects). */
    public static String toJson(Object value) {
        try {
            return WRITER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    /** Decodes a JSON object into a map (used for FHIR resources read over REST). */
    public static Map<String, Object> parseObject(String json) throws MessageFormatException {
        try {
            Map<String, Object> m = READER.readValue(json);
            if (m == null) {
                throw new MessageFormatException("Invalid JSON: not an object", null);
            }
            return m;
        } catch (JsonProcessingException e) {
            throw invalid(e);
        }
    }
}
