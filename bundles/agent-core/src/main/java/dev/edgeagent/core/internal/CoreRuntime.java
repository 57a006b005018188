package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.Channel;
import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.OutboundConnector;
import dev.edgeagent.api.channel.OutboundRequest;
import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.ContentTypes;
import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageTypes;
import dev.edgeagent.api.ops.AgentRuntime;
import dev.edgeagent.api.ops.AgentStatus;
import dev.edgeagent.api.ops.AgentVersion;
import dev.edgeagent.api.ops.OperationHandler;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.CloudException;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.api.transport.Transport;
import dev.edgeagent.api.transport.TransportException;
import dev.edgeagent.api.transport.TransportListener;
import dev.edgeagent.api.transport.TransportStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent runtime without OSGi: configuration loading, channel lifecycle, routing between channels and the
 * transport, and the server's requests (spec §2.6). {@link CoreComponent} wires it to the service registry;
 * tests construct it directly.
 */
final class CoreRuntime implements AgentRuntime, TransportListener {
    private static final Logger LOG = LoggerFactory.getLogger(CoreRuntime.class);
    static final String STATUS_OFF = "Agent.status is currently set to off";
    /** Pings waiting or running at once; more are refused so a flood cannot pile up work. */
    static final int MAX_PINGS = 16;

