package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.EndpointAddress;
import dev.edgeagent.api.channel.OutboundConnector;
import dev.edgeagent.api.channel.OutboundRequest;
import dev.edgeagent.api.message.ContentTypes;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Pushes HL7 messages from the server to devices ({@code agent:transmit:request} with an {@code mllp://}
 * remote), following Medplum's validation order, texts and status codes (spec §4.7), with one client pool per
 * remote string (§4.8). Deliberate differences from Medplum: a silent device is bounded by a response timeout
 * (Q12); an idle open connection is reused before a new one is opened; a push whose MSH-10 is already in
 * flight never shares an answer with the earlier push (Q11, see {@link Hl7Client}); client RTT samples are
 * recorded with and without keepAlive (Medplum's tests only show keepAlive).
 * <p>
 * Component configuration (PID {@value #PID}): {@code connectTimeoutMs} (30000), {@code responseTimeoutMs}
 * (60000), {@code idleReleaseMs} (10000: without keepAlive, connections idle this long are closed),
 * {@code idleCheckIntervalMs} (10000: how often idle connections are looked for, Medplum's heartbeat tick),
 * {@code maxFrameBytes} (16777216, for device answers). Agent settings: {@code keepAlive},
 * {@code maxClientsPerRemote}.
 */
@Component(service = OutboundConnector.class, configurationPid = Hl7OutboundConnector.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, property = {ChannelFactory.SCHEMES_PROPERTY + "=mllp"})
public final class Hl7OutboundConnector implements OutboundConnector {
    static final String PID = "dev.edgeagent.hl7.outbound";
    static final String INVALID_HL7 = "WebSocket error on incoming message: Error: Invalid HL7 message";
    private static final Logger LOG = LoggerFactory.getLogger(Hl7OutboundConnector.class);

    private final EventLoopGroup group = new NioEventLoopGroup(2, new DefaultThreadFactory("edge-hl7-push", true));
    private final Map<String, Hl7ClientPool> pools = new ConcurrentHashMap<>();
    /** RTT trackers by {@code clientStats} key, shared by pools whose remotes differ only in other params. */
    private final Map<String, RttTracker> trackers = new ConcurrentHashMap<>();
    private final Object lifecycle = new Object();
    private volatile PushSettings settings = PushSettings.defaults();
    private ScheduledFuture<?> reaper; // guarded by lifecycle
    private long reaperPeriodMs; // guarded by lifecycle
    private boolean stopped; // guarded by lifecycle

    @Activate
    public Hl7OutboundConnector(Map<String, Object> properties) {
        modified(properties);
    }

    /** For tests and embedding: explicit timings instead of component properties. */
    Hl7OutboundConnector(int connectTimeoutMs, long responseTimeoutMs, long idleReleaseMs, long idleCheckIntervalMs) {
        settings = settings.withTimeouts(connectTimeoutMs, responseTimeoutMs, idleReleaseMs, idleCheckIntervalMs,
                Hl7Params.DEFAULT_MAX_FRAME_BYTES);
        scheduleReaper();
    }

    @Modified
    void modified(Map<String, Object> properties) {
        PushSettings s = settings;
        settings = s.withTimeouts(
                (int) positive(properties, "connectTimeoutMs", PushSettings.DEFAULT_CONNECT_TIMEOUT_MS),
                positive(properties, "responseTimeoutMs", PushSettings.DEFAULT_RESPONSE_TIMEOUT_MS),
                positive(properties, "idleReleaseMs", PushSettings.DEFAULT_IDLE_RELEASE_MS),
                positive(properties, "idleCheckIntervalMs", PushSettings.DEFAULT_IDLE_CHECK_INTERVAL_MS),
                (int) positive(properties, "maxFrameBytes", Hl7Params.DEFAULT_MAX_FRAME_BYTES));
        scheduleReaper();
    }

    /** (Re)starts the idle check when its period changed. */
    private void scheduleReaper() {
        long period = settings.idleCheckIntervalMs;
        synchronized (lifecycle) {
            if (stopped || (reaper != null && period == reaperPeriodMs)) return;
            if (reaper != null) reaper.cancel(false);
            reaperPeriodMs = period;
            reaper = group.next().scheduleAtFixedRate(this::closeIdleClients, period, period, TimeUnit.MILLISECONDS);
        }
    }

    /** Closes every pool and stops the event loops (checklist 67). */
    @Deactivate
    void deactivate() {
        synchronized (lifecycle) {
            stopped = true;
            if (reaper != null) reaper.cancel(false);
        }
        closeAllPools();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    @Override
    public Set<String> schemes() {
        return Set.of("mllp");
    }

    @Override
    public void applySettings(AgentSettings agentSettings) {
        boolean keepAlive = agentSettings.getBoolean("keepAlive", false);
        // 0 would leave a pool that can never connect; the core already warns about invalid values.
        int explicit = agentSettings.getNonNegativeInt("maxClientsPerRemote", 0);
        int maxClients = explicit > 0 ? explicit
                : keepAlive ? PushSettings.DEFAULT_MAX_CLIENTS_KEEP_ALIVE : PushSettings.DEFAULT_MAX_CLIENTS;
        PushSettings old;
        synchronized (lifecycle) {
            old = settings;
            settings = old.withAgentSettings(keepAlive, maxClients);
        }
        if (old.keepAlive != keepAlive) {
            // Medplum discards every pool when keepAlive flips, so sockets get the new TCP keep-alive flag.
            LOG.info("keepAlive changed to {}: closing {} outbound client pool(s)", keepAlive, pools.size());
            closeAllPools();
        } else if (old.maxClientsPerRemote != maxClients) {
            LOG.info("maxClientsPerRemote changed from {} to {}: applied to {} existing pool(s)",
                    old.maxClientsPerRemote, maxClients, pools.size());
        }
    }

    /** {@code {"hl7ClientCount": n, "clientStats": {"mllp://host:port?encoding=e": {"rtt": {...}}}}}. */
    @Override
    public Map<String, Object> stats() {
        int clients = 0;
        Map<String, Integer> pending = new TreeMap<>();
        Map<String, RttTracker> rtt = new TreeMap<>();
        for (Hl7ClientPool p : pools.values()) {
            clients += p.size();
            pending.merge(p.statsKey(), p.pendingCount(), Integer::sum);
            rtt.putIfAbsent(p.statsKey(), p.rtt());
        }
        Map<String, Object> clientStats = new LinkedHashMap<>();
        for (Map.Entry<String, RttTracker> e : rtt.entrySet()) {
            clientStats.put(e.getKey(), Map.of("rtt", e.getValue().snapshot(pending.get(e.getKey()))));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hl7ClientCount", clients);
        m.put("clientStats", clientStats);
        return m;
    }

    /** Number of pools (one per distinct remote string). */
    int poolCount() {
        return pools.size();
    }

    @Override
    public CompletionStage<DeviceReply> send(OutboundRequest request) {
        String remote = request.remote();
        if (remote == null || remote.isBlank()) {
            return CompletableFuture.failedFuture(new Exception("Missing remote address"));
        }
        EndpointAddress address;
        try {
            address = EndpointAddress.parse(remote);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new Exception("WebSocket error on incoming message: " + e.getMessage()));
        }

        String returnAck = request.returnAck();
        if (returnAck != null && !isReturnAck(returnAck)) {
            return reply400("Invalid value for returnAck; expected: 'first' or 'application', received: " + returnAck);
        }
        if (returnAck == null) {
            String dflt = address.param("defaultReturnAck");
            if (dflt != null && !isReturnAck(dflt)) {
                LOG.warn("Invalid defaultReturnAck '{}' in remote '{}'; expected 'first' or 'application'. Using 'first'.",
                        dflt, remote);
                dflt = null;
            }
            returnAck = dflt != null ? dflt : "first";
        }
        boolean application = returnAck.equalsIgnoreCase("application");

        String enc = address.param("encoding");
        Charset charset = enc == null || enc.isEmpty() ? StandardCharsets.UTF_8 : Charsets.resolve(enc);
        if (charset == null) {
            return reply400("Invalid encoding '" + enc + "' in remote '" + remote + "': unknown character set");
        }

        Hl7ClientPool pool = pools.computeIfAbsent(remote, r -> {
            LOG.info("Client pool created for remote '{}'", r);
            String key = statsKey(address.host(), address.port(), enc);
            return new Hl7ClientPool(r, address.host(), address.port(), charset, key,
                    trackers.computeIfAbsent(key, k -> new RttTracker()), () -> settings, this::bootstrap);
        });

        String body = request.body() == null ? "" : request.body();
        if (!Er7.startsWithMsh(body)) {
            return CompletableFuture.failedFuture(new Exception(INVALID_HL7));
        }
        String controlId = Er7.messageControlId(body);
        if (controlId == null) {
            return reply400("MSH.10 is missing but required");
        }

        Hl7Client client;
        try {
            address.requirePort();
            client = pool.acquire(controlId);
        } catch (IllegalArgumentException | IllegalStateException e) {
            LOG.warn("Push to '{}' (message '{}') rejected: {}", remote, controlId, e.getMessage());
            return reply400(e.getMessage());
        }
        return client.send(normaliseSegments(body), controlId, application).handle((text, err) -> {
            pool.release(client, controlId, err != null);
            if (err != null) {
                String reason = rootMessage(err);
                LOG.warn("Push to '{}' (message '{}') failed: {}", remote, controlId, reason);
                return new DeviceReply(400, ContentTypes.TEXT, reason);
            }
            return new DeviceReply(200, ContentTypes.HL7_V2, text);
        });
    }

    /** Medplum's key: the host and port of the URL plus the encoding as written, {@code utf-8} when absent. */
    static String statsKey(String host, int port, String encoding) {
        String h = host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
        return "mllp://" + h + ":" + port + "?encoding=" + (encoding == null || encoding.isEmpty() ? "utf-8" : encoding);
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return Hl7Client.describe(c);
    }

    private Bootstrap bootstrap() {
        PushSettings s = settings;
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, s.connectTimeoutMs)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, s.keepAlive);
    }

    private void closeIdleClients() {
        PushSettings s = settings;
        if (s.keepAlive) return;
        for (Hl7ClientPool p : pools.values()) {
            int n = p.closeIdle(s.idleReleaseMs);
            if (n > 0) LOG.debug("Closed {} idle connection(s) to '{}'", n, p.remote());
        }
    }

    private void closeAllPools() {
        for (String remote : new ArrayList<>(pools.keySet())) {
            Hl7ClientPool p = pools.remove(remote);
            if (p != null) p.close();
        }
        // Medplum's client stats live and die with the pools.
        trackers.keySet().removeIf(k -> pools.values().stream().noneMatch(p -> p.statsKey().equals(k)));
    }

    private static boolean isReturnAck(String v) {
        String l = v.toLowerCase(Locale.ROOT);
        return l.equals("first") || l.equals("application");
    }

    /** Medplum re-serialises pushed messages: segments split on any run of CR/LF and joined with CR. */
    static String normaliseSegments(String body) {
        if (body.indexOf('\n') < 0 && !body.contains("\r\r")) return body;
        return String.join("\r", body.split("[\r\n]+"));
    }

    private static CompletionStage<DeviceReply> reply400(String text) {
        return CompletableFuture.completedFuture(new DeviceReply(400, ContentTypes.TEXT, text));
    }

    private static long positive(Map<String, Object> props, String key, long dflt) {
        Object v = props == null ? null : props.get(key);
        if (v == null) return dflt;
        try {
            long n = v instanceof Number ? ((Number) v).longValue() : Long.parseLong(v.toString().trim());
            if (n > 0 && n <= Integer.MAX_VALUE) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        LOG.warn("Invalid {} '{}' in configuration {}; using {}", key, v, PID, dflt);
        return dflt;
    }
}
