package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * In-memory FHIR R4 store for Agent, Endpoint, Device and Binary. Stored nodes are never mutated after
 * insertion (updates replace them), so readers on the hot path may use {@link #peek} without copying.
 */
public final class FhirStore {
    public static final Set<String> JSON_TYPES = Set.of("Agent", "Endpoint", "Device");
    public static final String BINARY = "Binary";
    private static final int MAX_RESOURCES_PER_TYPE = 100_000;
    /** Search params whose values are compared exactly rather than FHIR-string (case-insensitive prefix). */
    private static final Set<String> EXACT_FIELDS = Set.of("url", "address", "status", "id");

    /** Raw Binary content. */
    public record BinaryContent(String id, String contentType, byte[] data, String versionId, String lastUpdated) {
        public ObjectNode toResource() {
            ObjectNode r = Json.object().put("resourceType", BINARY).put("id", id);
            r.putObject("meta").put("versionId", versionId).put("lastUpdated", lastUpdated);
            r.put("contentType", contentType);
            r.put("data", Base64.getEncoder().encodeToString(data));
            return r;
        }
    }

    private final Map<String, ConcurrentHashMap<String, ObjectNode>> resources = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, BinaryContent> binaries = new ConcurrentHashMap<>();
    private final AtomicLong binaryBytes = new AtomicLong();
    private final long maxBinaryBytes;
    private final AtomicLong versions = new AtomicLong();

    public FhirStore(long maxBinaryBytes) {
        this.maxBinaryBytes = maxBinaryBytes;
        for (String t : JSON_TYPES) {
            resources.put(t, new ConcurrentHashMap<>());
        }
    }

    public static boolean isSupported(String type) {
        return JSON_TYPES.contains(type) || BINARY.equals(type);
    }

    /** Returns the stored node itself; callers must treat it as read-only. */
    public ObjectNode peek(String type, String id) {
        ConcurrentHashMap<String, ObjectNode> m = resources.get(type);
        return m == null || id == null ? null : m.get(id);
    }

    public ObjectNode read(String type, String id) {
        if (BINARY.equals(type)) {
            BinaryContent b = binaries.get(id);
            if (b == null) {
                throw HubException.notFound();
            }
            return b.toResource();
        }
        ObjectNode r = peek(requireType(type), id);
        if (r == null) {
            throw HubException.notFound();
        }
        return r.deepCopy();
    }

    public BinaryContent readBinary(String id) {
        BinaryContent b = binaries.get(id);
        if (b == null) {
            throw HubException.notFound();
        }
        return b;
    }

    /** Creates (id null: a new UUID) or replaces a resource; returns the stored copy. */
    public ObjectNode put(String type, String id, JsonNode body) {
        requireType(type);
        if (body == null || !body.isObject()) {
            throw HubException.badRequest("Request body must be a FHIR " + type + " JSON object");
        }
        String rt = Json.text(body, "resourceType");
        if (!type.equals(rt)) {
            throw HubException.badRequest("Incorrect resource type: expected " + type + ", got " + rt);
        }
        String bodyId = Json.text(body, "id");
        if (id != null && bodyId != null && !id.equals(bodyId)) {
            throw HubException.badRequest("Incorrect ID: URL has " + id + ", body has " + bodyId);
        }
        ConcurrentHashMap<String, ObjectNode> m = resources.get(type);
        String finalId = id != null ? id : UUID.randomUUID().toString();
        if (!m.containsKey(finalId) && m.size() >= MAX_RESOURCES_PER_TYPE) {
            throw new HubException(400, "too-costly", "Resource limit reached: at most "
                    + MAX_RESOURCES_PER_TYPE + " " + type + " resources are kept in memory");
        }
        ObjectNode stored = ((ObjectNode) body).deepCopy();
        stored.put("id", finalId);
        stored.putObject("meta").put("versionId", Long.toString(versions.incrementAndGet()))
                .put("lastUpdated", Json.now());
        m.put(finalId, stored);
        return stored.deepCopy();
    }

    public BinaryContent putBinary(String id, String contentType, byte[] data) {
        String finalId = id != null ? id : UUID.randomUUID().toString();
        long len = data.length;
        if (binaryBytes.addAndGet(len) > maxBinaryBytes) {
            binaryBytes.addAndGet(-len);
            throw new HubException(400, "too-costly", "Binary storage full: the hub keeps at most "
                    + maxBinaryBytes + " bytes of Binary content in memory; delete some first");
        }
        BinaryContent b = new BinaryContent(finalId, contentType == null ? "application/octet-stream" : contentType,
                data, Long.toString(versions.incrementAndGet()), Json.now());
        BinaryContent old = binaries.put(finalId, b);
        if (old != null) {
            binaryBytes.addAndGet(-old.data().length);
        }
        return b;
    }

    public boolean exists(String type, String id) {
        return BINARY.equals(type) ? binaries.containsKey(id) : peek(requireType(type), id) != null;
    }

    public void delete(String type, String id) {
        if (BINARY.equals(type)) {
            BinaryContent old = binaries.remove(id);
            if (old == null) {
                throw HubException.notFound();
            }
            binaryBytes.addAndGet(-old.data().length);
            return;
        }
        if (resources.get(requireType(type)).remove(id) == null) {
            throw HubException.notFound();
        }
    }

    /**
     * Matches every parameter (AND); comma-separated values within one parameter are alternatives (OR).
     * Parameters starting with '_' other than _id are result controls and ignored here.
     */
    public List<ObjectNode> search(String type, Map<String, List<String>> params) {
        if (BINARY.equals(type)) {
            throw HubException.badRequest("Search is not supported for Binary");
        }
        List<ObjectNode> out = new ArrayList<>();
        for (ObjectNode r : resources.get(requireType(type)).values()) {
            if (matchesAll(r, params)) {
                out.add(r.deepCopy());
            }
        }
        out.sort(Comparator.comparing(r -> r.path("meta").path("lastUpdated").asText()));
        return out;
    }

    private static boolean matchesAll(ObjectNode r, Map<String, List<String>> params) {
        for (Map.Entry<String, List<String>> e : params.entrySet()) {
            String param = e.getKey();
            if (param.startsWith("_") && !param.equals("_id")) {
                continue;
            }
            for (String value : e.getValue()) {
                boolean any = false;
                for (String alt : value.split(",", -1)) {
                    if (matches(r, param, alt)) {
                        any = true;
                        break;
                    }
                }
                if (!any) {
                    return false;
                }
            }
        }
        return true;
    }

    static boolean matches(ObjectNode r, String param, String value) {
        boolean exact = false;
        int colon = param.indexOf(':');
        if (colon > 0) {
            exact = param.substring(colon + 1).equals("exact");
            param = param.substring(0, colon);
        }
        if (param.equals("_id")) {
            param = "id";
        }
        if (param.equals("identifier")) {
            return matchesIdentifier(r.get("identifier"), value);
        }
        JsonNode field = r.get(param);
        if (field == null && param.equals("model")) {
            // The FHIR R4 Device "model" search parameter targets Device.modelNumber.
            field = r.get("modelNumber");
        }
        if (field == null) {
            return false;
        }
        exact = exact || EXACT_FIELDS.contains(param);
        if (field.isArray()) {
            for (JsonNode item : field) {
                if (item.isValueNode() && matchesString(item.asText(), value, exact)) {
                    return true;
                }
            }
            return false;
        }
        return field.isValueNode() && matchesString(field.asText(), value, exact);
    }

    private static boolean matchesString(String actual, String wanted, boolean exact) {
        if (exact) {
            return actual.equals(wanted);
        }
        return actual.toLowerCase(Locale.ROOT).startsWith(wanted.toLowerCase(Locale.ROOT));
    }

    /** FHIR token semantics: {@code system|value}, {@code |value} (no system), {@code value}, {@code system|}. */
    private static boolean matchesIdentifier(JsonNode identifiers, String token) {
        if (identifiers == null) {
            return false;
        }
        ArrayNode list;
        if (identifiers.isArray()) {
            list = (ArrayNode) identifiers;
        } else {
            list = Json.array().add(identifiers);
        }
        int bar = token.indexOf('|');
        String system = bar < 0 ? null : token.substring(0, bar);
        String value = bar < 0 ? token : token.substring(bar + 1);
        for (JsonNode id : list) {
            String s = Json.text(id, "system");
            String v = Json.text(id, "value");
            boolean systemOk = system == null || (system.isEmpty() ? s == null : system.equals(s));
            boolean valueOk = value.isEmpty() && system != null ? true : value.equals(v);
            if (systemOk && valueOk) {
                return true;
            }
        }
        return false;
    }

    private String requireType(String type) {
        if (!JSON_TYPES.contains(type)) {
            throw HubException.badRequest("Unsupported resource type: " + type
                    + " (this hub stores Agent, Endpoint, Device and Binary)");
        }
        return type;
    }
}