    /** Timers, injectable so tests run in milliseconds. */
    record Timing(Duration responseTimeout, Duration purgeInterval, Duration loadRetryDelay, Duration dispatchTimeout,
                  Duration queueRescan) {
        static final Timing DEFAULT = new Timing(Duration.ofMinutes(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
                Duration.ofSeconds(60), Duration.ofSeconds(5));

        Timing(Duration responseTimeout, Duration purgeInterval, Duration loadRetryDelay, Duration dispatchTimeout) {
            this(responseTimeout, purgeInterval, loadRetryDelay, dispatchTimeout, DEFAULT.queueRescan);
        }

        Timing(Duration responseTimeout, Duration purgeInterval, Duration loadRetryDelay) {
            this(responseTimeout, purgeInterval, loadRetryDelay, DEFAULT.dispatchTimeout);
        }
    }

    /**
     * Where the last-good configuration snapshot lives and how ports are probed before an apply.
     *
     * @param snapshotFile see {@link ConfigSnapshot#defaultFile}
     */
    record Options(Path snapshotFile, ConfigPlanner.PortProbe portProbe) {
        static Options defaults(Path home) {
            return new Options(ConfigSnapshot.defaultFile(home), ConfigPlanner.PortProbe.SYSTEM);
        }
    }

    private final long startedAt = System.currentTimeMillis();
    private final Timing timing;
    private final ScheduledExecutorService executor;
    private final BootstrapManager bootstrapManager;
    private final MessageRouter router;
    private final ChannelManager channels;
    private final ConfigPlanner planner = new ConfigPlanner();
    private final ConfigSnapshot snapshot;
    private final ConfigPlanner.PortProbe portProbe;
    private final Pinger pinger = new Pinger();
    private final AtomicInteger pings = new AtomicInteger();

    private final AtomicReference<Transport> transport = new AtomicReference<>();
    private final AtomicReference<StoreAndForward> durable = new AtomicReference<>();
    private final List<OutboundConnector> connectors = new CopyOnWriteArrayList<>();
    private final Map<String, OperationHandler> operations = new ConcurrentHashMap<>();

    private volatile BootstrapConfig bootstrap;
    private volatile String bootstrapError;
    private volatile String agentConfigError;
    private volatile String agentStatus;
    private volatile AgentSettings settings = AgentSettings.EMPTY;

    private final ReentrantLock reloadLock = new ReentrantLock();
    private final Object timerLock = new Object();
    private volatile boolean loaded;
    private final AtomicBoolean loadScheduled = new AtomicBoolean();
    private volatile boolean live;
    private volatile boolean closed;
    /** The last plan that applied end to end, for rollback (spec §3.5); guarded by reloadLock. */
    private ConfigPlanner.Plan lastGood;
    /** appliedAt of the snapshot whose channels run until the server's configuration replaces them, else null. */
    private volatile String snapshotRunning;
    private boolean snapshotProblemLogged; // guarded by reloadLock
    private ScheduledFuture<?> statsTimer; // guarded by timerLock
    private int statsFreq = -1; // guarded by timerLock

    CoreRuntime(ConfigStore store, Path home, Timing timing, LongSupplier nanoClock) {
        this(store, home, timing, nanoClock, Options.defaults(home));
    }

    CoreRuntime(ConfigStore store, Path home, Timing timing, LongSupplier nanoClock, Options options) {
        this.timing = timing;
        this.snapshot = new ConfigSnapshot(options.snapshotFile());
        this.portProbe = options.portProbe();
        this.executor = newExecutor();
        this.bootstrapManager = new BootstrapManager(store, home);
        this.router = new MessageRouter(transport::get, this::agentIdOrUnknown, timing.responseTimeout(), nanoClock,
                this::durableQueueForNewMessages);
        this.channels = new ChannelManager(router::contextFor);
        long purge = timing.purgeInterval().toMillis();
        executor.scheduleWithFixedDelay(this::purge, purge, purge, TimeUnit.MILLISECONDS);
    }

    CoreRuntime(ConfigStore store, Path home) {
        this(store, home, Timing.DEFAULT, System::nanoTime);
    }

    private static ScheduledExecutorService newExecutor() {
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "edgeagent-core-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(4, tf);
        ex.setRemoveOnCancelPolicy(true);
        ex.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return ex;
    }

    // ------------------------------------------------------------------ lifecycle and bindings

    /** A new or changed {@code dev.edgeagent} configuration. */
    public void configure(Map<String, ?> properties) {
        BootstrapManager.Result r = bootstrapManager.apply(properties);
        if (r.config() == null) {
            bootstrapError = r.error(); // keep running with what we have (spec: fix and it applies)
            return;
        }
        BootstrapConfig previous = bootstrap;
        bootstrap = r.config();
        bootstrapError = null;
        if (previous == null || !previous.agentId().equals(r.config().agentId())) {
            loaded = false;
            if (live) scheduleLoad(0);
        }
        if (previous == null && r.offlineStart() != null) {
            Duration grace = r.offlineStart();
            // Devices must not wait for the server: after the grace the last-good config opens the listeners and
            // the durable queue holds their messages until the link is live (Medplum waits for the first open).
            scheduleSnapshotStart(grace.toMillis(), "Agent/" + agentIdOrUnknown() + " not read from the server within "
                    + grace.toSeconds() + " s of start");
        }
    }

    /**
     * The boot grace's fallback. While the server stays unreachable nothing else would try again, so a snapshot that
     * could not be applied yet (a port still held, a channel bundle not started yet) is retried at the load-retry pace.
     */
    private void scheduleSnapshotStart(long delayMs, String why) {
        try {
            executor.schedule(() -> {
                if (startFromSnapshot(why)) scheduleSnapshotStart(timing.loadRetryDelay().toMillis(), why);
            }, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    public void close() {
        closed = true;
        live = false;
        executor.shutdownNow();
        channels.stopAll();
        StoreAndForward q = durable.getAndSet(null);
        if (q != null) q.close();
        router.failAll("Agent runtime stopped");
    }

    public void bindTransport(Transport t) {
        transport.set(t);
        // The transport only reports changes; it may already be live when we appear.
        LinkState s;
        try {
            s = t.state();
        } catch (RuntimeException e) {
            return;
        }
        if (s == LinkState.LIVE) onLinkState(LinkState.LIVE);
    }

    public void unbindTransport(Transport t) {
        if (transport.compareAndSet(t, null)) {
            live = false;
            StoreAndForward q = durable.get();
            if (q != null) q.setLive(false);
        }
    }

    /**
     * A durable store appeared: new messages that owe a commit ACK go through it (unless {@code durableQueue=false})
     * and whatever it holds from before is delivered.
     */
    public void bindStore(MessageStore store) {
        StoreAndForward q = new StoreAndForward(store, executor, transport::get, () -> settings, channels::config,
                new StoreAndForward.Relay() {
            @Override
            public boolean reply(String callbackId, DeviceReply reply) {
                return router.relay(callbackId, reply);
            }

            @Override
            public boolean fail(String callbackId, String reason) {
                return router.relayFailure(callbackId, reason);
            }
        }, timing.dispatchTimeout(), timing.queueRescan());
        StoreAndForward prev = durable.getAndSet(q);
        if (prev != null) prev.close();
        q.setLive(live);
        q.recover();
    }

    public void unbindStore(MessageStore store) {
        StoreAndForward q = durable.get();
        if (q != null && q.store() == store && durable.compareAndSet(q, null)) {
            q.close();
            LOG.warn("Durable queue service gone: new messages go straight to the server; stored ones wait for it to return");
        }
    }

    /** The store-and-forward path for a new message, or null for the direct path (Agent setting {@code durableQueue}). */
    private StoreAndForward durableQueueForNewMessages() {
        StoreAndForward q = durable.get();
        return q != null && settings.getBoolean(StoreAndForward.SETTING_ENABLED, StoreAndForward.DEFAULT_ENABLED) ? q : null;
    }

    public void addFactory(ChannelFactory f) {
        channels.factoryAdded(f);
    }

    public void removeFactory(ChannelFactory f) {
        channels.factoryRemoved(f);
    }

    public void addConnector(OutboundConnector c) {
        connectors.add(c);
        try {
            c.applySettings(settings);
        } catch (RuntimeException e) {
            LOG.warn("Outbound connector {} rejected the agent settings: {}", c, e.toString());
        }
    }

    public void removeConnector(OutboundConnector c) {
        connectors.remove(c);
    }

    public void addOperation(String type, OperationHandler h) {
        if (type == null || type.isBlank()) {
            LOG.warn("Ignoring OperationHandler {} without the '{}' service property", h, OperationHandler.TYPE_PROPERTY);
            return;
        }
        OperationHandler prev = operations.put(type, h);
        if (prev != null && prev != h) LOG.warn("Two OperationHandlers for '{}'; using the newest", type);
    }

    public void removeOperation(String type, OperationHandler h) {
        if (type != null) operations.remove(type, h);
    }

    // ------------------------------------------------------------------ TransportListener

    @Override
    public void onLinkState(LinkState state) {
        live = state == LinkState.LIVE;
        StoreAndForward q = durable.get();
        if (q != null) q.setLive(live);
        if (live && !loaded) scheduleLoad(0);
    }

    @Override
    public void onUndecodable(String error, String callback) {
        LOG.warn("Undecodable frame from server: {}", error);
        send(AgentMessage.error("WebSocket error on incoming message: " + error, callback));
    }

    @Override
    public void onMessage(AgentMessage message) {
        String type = MessageTypes.normalizeInbound(message.type());
        try {
            switch (type == null ? "" : type) {
                case MessageTypes.TRANSMIT_RESPONSE -> onTransmitResponse(message);
                case MessageTypes.TRANSMIT_REQUEST -> onTransmitRequest(message);
                case MessageTypes.RELOADCONFIG_REQUEST -> submit(() -> onReloadRequest(message), message);
                case MessageTypes.STATS_REQUEST -> submit(() -> send(AgentMessage.of(MessageTypes.STATS_RESPONSE)
                        .with(AgentMessage.STATUS_CODE, 200).with("stats", stats())
                        .with(AgentMessage.CALLBACK, message.callback())), message);
                case MessageTypes.ERROR -> LOG.error("Error received from server: {}", message.body());
                // The transport's own business; tolerate a transport that passes them on.
                case MessageTypes.CONNECT_RESPONSE, MessageTypes.HEARTBEAT_REQUEST, MessageTypes.HEARTBEAT_RESPONSE ->
                        LOG.debug("Ignoring {} (handled by the transport)", type);
                default -> onOperation(type, message);
            }
        } catch (RuntimeException e) {
            LOG.error("Error while handling {} from server", type, e);
            send(AgentMessage.error("WebSocket error on incoming message: " + e, message.callback()));
        }
    }

    private void onTransmitResponse(AgentMessage m) {
        if (!"active".equals(agentStatus)) {
            send(AgentMessage.error(STATUS_OFF, m.callback()));
            return;
        }
        Integer code = m.statusCode();
        DeviceReply reply = new DeviceReply(code == null ? 200 : code, m.contentType(), m.body());
        String callback = m.callback();
        StoreAndForward q = durable.get();
        if (callback == null) {
            LOG.warn("Transmit response missing callback");
        } else if (q != null && q.onResponse(callback, reply)) {
            return;
        } else if (router.complete(callback, reply)) {
            return;
        }
        // Legacy routing by channel + remote (spec §4.5): no callback, or one we did not issue.
        if (!reply.isSuccess()) {
            LOG.error("[{}] Error during handling transmit request: {}", m.channel(), m.body());
            return;
        }
        Channel ch = channels.running(m.channel());
        if (ch == null) {
            LOG.warn("Transmit response for channel '{}' (remote {}) dropped: no such running channel", m.channel(), m.remote());
            return;
        }
        boolean delivered;
        try {
            delivered = ch.deliverUnmatched(m.remote(), reply);
        } catch (RuntimeException e) {
            LOG.warn("[{}] Delivering a transmit response to {} failed: {}", m.channel(), m.remote(), e.toString());
            return;
        }
        if (!delivered) {
            LOG.warn("[{}] Attempted to send message to disconnected remote: {}", m.channel(), m.remote());
        }
    }

    private void onTransmitRequest(AgentMessage m) {
        if (!"active".equals(agentStatus)) {
            LOG.warn("{} (push to {} refused)", STATUS_OFF, m.remote());
            send(AgentMessage.error(STATUS_OFF, m.callback()));
            return;
        }
        if (ContentTypes.PING.equals(m.contentType())) {
            if (pings.incrementAndGet() > MAX_PINGS) {
                pings.decrementAndGet();
                send(AgentMessage.transmitResponse(m.channel(), m.remote(), ContentTypes.TEXT, 400,
                        "Too many concurrent ping requests (limit " + MAX_PINGS + ")", m.callback()));
                return;
            }
            Runnable task = () -> {
                try {
                    send(pinger.ping(m));
                } finally {
                    pings.decrementAndGet();
                }
            };
            try {
                executor.execute(task);
            } catch (RejectedExecutionException e) {
                pings.decrementAndGet();
                send(AgentMessage.error("Agent runtime is stopping", m.callback()));
            }
            return;
        }
        String remote = m.remote();
        if (remote == null || remote.isBlank()) {
            send(AgentMessage.error("Missing remote address", m.callback()));
            return;
        }
        OutboundConnector c = Schemes.connectorFor(remote, connectors);
        if (c == null) {
            send(AgentMessage.transmitResponse(m.channel(), remote, ContentTypes.TEXT, 400,
                    "No deployed protocol bundle can send to '" + remote + "'", m.callback()));
            return;
        }
        CompletionStage<DeviceReply> stage;
        try {
            stage = c.send(new OutboundRequest(remote, m.contentType(), m.body(), m.returnAck()));
        } catch (RuntimeException e) {
            send(AgentMessage.error(messageOf(e), m.callback()));
            return;
        }
        stage.whenComplete((reply, error) -> {
            if (error != null) {
                send(AgentMessage.error(messageOf(error), m.callback()));
            } else if (reply == null) {
                send(AgentMessage.error("Outbound connector returned no reply for '" + remote + "'", m.callback()));
            } else {
                send(AgentMessage.transmitResponse(m.channel(), remote, reply.contentType(), reply.statusCode(),
                        reply.body(), m.callback()));
            }
        });
    }

    private void onReloadRequest(AgentMessage m) {
        try {
            reloadConfig();
            send(AgentMessage.ok(MessageTypes.RELOADCONFIG_RESPONSE, m.callback()));
        } catch (Exception e) {
            send(AgentMessage.error(messageOf(e), m.callback()));
        }
    }

    private void onOperation(String type, AgentMessage m) {
        OperationHandler h = operations.get(type);
        if (h == null) {
            if (MessageTypes.LOGS_REQUEST.equals(type)) {
                send(AgentMessage.error("Unable to fetch logs since current logger instance does not support fetching",
                        m.callback()));
                return;
            }
            LOG.warn("Unknown message type: {}", type);
            send(AgentMessage.error("Unknown message type: " + type, m.callback()));
            return;
        }
        CompletionStage<AgentMessage> stage;
        try {
            stage = h.handle(m);
        } catch (RuntimeException e) {
            send(AgentMessage.error(messageOf(e), m.callback()));
            return;
        }
        if (stage == null) {
            send(AgentMessage.error("Handler for " + type + " returned nothing", m.callback()));
            return;
        }
        stage.whenComplete((answer, error) -> {
            if (error != null || answer == null) {
                send(AgentMessage.error(error != null ? messageOf(error) : "Handler for " + type + " returned nothing",
                        m.callback()));
            } else {
                send(answer.callback() == null && m.callback() != null ? answer.with(AgentMessage.CALLBACK, m.callback()) : answer);
            }
        });
    }

    /** Runs blocking work off the transport thread; a refusal (shutdown) is answered, not dropped. */
    private void submit(Runnable task, AgentMessage request) {
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("Error while handling {}", request.type(), e);
                    send(AgentMessage.error(messageOf(e), request.callback()));
                }
            });
        } catch (RejectedExecutionException e) {
            send(AgentMessage.error("Agent runtime is stopping", request.callback()));
        }
    }

