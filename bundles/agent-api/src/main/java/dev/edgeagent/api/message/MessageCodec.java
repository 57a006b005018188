package dev.edgeagent.api.message;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;

/** JSON encoding of {@link AgentMessage}: one JSON object per frame, UTF-8 text. */
public final class MessageCodec {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};

    private MessageCodec() {}

    public static String encode(AgentMessage message) {
        try {
            return MAPPER.writeValueAsString(message.fields());
        } catch (JsonProcessingException e) {
            // Only JSON-compatible values are ever put into a message, so this is a programming error.
            throw new IllegalArgumentException("Message is not JSON-serialisable: " + e.getOriginalMessage(), e);
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
            fields = MAPPER.readValue(json, MAP);
        } catch (JsonProcessingException e) {
            throw new MessageFormatException("Invalid JSON: " + e.getOriginalMessage(), null);
        }
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

    /** Encodes any JSON-compatible value (used for stats and other nested objects). */
    public static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    /** Decodes a JSON object into a map (used for FHIR resources read over REST). */
    public static Map<String, Object> parseObject(String json) throws MessageFormatException {
        try {
            Map<String, Object> m = MAPPER.readValue(json, MAP);
            if (m == null) {
                throw new MessageFormatException("Invalid JSON: not an object", null);
            }
            return m;
        } catch (JsonProcessingException e) {
            throw new MessageFormatException("Invalid JSON: " + e.getOriginalMessage(), null);
        }
    }
}
