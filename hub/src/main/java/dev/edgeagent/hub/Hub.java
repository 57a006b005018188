package dev.edgeagent.hub;

import dev.edgeagent.hub.internal.AgentHub;
import dev.edgeagent.hub.internal.AgentInfo;
import dev.edgeagent.hub.internal.AgentOperations;
import dev.edgeagent.hub.internal.AsyncJobs;
import dev.edgeagent.hub.internal.FhirStore;
import dev.edgeagent.hub.internal.HttpApi;
import dev.edgeagent.hub.internal.LogSetup;
import dev.edgeagent.hub.internal.MessageRing;
import dev.edgeagent.hub.internal.Seed;
import dev.edgeagent.hub.internal.TokenService;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Collectors;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small Medplum-compatible cloud side: OAuth2 client credentials, an in-memory FHIR store, the agent
 * WebSocket and the Agent operations. Start one per test with {@code Hub.start(HubOptions.defaults().port(0))}.
 */
public final class Hub implements AutoCloseable {
    static {
        LogSetup.init();
    }

    private static final Logger LOG = LoggerFactory.getLogger(Hub.class);
    /** Character budget over all bodies kept in the message ring (about 64 MB of Latin-1 text). */
    private static final long RING_BODY_BUDGET = 64L * 1024 * 1024;
    private static final long MAX_BINARY_BYTES = 256L * 1024 * 1024;

    private final Server server;
    private final ScheduledExecutorService scheduler;
    private final AgentHub agents;
    private final MessageRing ring;
    private final int port;
    private final String host;

    private Hub(Server server, ScheduledExecutorService scheduler, AgentHub agents, MessageRing ring, String host,
            int port) {
        this.server = server;
        this.scheduler = scheduler;
        this.agents = agents;
        this.ring = ring;
        this.host = host;
        this.port = port;
    }

    /** The hub's build version, sent in heartbeat responses. */
    public static String version() {
        Properties p = new Properties();
        try (InputStream in = Hub.class.getResourceAsStream("hub.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // Fall through to the default below; the version is informational only.
        }
        return p.getProperty("version", "0.0.0-dev");
    }

    /**
     * Loads the seed, binds and starts serving. Throws when the seed is invalid or the port is taken.
     */
    public static Hub start(HubOptions options) throws Exception {
        options.validate();
        String seedSource;
        String seedText;
        if (options.seedJson() != null) {
            seedSource = "(inline)";
            seedText = options.seedJson();
        } else if (options.seedFile() != null) {
            seedSource = options.seedFile().toString();
            try {
                seedText = Files.readString(options.seedFile(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException("Cannot read seed file " + seedSource + ": " + e, e);
            }
        } else {
            seedSource = "(built-in sample-seed.json)";
            try (InputStream in = Hub.class.getResourceAsStream("sample-seed.json")) {
                if (in == null) {
                    throw new IllegalStateException("Built-in sample-seed.json missing from the hub jar");
                }
                seedText = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        Seed seed = Seed.parse(seedText, seedSource);
        FhirStore store = new FhirStore(MAX_BINARY_BYTES);
        int loaded = seed.loadInto(store, seedSource);
        TokenService tokens = new TokenService(seed.clients(), options.tokenLifetimeSeconds());
        MessageRing ring = new MessageRing(options.messageRingSize(), RING_BODY_BUDGET);
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hub-heartbeat");
            t.setDaemon(true);
            return t;
        });
        AgentHub agents = new AgentHub(store, tokens, ring, scheduler, options.heartbeatMs(), version());
        AsyncJobs jobs = new AsyncJobs();
        AgentOperations ops = new AgentOperations(store, agents, jobs, options.operationTimeoutMs());

        QueuedThreadPool pool = new QueuedThreadPool(200, 8);
        pool.setName("hub");
        Server server = new Server(pool);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(options.host());
        connector.setPort(options.port());
        server.addConnector(connector);
        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, container -> {
            container.setMaxTextMessageSize(options.maxMessageBytes());
            container.setMaxBinaryMessageSize(options.maxMessageBytes());
            // Agents send heartbeats every 10 s; an idle minute means the peer is gone.
            container.setIdleTimeout(Duration.ofMinutes(5));
            // Bounds memory when an agent stops reading: sends beyond this fail and are logged.
            container.setMaxOutgoingFrames(65_536);
            container.addMapping("/ws/agent", (req, resp, cb) -> agents.newSocket());
        });
        ws.setHandler(new HttpApi(store, tokens, agents, ops, jobs, ring, options.maxMessageBytes()));
        server.setHandler(ws);
        server.setStopTimeout(2000);
        try {
            server.start();
        } catch (Exception e) {
            scheduler.shutdownNow();
            server.stop();
            throw new IOException("Hub cannot listen on " + options.host() + ":" + options.port() + ": "
                    + e.getMessage(), e);
        }
        int actual = connector.getLocalPort();
        Hub hub = new Hub(server, scheduler, agents, ring, options.host(), actual);
        LOG.info("Hub listening on {} (seed {}: {} clients, {} resources; version {})", hub.baseUrl(), seedSource,
                seed.clients().size(), loaded, version());
        return hub;
    }

    public int port() {
        return port;
    }

    /** e.g. {@code http://127.0.0.1:8103/}; the agent's baseUrl. */
    public String baseUrl() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        if (h.equals("0.0.0.0") || h.equals("[::]")) {
            h = "127.0.0.1";
        }
        return "http://" + h + ":" + port + "/";
    }

    /** All accepted agent transmit requests still in the ring (newest 10,000 by default), oldest first. */
    public List<ReceivedMessage> receivedMessages() {
        return ring.messages(Integer.MAX_VALUE);
    }

    /** Forgets the messages received so far (counting continues for {@link #totalReceived()}). */
    public void clearReceivedMessages() {
        ring.clear();
    }

    /** Number of transmit requests accepted since start, including those no longer in the ring. */
    public long totalReceived() {
        return ring.totalAccepted();
    }

    /** Agent id to {@code connected}/{@code disconnected} for every agent that ever connected. */
    public Map<String, String> agentStatuses() {
        return agents.infos().entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().status()));
    }

    public boolean isAgentConnected(String agentId) {
        return agents.isConnected(agentId);
    }

    /** Accepted connect requests from this agent since start (reconnects included); 0 if it never connected. */
    public long connectCount(String agentId) {
        return agents.connectCount(agentId);
    }

    /**
     * Makes the agent's current socket silent for {@code seconds} (0 ends every silence of this agent), as
     * {@code POST /hub/admin/silence} does; returns false when the agent has no socket and seconds &gt; 0.
     */
    public boolean silenceAgent(String agentId, long seconds) {
        if (seconds <= 0) {
            agents.endSilence(agentId);
            return true;
        }
        return agents.silence(agentId, seconds) != null;
    }

    /** The version reported by the agent's last heartbeat response, or {@code unknown}. */
    public String agentVersion(String agentId) {
        AgentInfo info = agents.info(agentId);
        return info.version();
    }

    public void stop() {
        try {
            agents.shutdown();
            server.stop();
        } catch (Exception e) {
            LOG.warn("Hub stop failed: {}", e.toString());
        } finally {
            scheduler.shutdownNow();
        }
        LOG.info("Hub on port {} stopped", port);
    }

    @Override
    public void close() {
        stop();
    }
}
