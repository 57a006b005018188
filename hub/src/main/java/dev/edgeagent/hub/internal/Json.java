package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Shared Jackson mapper and FHIR OperationOutcome builders (texts follow Medplum's outcomes). */
public final class Json {
    /** Non-BMP characters as 4-byte UTF-8 in byte output (Jackson would otherwise escape them as surrogate pairs). */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();
    /** Shared, immutable: avoids the per-call reader/writer setup of the mapper on the frame hot path. */
    public static final ObjectReader READER = MAPPER.reader();
    public static final ObjectWriter WRITER = MAPPER.writer();
    public static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private Json() {
    }

    /** FHIR instant with millisecond precision, like Medplum's. */
    public static String now() {
        return java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString();
    }

    public static ObjectNode object() {
        return NODES.objectNode();
    }

    public static ArrayNode array() {
        return NODES.arrayNode();
    }

    public static String write(JsonNode node) {
        try {
            return WRITER.writeValueAsString(node);
        } catch (Exception e) {
            // Trees built from parsed input or our own nodes always serialise; keep callers free of checked noise.
            throw new IllegalStateException("Cannot serialise JSON", e);
        }
    }

    /** The UTF-8 bytes of {@link #write(JsonNode)}, without the intermediate String. */
    public static byte[] writeBytes(JsonNode node) {
        try {
            return WRITER.writeValueAsBytes(node);
        } catch (Exception e) {
            throw new IllegalStateException("Cannot serialise JSON", e);
        }
    }

    /** Returns the text of a field, or null when it is absent, null or not a scalar. */
    public static String text(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || v.isNull() || v.isContainerNode()) {
            return null;
        }
        return v.asText();
    }

    public static ObjectNode outcome(String severity, String code, String text, String id) {
        ObjectNode oo = object().put("resourceType", "OperationOutcome");
        if (id != null) {
            oo.put("id", id);
        }
        ObjectNode issue = oo.putArray("issue").addObject();
        issue.put("severity", severity).put("code", code);
        issue.putObject("details").put("text", text);
        return oo;
    }

    public static ObjectNode allOk() {
        return outcome("information", "informational", "All OK", "allok");
    }

    public static ObjectNode accepted(String contentLocation) {
        ObjectNode oo = outcome("information", "informational", "Accepted", "accepted");
        ((ObjectNode) oo.get("issue").get(0)).put("diagnostics", contentLocation);
        return oo;
    }

    public static ObjectNode error(String code, String text) {
        return outcome("error", code, text, null);
    }
}
