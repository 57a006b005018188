package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/** Loads the seed document: {@code {"clients":[{clientId, clientSecret}], "resources":[...]}}. */
public final class Seed {
    private final Map<String, String> clients;
    private final JsonNode resources;

    private Seed(Map<String, String> clients, JsonNode resources) {
        this.clients = clients;
        this.resources = resources;
    }

    public static Seed parse(String json, String source) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("Seed " + source + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("Seed " + source + " must be a JSON object with clients and resources");
        }
        Map<String, String> clients = new LinkedHashMap<>();
        int i = 0;
        for (JsonNode c : root.path("clients")) {
            String id = Json.text(c, "clientId");
            String secret = Json.text(c, "clientSecret");
            if (id == null || secret == null) {
                throw new IllegalArgumentException("Seed " + source + ": clients[" + i
                        + "] needs both clientId and clientSecret");
            }
            clients.put(id, secret);
            i++;
        }
        return new Seed(clients, root.path("resources"));
    }

    public Map<String, String> clients() {
        return clients;
    }

    public int loadInto(FhirStore store, String source) {
        int n = 0;
        for (JsonNode r : resources) {
            String type = Json.text(r, "resourceType");
            String id = Json.text(r, "id");
            try {
                if (FhirStore.BINARY.equals(type)) {
                    String data = Json.text(r, "data");
                    store.putBinary(id, Json.text(r, "contentType"),
                            data == null ? new byte[0] : Base64.getDecoder().decode(data));
                } else {
                    store.put(type, id, r);
                }
            } catch (HubException | IllegalArgumentException e) {
                throw new IllegalArgumentException("Seed " + source + ": resources[" + n + "] (" + type + "/" + id
                        + "): " + e.getMessage(), e);
            }
            n++;
        }
        return n;
    }
}
