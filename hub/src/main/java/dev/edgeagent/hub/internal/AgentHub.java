package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.InetAddress;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent side of the hub: which socket currently serves each agent, agent status for $status, and
 * server-initiated requests waiting for a callback (Appendix B 5-6).
 */
public final class AgentHub {
    private static final Logger LOG = LoggerFactory.getLogger(AgentHub.class);

    final FhirStore store;
    final TokenService tokens;
    final MessageRing ring;
    final ScheduledExecutorService scheduler;
    final long heartbeatMs;
    final String version;
    private final String callbackPrefix;
    private final ConcurrentHashMap<String, AgentSocket> sockets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AgentInfo> infos = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<ObjectNode>> pending = new ConcurrentHashMap<>();
    /** Accepted agent:connect:request per agent id since start, reconnects included. */
    private final ConcurrentHashMap<String, AtomicLong> connects = new ConcurrentHashMap<>();
    /** Sockets ever silenced and not yet closed, so that seconds=0 can also reach one that is no longer current. */
    private final Set<AgentSocket> silenced = ConcurrentHashMap.newKeySet();

    public AgentHub(FhirStore store, TokenService tokens, MessageRing ring, ScheduledExecutorService scheduler,
            long heartbeatMs, String version) {
        this.store = store;
        this.tokens = tokens;
        this.ring = ring;
        this.scheduler = scheduler;
        this.heartbeatMs = heartbeatMs;
        this.version = version;
        this.callbackPrefix = "agent:cb:" + hostname() + ":";
    }

    private static String hostname() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isBlank()) {
            try {
                h = InetAddress.getLocalHost().getHostName();
            } catch (Exception e) {
                h = "hub";
            }
        }
        // A ':' would break Medplum's "channel = text before the last ':'" callback routing.
        return h.replace(':', '-');
    }

    public AgentSocket newSocket() {
        return new AgentSocket(this);
    }

    void connected(String agentId, AgentSocket socket) {
        connects.computeIfAbsent(agentId, k -> new AtomicLong()).incrementAndGet();
        AgentSocket previous = sockets.put(agentId, socket);
        if (previous != null && previous != socket) {
            LOG.info("Agent {} reconnected from {}; the socket from {} no longer receives server messages",
                    agentId, socket.remote(), previous.remote());
        } else {
            LOG.info("Agent {} connected from {}", agentId, socket.remote());
        }
        AgentInfo old = infos.get(agentId);
        infos.put(agentId, new AgentInfo("connected", old == null ? "unknown" : old.version(),
                old == null ? null : old.lastUpdated()));
    }

    void heartbeat(String agentId, String agentVersion) {
        infos.put(agentId, new AgentInfo("connected", agentVersion == null ? "unknown" : agentVersion,
                Json.now()));
    }

    void closed(String agentId, AgentSocket socket, int code, String reason) {
        if (sockets.remove(agentId, socket)) {
            AgentInfo old = infos.getOrDefault(agentId, AgentInfo.UNKNOWN);
            infos.put(agentId, new AgentInfo("disconnected", old.version(), old.lastUpdated()));
            LOG.info("Agent {} disconnected (close code {}{})", agentId, code,
                    reason == null || reason.isEmpty() ? "" : ", " + reason);
        }
    }

    /** Completes the pending request that owns the callback; returns false when none is waiting. */
    boolean complete(String callback, ObjectNode message) {
        CompletableFuture<ObjectNode> f = pending.remove(callback);
        return f != null && f.complete(message);
    }

    public AgentInfo info(String agentId) {
        return infos.getOrDefault(agentId, AgentInfo.UNKNOWN);
    }

    public Map<String, AgentInfo> infos() {
        return Map.copyOf(infos);
    }

    public boolean isConnected(String agentId) {
        return sockets.containsKey(agentId);
    }

    public String remoteOf(String agentId) {
        AgentSocket s = sockets.get(agentId);
        return s == null ? null : s.remote();
    }

    /** Sends without waiting; returns false when the agent has no socket (Medplum would lose it too). */
    public boolean publish(String agentId, ObjectNode message) {
        AgentSocket s = sockets.get(agentId);
        if (s == null) {
            return false;
        }
        s.send(message);
        return true;
    }

    /**
     * Adds a callback, sends, and completes with the agent's first answer carrying that callback, or
     * exceptionally with {@link TimeoutException} after {@code timeoutMs}. An offline agent simply
     * times out, like a Medplum server whose Redis publish reached no socket.
     */
    public CompletableFuture<ObjectNode> request(String agentId, ObjectNode message, long timeoutMs) {
        String callback = callbackPrefix + UUID.randomUUID();
        message.put("callback", callback);
        CompletableFuture<ObjectNode> f = new CompletableFuture<>();
        pending.put(callback, f);
        f.orTimeout(timeoutMs, TimeUnit.MILLISECONDS).whenComplete((r, e) -> pending.remove(callback));
        if (!publish(agentId, message)) {
            LOG.warn("Agent {} is not connected; {} {} will time out after {} ms", agentId,
                    Json.text(message, "type"), callback, timeoutMs);
        }
        return f;
    }

    /** Accepted connect requests from this agent since the hub started (0 if none). */
    public long connectCount(String agentId) {
        AtomicLong n = connects.get(agentId);
        return n == null ? 0 : n.get();
    }

    /**
     * Silences the agent's current socket for {@code seconds} (see {@link AgentSocket#silence}); returns its
     * remote address, or null when the agent has no socket. The agent's later sockets are served normally.
     */
    public String silence(String agentId, long seconds) {
        AgentSocket s = sockets.get(agentId);
        if (s == null) {
            return null;
        }
        silenced.add(s);
        s.silence(seconds);
        return s.remote();
    }

    /** Ends the silence of every socket of this agent (current or not); returns how many were still silenced. */
    public int endSilence(String agentId) {
        int ended = 0;
        for (AgentSocket s : silenced) {
            if (agentId.equals(s.agentId())) {
                if (s.silenced()) {
                    ended++;
                }
                s.silence(0);
                silenced.remove(s);
            }
        }
        return ended;
    }

    void forgetSilenced(AgentSocket socket) {
        silenced.remove(socket);
    }

    public int pendingCount() {
        return pending.size();
    }

    /** Closes all agent sockets (hub shutdown) and fails waiting requests. */
    public void shutdown() {
        for (AgentSocket s : sockets.values()) {
            s.closeQuietly();
        }
        for (CompletableFuture<ObjectNode> f : pending.values()) {
            f.completeExceptionally(new IllegalStateException("Hub stopped"));
        }
        pending.clear();
    }
}
