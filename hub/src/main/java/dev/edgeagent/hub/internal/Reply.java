package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** A complete HTTP answer, built off the Jetty thread and written in one go. */
public record Reply(int status, String contentType, byte[] body, Map<String, String> headers) {
    public static final String FHIR_JSON = "application/fhir+json;charset=UTF-8";

    public static Reply fhir(int status, JsonNode node) {
        return new Reply(status, FHIR_JSON, Json.write(node).getBytes(StandardCharsets.UTF_8), Map.of());
    }

    public static Reply json(int status, JsonNode node) {
        return new Reply(status, "application/json;charset=UTF-8",
                Json.write(node).getBytes(StandardCharsets.UTF_8), Map.of());
    }

    public static Reply text(int status, String contentType, String body) {
        return new Reply(status, contentType, body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8),
                Map.of());
    }

    public static Reply error(HubException e) {
        return fhir(e.status(), Json.error(e.code(), e.getMessage()));
    }

    public Reply withHeaders(Map<String, String> extra) {
        return new Reply(status, contentType, body, extra);
    }
}