    private void send(AgentMessage m) {
        Transport t = transport.get();
        if (t == null) {
            LOG.warn("No transport deployed; cannot send {} (callback {})", m.type(), m.callback());
            return;
        }
        try {
            t.send(m);
        } catch (TransportException | RuntimeException e) {
            LOG.warn("Unable to send {} (callback {}): {}", m.type(), m.callback(), e.getMessage());
        }
    }

    private static String messageOf(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    // ------------------------------------------------------------------ configuration loading

    private void scheduleLoad(long delayMs) {
        if (closed || !loadScheduled.compareAndSet(false, true)) return;
        try {
            executor.schedule(this::initialLoad, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            loadScheduled.set(false);
        }
    }

    private void initialLoad() {
        loadScheduled.set(false);
        if (loaded || !live || closed) return;
        try {
            load();
        } catch (ConfigPlanner.ConfigRejectedException | ApplyFailed e) {
            // Already logged; waits for a corrected Agent and a reload request. Meanwhile devices keep the last-good config.
            startFromSnapshot("Agent/" + agentIdOrUnknown() + " from the server was not applied");
        } catch (Exception e) {
            Duration d = timing.loadRetryDelay();
            LOG.error("{}; retrying in {}", e.getMessage(), d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms");
            if (e instanceof ServerUnavailable) startFromSnapshot(e.getMessage());
            if (live) scheduleLoad(d.toMillis());
        }
    }

    /**
     * Boot fallback (spec §1.5 step 3, checklist 33): runs the last-good snapshot when nothing from the server has
     * been applied yet. Never on a live reload: once the server's config runs, a failed read changes nothing.
     *
     * @return true when the snapshot could not be applied for a reason that may pass (its plan or port probe failed)
     */
    private boolean startFromSnapshot(String why) {
        reloadLock.lock();
        try {
            BootstrapConfig b = bootstrap;
            if (loaded || closed || snapshotRunning != null || b == null) return false;
            ConfigSnapshot.Content c;
            try {
                c = snapshot.read();
            } catch (IOException | RuntimeException e) {
                logSnapshotProblem("ERROR", why + "; the configuration snapshot " + snapshot.file() + " is unreadable ("
                        + e.getMessage() + "): channels start once Agent/" + b.agentId() + " has been read from the server");
                return false;
            }
            if (c == null) {
                // Normal on a first start: nothing has applied yet.
                logSnapshotProblem("INFO", why + "; no configuration snapshot at " + snapshot.file()
                        + ": channels start once Agent/" + b.agentId() + " has been read from the server");
                return false;
            }
            if (!b.agentId().equals(c.agentId())) {
                logSnapshotProblem("WARN", why + "; ignoring the configuration snapshot " + snapshot.file() + ": it belongs to Agent/"
                        + c.agentId() + ", this agent is Agent/" + b.agentId());
                return false;
            }
            ConfigPlanner.Plan plan;
            try {
                plan = planner.plan(c.asCloud(), b.agentId(), channels.factories());
                ConfigPlanner.probePorts(plan, channels.heldPorts(), portProbe);
            } catch (CloudException | ConfigPlanner.ConfigRejectedException e) {
                logSnapshotProblem("ERROR", why + "; the configuration snapshot written at " + c.appliedAt() + " ("
                        + snapshot.file() + ") cannot be applied: " + e.getMessage()
                        + "; it is tried again until Agent/" + b.agentId() + " has been read from the server");
                return true;
            }
            for (String w : plan.warnings()) {
                LOG.warn(w);
            }
            List<String> failures = applyPlan(plan);
            if (failures.isEmpty()) lastGood = plan;
            snapshotRunning = c.appliedAt();
            LOG.warn("{}; running the configuration from snapshot written at {} ({}): {} channel(s), {} running{}; "
                    + "the server's configuration replaces it once Agent/{} can be read", why, c.appliedAt(), snapshot.file(),
                    plan.channels().size(), channels.runningChannels().size(),
                    plan.active() ? "" : " (Agent.status is '" + plan.agentStatus() + "')", b.agentId());
            return false;
        } finally {
            reloadLock.unlock();
        }
    }

    private void logSnapshotProblem(String level, String text) {
        if (snapshotProblemLogged) return; // once per boot, not per retry of the Agent read
        snapshotProblemLogged = true;
        switch (level) {
            case "ERROR" -> LOG.error(text);
            case "WARN" -> LOG.warn(text);
            default -> LOG.info(text);
        }
    }

    /** A channel failed to start and the last-good config was restored; the message is the original failure. */
    static final class ApplyFailed extends Exception {
        private static final long serialVersionUID = 1L;

        ApplyFailed(String message) {
            super(message);
        }
    }

    /** The Agent and Endpoints as the planner read them: the content of the next snapshot. */
    private static final class RecordingCloud implements CloudClient {
        private final CloudClient delegate;
        Map<String, Object> agent;
        final Map<String, Map<String, Object>> endpoints = new LinkedHashMap<>();

        RecordingCloud(CloudClient delegate) {
            this.delegate = delegate;
        }

        @Override
        public Map<String, Object> read(String resourceType, String id) throws CloudException {
            Map<String, Object> r = delegate.read(resourceType, id);
            if ("Agent".equals(resourceType)) agent = r;
            else if ("Endpoint".equals(resourceType) && r != null) endpoints.put(id, r);
            return r;
        }

        @Override
        public String createBinary(String contentType, Path file) throws CloudException {
            return delegate.createBinary(contentType, file);
        }
    }

    /** Settings, then the channel diff (spec §3.5 apply order). */
    private List<String> applyPlan(ConfigPlanner.Plan plan) {
        agentStatus = plan.agentStatus();
        settings = plan.settings();
        List<String> failures = channels.apply(plan);
        applySettings(plan.settings());
        return failures;
    }

    /** The Agent could not be read (server or network problem): worth retrying, unlike a bad configuration. */
    static final class ServerUnavailable extends Exception {
        private static final long serialVersionUID = 1L;

        ServerUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private String load() throws Exception {
        reloadLock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("Agent runtime stopped");
            }
            BootstrapConfig b = bootstrap;
            if (b == null) {
                throw new IllegalStateException(bootstrapError != null ? bootstrapError : "Agent configuration missing (" + BootstrapManager.CFG_FILE + ")");
            }
            Transport t = transport.get();
            if (t == null) {
                throw new IllegalStateException("No transport deployed: cannot read Agent/" + b.agentId());
            }
            ConfigPlanner.Plan plan;
            RecordingCloud cloud = new RecordingCloud(t.cloud());
            try {
                plan = planner.plan(cloud, b.agentId(), channels.factories());
                ConfigPlanner.probePorts(plan, channels.heldPorts(), portProbe);
            } catch (CloudException e) {
                String msg = "Unable to read Agent/" + b.agentId() + " from the server: " + e.getMessage()
                        + (e.status() > 0 ? " (HTTP " + e.status() + ")" : "");
                agentConfigError = msg;
                throw new ServerUnavailable(msg, e);
            } catch (ConfigPlanner.ConfigRejectedException e) {
                agentConfigError = e.getMessage();
                LOG.error(e.getMessage());
                throw e;
            }
            for (String w : plan.warnings()) {
                LOG.warn(w);
            }
            List<String> failures = applyPlan(plan);
            if (!failures.isEmpty() && lastGood != null) {
                String original = String.join("\n", failures);
                List<String> again = applyPlan(lastGood);
                if (again.isEmpty()) {
                    LOG.info("Rolled back to last-good config successfully.");
                } else {
                    LOG.error("Rollback to last-good config incomplete: {}", String.join("; ", again));
                }
                agentConfigError = original;
                throw new ApplyFailed(original);
            }
            if (failures.isEmpty()) {
                // Only a config that ran end to end is worth returning to (rollback, boot fallback).
                lastGood = plan;
                try {
                    snapshot.write(cloud.agent, cloud.endpoints, AgentVersion.get());
                } catch (IOException | RuntimeException e) {
                    LOG.warn("Unable to write the configuration snapshot {}: {}; the previous one is kept", snapshot.file(), e.toString());
                }
            }
            agentConfigError = null;
            String replaced = snapshotRunning;
            snapshotRunning = null;
            long runningCount = channels.runningChannels().size();
            String summary = "Agent configuration applied: " + plan.channels().size() + " channel(s), " + runningCount
                    + " running" + (plan.active() ? "" : " (Agent.status is '" + plan.agentStatus() + "')");
            if (replaced != null) {
                LOG.info("{}; it replaces the configuration from snapshot written at {}", summary, replaced);
            } else {
                LOG.info(summary);
            }
            loaded = true; // last: whoever sees it sees the applied config's log line too
            return summary;
        } finally {
            reloadLock.unlock();
        }
    }

    private void applySettings(AgentSettings s) {
        for (OutboundConnector c : connectors) {
            try {
                c.applySettings(s);
            } catch (RuntimeException e) {
                LOG.warn("Outbound connector {} rejected the agent settings: {}", c, e.toString());
            }
        }
        int freq = s.getNonNegativeInt(ConfigPlanner.LOG_STATS_FREQ, -1);
        synchronized (timerLock) {
            if (freq == statsFreq || closed) return;
            statsFreq = freq;
            if (statsTimer != null) statsTimer.cancel(false);
            statsTimer = null;
            if (freq > 0) {
                statsTimer = executor.scheduleAtFixedRate(this::logStats, freq, freq, TimeUnit.SECONDS);
            }
        }
    }

    private void logStats() {
        try {
            LOG.info("Agent stats {}", MessageCodec.toJson(stats()));
        } catch (RuntimeException e) {
            LOG.warn("Unable to compute agent stats: {}", e.toString());
        }
    }

    private void purge() {
        try {
            router.purgeExpired();
        } catch (RuntimeException e) {
            LOG.warn("Purging pending messages failed: {}", e.toString());
        }
    }

    private String agentIdOrUnknown() {
        BootstrapConfig b = bootstrap;
        return b == null ? "unknown" : b.agentId();
    }

    // ------------------------------------------------------------------ AgentRuntime

    @Override
    public AgentStatus status() {
        BootstrapConfig b = bootstrap;
        Transport t = transport.get();
        TransportStatus ts = null;
        if (t != null) {
            try {
                ts = t.status();
            } catch (RuntimeException e) {
                LOG.debug("Transport status unavailable", e);
            }
        }
        String err = bootstrapError != null ? bootstrapError : agentConfigError;
        return new AgentStatus(b == null ? null : b.agentId(), b == null ? null : b.baseUrl(), AgentVersion.get(),
                startedAt, ts, agentStatus, err, channels.configuredCount());
    }

    @Override
    public List<ChannelStats> channels() {
        return channels.stats();
    }

    @Override
    public Map<String, Object> stats() {
        Transport t = transport.get();
        TransportStatus ts = null;
        if (t != null) {
            try {
                ts = t.status();
            } catch (RuntimeException e) {
                LOG.debug("Transport status unavailable", e);
            }
        }
        long hl7Open = 0;
        Map<String, Object> channelStats = new LinkedHashMap<>();
        // Configuration order; channels that are not running have no detail and are left out (as in Medplum).
        for (ChannelStats s : channels.stats()) {
            Map<String, Object> detail = s.detail();
            if (detail == null || detail.isEmpty()) continue;
            if (detail.get("hl7ConnectionsOpen") instanceof Number n) hl7Open += n.longValue();
            channelStats.put(s.name(), detail);
        }
        long clients = 0;
        Map<String, Object> clientStats = new LinkedHashMap<>();
        Map<String, Object> extra = new LinkedHashMap<>();
        for (OutboundConnector c : connectors) {
            Map<String, Object> cs;
            try {
                cs = c.stats();
            } catch (RuntimeException ex) {
                continue;
            }
            if (cs == null) continue;
            for (Map.Entry<String, Object> e : cs.entrySet()) {
                if ("hl7ClientCount".equals(e.getKey()) && e.getValue() instanceof Number n) {
                    clients += n.longValue();
                } else if ("clientStats".equals(e.getKey()) && e.getValue() instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> clientStats.put(String.valueOf(k), v));
                } else {
                    extra.putIfAbsent(e.getKey(), e.getValue());
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("hl7ConnectionsOpen", hl7Open);
        out.put("ping", ts == null ? -1L : ts.pingMillis());
        out.put("webSocketQueueDepth", ts == null ? 0 : ts.queuedFrames());
        out.put("hl7QueueDepth", router.pendingCount());
        out.put("hl7ClientCount", clients);
        out.put("live", ts != null && ts.state() == LinkState.LIVE);
        out.put("outstandingHeartbeats", ts == null ? 0 : ts.outstandingHeartbeats());
        out.put("channelStats", channelStats);
        out.put("clientStats", clientStats);
        StoreAndForward q = durable.get();
        if (q != null) out.put("durableQueue", q.stats(settings.getBoolean(StoreAndForward.SETTING_ENABLED, StoreAndForward.DEFAULT_ENABLED)));
        extra.forEach(out::putIfAbsent);
        return out;
    }

    @Override
    public String reloadConfig() throws Exception {
        try {
            return load();
        } catch (ServerUnavailable e) {
            LOG.error(e.getMessage());
            throw new IllegalStateException(e.getMessage(), e.getCause());
        }
    }

    /** For tests: a smaller bound on device waits for stored messages' answers (see MessageRouter). */
    void maxDurableWaits(int max) {
        router.maxDurableWaits(max);
    }

    /** For tests: the number of submissions waiting for the server. */
    int pendingCount() {
        return router.pendingCount();
    }

    boolean isLoaded() {
        return loaded;
    }
}
