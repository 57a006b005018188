package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.Frame;
import org.eclipse.jetty.websocket.core.OpCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent WebSocket (/ws/agent), mirroring the reference server's handler (spec §2.7). Jetty delivers
 * frames of one session serially; sends may come from any thread. No frame may escape as an exception:
 * a bad frame costs that frame only, never the socket.
 */
public final class AgentSocket implements Session.Listener.AutoDemanding {
    private static final Logger LOG = LoggerFactory.getLogger(AgentSocket.class);
    private static final String HL7 = "x-application/hl7-v2+er7";
    private static final String RECEIVED_JSON = "{\"received\":true}";

    private final AgentHub hub;
    private volatile Session session;
    /** Jetty's session core, to send text frames from UTF-8 bytes (no String); null if Jetty hands us another Session. */
    private volatile CoreSession core;
    private volatile String remote = "?";
    private volatile String agentId;
    private volatile ScheduledFuture<?> heartbeats;
    /** System.nanoTime() at which a test-induced silence ends; 0 = not silenced (see {@link #silence}). */
    private volatile long silentUntilNanos;
    private final AtomicLong silencedOut = new AtomicLong();
    private final AtomicLong silencedIn = new AtomicLong();

    AgentSocket(AgentHub hub) {
        this.hub = hub;
    }

    String remote() {
        return remote;
    }

    String agentId() {
        return agentId;
    }

