package dev.edgeagent.api.message;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One frame of the agent protocol: a JSON object with a {@code type}, an optional {@code callback} and
 * type-specific fields. Immutable; {@link #with(String, Object)} returns a modified copy. Values are
 * JSON-compatible Java objects (String, Number, Boolean, List, Map, null). Fields this class has no typed
 * accessor for (e.g. {@code stats}, {@code logs}) are kept and re-serialised unchanged, so the model never
 * loses data it does not understand.
 */
public final class AgentMessage {
    public static final String TYPE = "type";
    public static final String CALLBACK = "callback";
    public static final String ACCESS_TOKEN = "accessToken";
    public static final String AGENT_ID = "agentId";
    public static final String CHANNEL = "channel";
    public static final String REMOTE = "remote";
    public static final String CONTENT_TYPE = "contentType";
    public static final String BODY = "body";
    public static final String STATUS_CODE = "statusCode";
    public static final String VERSION = "version";
    public static final String RETURN_ACK = "returnAck";

    private final Map<String, Object> fields;

    private AgentMessage(Map<String, Object> fields) {
        this.fields = Collections.unmodifiableMap(fields);
    }

    /** A new message of the given type with no other field. */
    public static AgentMessage of(String type) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(TYPE, Objects.requireNonNull(type, "type"));
        return new AgentMessage(m);
    }

    /** Wraps decoded JSON fields (copied). */
    public static AgentMessage fromMap(Map<String, ?> fields) {
        return new AgentMessage(new LinkedHashMap<>(fields));
    }

    /** Wraps a map that the caller built and hands over: nobody else holds or changes it afterwards. */
    static AgentMessage adopt(Map<String, Object> fields) {
        return new AgentMessage(fields);
    }

    /** A copy with {@code key} set to {@code value}; a null value removes the key. */
    public AgentMessage with(String key, Object value) {
        Map<String, Object> m = new LinkedHashMap<>(fields);
        if (value == null) {
            m.remove(key);
        } else {
            m.put(key, value);
        }
        return new AgentMessage(m);
    }

    /** All fields, in insertion order (unmodifiable). */
    public Map<String, Object> fields() {
        return fields;
    }

    public Object get(String key) {
        return fields.get(key);
    }

    public boolean has(String key) {
        return fields.containsKey(key);
    }

    /** The field as a string, or null; numbers and booleans are rendered with {@code toString()}. */
    public String getString(String key) {
        Object v = fields.get(key);
        return v == null ? null : v instanceof String ? (String) v : v.toString();
    }

    /** The field as an Integer, or null when absent or not a whole number. */
    public Integer getInt(String key) {
        Object v = fields.get(key);
        if (v instanceof Number) {
            Number n = (Number) v;
            return n.doubleValue() == Math.rint(n.doubleValue()) ? n.intValue() : null;
        }
        if (v instanceof String) {
            try {
                return Integer.valueOf(((String) v).trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    /** The field as a Boolean: JSON true/false or the strings "true"/"false"; otherwise null. */
    public Boolean getBoolean(String key) {
        Object v = fields.get(key);
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        if (v instanceof String) {
            String s = ((String) v).trim();
            if (s.equalsIgnoreCase("true")) return Boolean.TRUE;
            if (s.equalsIgnoreCase("false")) return Boolean.FALSE;
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    public List<Object> getList(String key) {
        Object v = fields.get(key);
        return v instanceof List ? (List<Object>) v : null;
    }

    public String type() { return getString(TYPE); }
    public String callback() { return getString(CALLBACK); }
    public String accessToken() { return getString(ACCESS_TOKEN); }
    public String agentId() { return getString(AGENT_ID); }
    public String channel() { return getString(CHANNEL); }
    public String remote() { return getString(REMOTE); }
    public String contentType() { return getString(CONTENT_TYPE); }
    public String body() { return getString(BODY); }
    /** {@code statusCode}, or null when absent (absent means success, spec §2.4). */
    public Integer statusCode() { return getInt(STATUS_CODE); }
    public String version() { return getString(VERSION); }
    public String returnAck() { return getString(RETURN_ACK); }

    /** True when the message reports success: statusCode absent or below 400. */
    public boolean isSuccess() {
        Integer s = statusCode();
        return s == null || s < 400;
    }

    // ---- factories for the frames the agent produces ----

    public static AgentMessage error(String body, String callback) {
        return of(MessageTypes.ERROR).with(BODY, body).with(CALLBACK, callback);
    }

    public static AgentMessage heartbeatRequest() {
        return of(MessageTypes.HEARTBEAT_REQUEST);
    }

    public static AgentMessage heartbeatResponse(String version) {
        return of(MessageTypes.HEARTBEAT_RESPONSE).with(VERSION, version);
    }

    public static AgentMessage connectRequest(String accessToken, String agentId) {
        return of(MessageTypes.CONNECT_REQUEST).with(ACCESS_TOKEN, accessToken).with(AGENT_ID, agentId);
    }

    /** An inbound device message going to the server. The transport fills in the current access token. */
    public static AgentMessage transmitRequest(String channel, String remote, String contentType, String body, String callback) {
        // One map, no copies: this runs once per device message.
        Map<String, Object> m = new LinkedHashMap<>(16);
        m.put(TYPE, MessageTypes.TRANSMIT_REQUEST);
        m.put(ACCESS_TOKEN, "placeholder");
        putIfNotNull(m, CHANNEL, channel);
        putIfNotNull(m, REMOTE, remote);
        putIfNotNull(m, CONTENT_TYPE, contentType);
        putIfNotNull(m, BODY, body);
        putIfNotNull(m, CALLBACK, callback);
        return new AgentMessage(m);
    }

    /** A transmit response; {@code channel} is included only when non-null (pushes echo the request's channel). */
    public static AgentMessage transmitResponse(String channel, String remote, String contentType, int statusCode, String body, String callback) {
        Map<String, Object> m = new LinkedHashMap<>(16);
        m.put(TYPE, MessageTypes.TRANSMIT_RESPONSE);
        putIfNotNull(m, CHANNEL, channel);
        putIfNotNull(m, REMOTE, remote);
        putIfNotNull(m, CONTENT_TYPE, contentType);
        m.put(STATUS_CODE, statusCode);
        putIfNotNull(m, BODY, body);
        putIfNotNull(m, CALLBACK, callback);
        return new AgentMessage(m);
    }

    private static void putIfNotNull(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    /** A generic {@code {type, statusCode:200, callback}} response. */
    public static AgentMessage ok(String type, String callback) {
        return of(type).with(STATUS_CODE, 200).with(CALLBACK, callback);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AgentMessage && ((AgentMessage) o).fields.equals(fields);
    }

    @Override
    public int hashCode() {
        return fields.hashCode();
    }

    /** The JSON form with the access token masked, safe for logs. */
    @Override
    public String toString() {
        AgentMessage masked = has(ACCESS_TOKEN) ? with(ACCESS_TOKEN, "***") : this;
        return MessageCodec.encode(masked);
    }
}