    /**
     * Simulates a hung server on this socket only (test/ops control): for {@code seconds} nothing is sent (no
     * heartbeats, replies, pongs) and every received frame is ignored, while TCP stays open. 0 ends it.
     */
    void silence(long seconds) {
        if (seconds <= 0) {
            boolean was = silenced();
            silentUntilNanos = 0;
            if (was) {
                LOG.info("Agent socket {} ({}): silence ended early ({} frames not sent, {} received frames ignored)",
                        agentLabel(), remote, silencedOut.get(), silencedIn.get());
            }
            return;
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        silentUntilNanos = until == 0 ? 1 : until;
        LOG.info("Agent socket {} ({}): silenced for {} s: the hub neither sends on nor reads from this socket",
                agentLabel(), remote, seconds);
    }

    boolean silenced() {
        long until = silentUntilNanos;
        return until != 0 && System.nanoTime() - until < 0;
    }

    /** True (and counted) when a received frame must be ignored because the socket is silenced. */
    private boolean ignoreInbound() {
        if (!silenced()) {
            return false;
        }
        silencedIn.incrementAndGet();
        LOG.debug("Agent socket {} ({}): silenced, received frame ignored", agentLabel(), remote);
        return true;
    }

    @Override
    public void onWebSocketOpen(Session s) {
        this.session = s;
        this.core = s instanceof WebSocketSession ws ? ws.getCoreSession() : null;
        this.remote = String.valueOf(s.getRemoteSocketAddress());
        LOG.debug("WebSocket opened from {}", remote);
    }

    @Override
    public void onWebSocketText(String text) {
        if (ignoreInbound()) {
            return;
        }
        JsonNode parsed;
        try {
            parsed = Json.READER.readTree(text);
        } catch (Exception e) {
            unparsable(e);
            return;
        }
        onParsed(parsed);
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        if (ignoreInbound()) {
            callback.succeed();
            return;
        }
        // The agent protocol allows binary frames carrying UTF-8 JSON: parsed from the bytes; only a frame that fails
        // is read again as text, so invalid UTF-8 is still read with replacement characters as before.
        JsonNode parsed = null;
        try {
            if (payload.hasArray()) {
                parsed = Json.READER.readTree(payload.array(), payload.arrayOffset() + payload.position(), payload.remaining());
            }
        } catch (Exception e) {
            parsed = null;
        }
        if (parsed == null) {
            String text = StandardCharsets.UTF_8.decode(payload).toString();
            callback.succeed();
            onWebSocketText(text);
            return;
        }
        callback.succeed();
        onParsed(parsed);
    }

    /** Declared so that Jetty does not answer pings by itself: a silenced socket must not even pong. */
    @Override
    public void onWebSocketPing(ByteBuffer payload) {
        Session s = session;
        if (ignoreInbound() || s == null || !s.isOpen()) {
            return;
        }
        s.sendPong(payload, Callback.from(() -> { }, e -> LOG.debug("Pong to {} failed: {}", agentLabel(), e.toString())));
    }

    private void onParsed(JsonNode parsed) {
        try {
            handle(parsed);
        } catch (RuntimeException e) {
            LOG.warn("Agent socket {} ({}): failed to handle a frame: {}", agentLabel(), remote, e.toString(), e);
            sendError("Internal error while handling message: " + e.getMessage());
        }
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
        ScheduledFuture<?> hb = heartbeats;
        if (hb != null) {
            hb.cancel(false);
        }
        hub.forgetSilenced(this);
        if (silentUntilNanos != 0) {
            LOG.info("Agent socket {} ({}) closed while silenced or after a silence ({} frames not sent, {} received"
                    + " frames ignored)", agentLabel(), remote, silencedOut.get(), silencedIn.get());
        }
        String id = agentId;
        if (id != null) {
            hub.closed(id, this, statusCode, reason);
        }
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        LOG.warn("Agent socket {} ({}) error: {}", agentLabel(), remote, cause.toString());
    }

    private String agentLabel() {
        String id = agentId;
        return id == null ? "(not connected)" : "Agent/" + id;
    }

    private void unparsable(Exception e) {
        String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
        LOG.warn("Agent socket {} ({}): unparsable frame: {}", agentLabel(), remote, msg);
        sendError("Invalid message: not valid JSON (" + msg + ")");
    }

    private void handle(JsonNode parsed) {
        if (!(parsed instanceof ObjectNode msg)) {
            sendError("Invalid message: expected a JSON object");
            return;
        }
        String type = Json.text(msg, "type");
        switch (type == null ? "" : type) {
            case "agent:connect:request", "connect" -> connect(msg);
            case "agent:heartbeat:request" -> send(Json.object().put("type", "agent:heartbeat:response")
                    .put("version", hub.version));
            case "agent:heartbeat:response" -> {
                String id = agentId;
                if (id != null) {
                    hub.heartbeat(id, Json.text(msg, "version"));
                }
            }
            case "agent:transmit:request", "transmit" -> transmit(msg);
            case "agent:transmit:response", "agent:reloadconfig:response", "agent:upgrade:response",
                    "agent:logs:response", "agent:stats:response" -> response(type, msg);
            case "agent:error" -> agentError(msg);
            default -> {
                LOG.warn("Agent socket {} ({}): unknown message type: {}", agentLabel(), remote, type);
                sendError("Unknown message type: " + (type == null ? "undefined" : type));
            }
        }
    }

    private void connect(ObjectNode msg) {
        String token = Json.text(msg, "accessToken");
        String id = Json.text(msg, "agentId");
        if (token == null || token.isEmpty()) {
            sendError("Missing access token");
            return;
        }
        if (id == null || id.isEmpty()) {
            sendError("Missing agent ID");
            return;
        }
        TokenService.Validation v = hub.tokens.validate(token);
        if (!v.valid()) {
            LOG.warn("Agent {} ({}): connect refused: invalid access token ({})", id, remote, v.reason());
            sendError("Invalid access token");
            return;
        }
        if (hub.store.peek("Agent", id) == null) {
            LOG.warn("Agent {} ({}): connect refused: no Agent resource with that id", id, remote);
            sendError("Agent not found: Agent/" + id + " does not exist on this hub");
            return;
        }
        String previous = agentId;
        if (previous != null && !previous.equals(id)) {
            hub.closed(previous, this, 1000, "socket re-used for Agent/" + id);
        }
        agentId = id;
        hub.connected(id, this);
        send(Json.object().put("type", "agent:connect:response"));
        if (heartbeats == null && hub.heartbeatMs > 0) {
            heartbeats = hub.scheduler.scheduleAtFixedRate(this::sendHeartbeat, hub.heartbeatMs, hub.heartbeatMs,
                    TimeUnit.MILLISECONDS);
        }
    }

    private void sendHeartbeat() {
        try {
            send(Json.object().put("type", "agent:heartbeat:request"));
        } catch (RuntimeException e) {
            LOG.debug("Heartbeat to {} failed: {}", agentLabel(), e.toString());
        }
    }

    private void transmit(ObjectNode msg) {
        String id = agentId;
        String error = null;
        if (id == null) {
            error = "Not connected";
        } else if (isBlank(Json.text(msg, "accessToken"))) {
            error = "Missing access token";
        } else if (isBlank(Json.text(msg, "channel"))) {
            error = "Missing channel";
        } else if (Json.text(msg, "body") == null) {
            error = "Missing body";
        } else if (!hub.tokens.validate(Json.text(msg, "accessToken")).valid()) {
            error = "Invalid access token";
        } else if (!hasChannel(hub.store.peek("Agent", id), Json.text(msg, "channel"))) {
            error = "Channel not found";
        }
        if (error != null) {
            LOG.warn("Agent socket {} ({}): transmit request refused: {} (channel {}, callback {})", agentLabel(),
                    remote, error, Json.text(msg, "channel"), Json.text(msg, "callback"));
            sendError(error);
            return;
        }
        String channel = Json.text(msg, "channel");
        String contentType = Json.text(msg, "contentType");
        String body = Json.text(msg, "body");
        ObjectNode reply = Json.object().put("type", "agent:transmit:response")
                .put("channel", channel);
        copy(msg, reply, "remote");
        if (contentType != null && contentType.startsWith(HL7)) {
            try {
                String ack = Hl7Ack.build(body, System.currentTimeMillis());
                reply.put("contentType", contentType).put("statusCode", 200).put("body", ack);
            } catch (Hl7Ack.InvalidHl7Exception e) {
                LOG.warn("Agent/{} channel {}: {} (callback {})", id, channel, e.getMessage(),
                        Json.text(msg, "callback"));
                reply.put("contentType", "application/json").put("statusCode", 400)
                        .put("body", Json.write(Json.NODES.textNode(e.getMessage())));
            }
        } else {
            reply.put("contentType", "application/json").put("statusCode", 200).put("body", RECEIVED_JSON);
        }
        copy(msg, reply, "callback");
        hub.ring.add(id, msg);
        send(reply);
    }

    private void response(String type, ObjectNode msg) {
        String callback = Json.text(msg, "callback");
        if (callback == null) {
            LOG.warn("Agent socket {} ({}): {} without callback ignored", agentLabel(), remote, type);
            return;
        }
        if (!hub.complete(callback, msg)) {
            LOG.debug("Agent socket {}: {} for callback {} arrived after its request ended", agentLabel(), type,
                    callback);
        }
    }

    private void agentError(ObjectNode msg) {
        String callback = Json.text(msg, "callback");
        LOG.warn("[Agent]: Error received from agent {} ({}): {}{}", agentLabel(), remote, Json.text(msg, "body"),
                callback == null ? "" : " (callback " + callback + ")");
        if (callback != null) {
            hub.complete(callback, msg);
        }
    }

    private static boolean hasChannel(ObjectNode agent, String name) {
        if (agent == null) {
            return false;
        }
        for (JsonNode c : agent.path("channel")) {
            if (name.equals(Json.text(c, "name"))) {
                return true;
            }
        }
        return false;
    }

    private static void copy(ObjectNode from, ObjectNode to, String field) {
        JsonNode v = from.get(field);
        if (v != null) {
            to.set(field, v);
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isEmpty();
    }

    /** Server-generated errors carry no callback (spec Q29). */
    private void sendError(String body) {
        send(Json.object().put("type", "agent:error").put("body", body));
    }

    void send(ObjectNode message) {
        if (silenced()) {
            silencedOut.incrementAndGet();
            LOG.debug("Agent socket {} ({}): silenced, {} not sent", agentLabel(), remote, Json.text(message, "type"));
            return;
        }
        Session s = session;
        if (s == null || !s.isOpen()) {
            String type = Json.text(message, "type");
            if ("agent:heartbeat:request".equals(type)) {
                LOG.debug("Heartbeat for {} not sent: socket closed", agentLabel());
            } else {
                LOG.warn("Agent socket {} ({}): {} not sent: socket already closed", agentLabel(), remote, type);
            }
            return;
        }
        Callback done = Callback.from(() -> { }, e -> LOG.warn(
                "Agent socket {} ({}): could not send {}: {}", agentLabel(), remote, Json.text(message, "type"),
                e.toString()));
        CoreSession c = core;
        if (c == null) {
            s.sendText(Json.write(message), done);
            return;
        }
        // What Session.sendText does, minus the String: the same UTF-8 payload in one text frame.
        c.sendFrame(new Frame(OpCode.TEXT, ByteBuffer.wrap(Json.writeBytes(message))),
                org.eclipse.jetty.util.Callback.from(done::succeed, done::fail), false);
    }

    void closeQuietly() {
        Session s = session;
        if (s != null) {
            try {
                s.close(1001, "Hub stopping", Callback.NOOP);
            } catch (RuntimeException e) {
                LOG.debug("Close failed: {}", e.toString());
            }
        }
    }
}
