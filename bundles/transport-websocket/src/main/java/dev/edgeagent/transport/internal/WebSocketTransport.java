package dev.edgeagent.transport.internal;

import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.api.config.ConfigException;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageFormatException;
import dev.edgeagent.api.message.MessageTypes;
import dev.edgeagent.api.ops.AgentVersion;
import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.CloudException;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.api.transport.Transport;
import dev.edgeagent.api.transport.TransportException;
import dev.edgeagent.api.transport.TransportListener;
import dev.edgeagent.api.transport.TransportStatus;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import org.osgi.annotation.bundle.Capability;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import java.io.File;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cloud link (spec §1.4, §2): OAuth2 login, one Netty WebSocket to {@code /ws/agent}, the connect
 * handshake, heartbeat supervision, reconnect with back-off, a bounded outgoing buffer, and FHIR REST.
 *
 * <p>Threading: all link state lives on one Netty event loop thread (no locks); {@link #send} may be
 * called from any thread and only touches a lock-free queue. Listener callbacks run on that thread.
 *
 * <p>Configuration (PID {@code dev.edgeagent}): the {@link BootstrapConfig} keys plus the optional keys of
 * {@link TransportSettings} ({@code linkBufferFrames}, {@code linkBufferBytes}, {@code heartbeatSeconds},
 * {@code connectTimeoutMs}, {@code loginRetrySeconds}, {@code reconnectMinDelayMs},
 * {@code reconnectMaxDelayMs}, {@code restTimeoutSeconds}, {@code linkSilenceSeconds}).
 *
 * <p>The {@link Transport} service is registered by hand: DS would publish every key of the PID as a service
 * property, {@code clientSecret} and {@code trustStorePassword} included, readable by any bundle and by
 * {@code service:list}. The registration carries only {@link Transport#LINK_STATE_PROPERTY}, kept current.
 */
// The manual registration still belongs in the manifest for resolvers and tooling.
@Capability(namespace = "osgi.service", attribute = "objectClass:List<String>=dev.edgeagent.api.transport.Transport")
@Component(configurationPid = BootstrapConfig.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {}, immediate = true)
public final class WebSocketTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketTransport.class);

    static final int MAX_FRAME_BYTES = 64 * 1024 * 1024;
    /** Medplum: not live on more than this many ticks forces a reconnect. */
    static final int MAX_NOT_LIVE_HEARTBEATS = 2;
    /** Medplum: more than this many unanswered heartbeats while live forces a reconnect. */
    static final int MAX_MISSED_HEARTBEATS = 1;
    private static final int DRAIN_BATCH = 256;

    /** Everything derived from one valid configuration. */
    private record Session(TransportSettings settings, URI uri, String host, int port, SslContext ssl,
                           HttpClient http, TokenManager tokens, FhirRestClient rest) {
        String url() {
            return settings.bootstrap().webSocketUrl();
        }
    }

    /**
     * A frame waiting for the link, already UTF-8 encoded by the sending thread (off the event loop). {@code message} is
     * kept only when the token must be refreshed at write time.
     */
    private record Pending(AgentMessage message, byte[] json, long tokenGeneration, String type, String callback) {
        int chars() {
            return json.length;
        }
    }

    private final EventLoopGroup group;
    private final EventLoop loop;
    private final ExecutorService httpExecutor;
    private final List<TransportListener> listeners = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
    /** Frames accepted and not yet written successfully: queued, in Netty's buffer, or awaiting a retry. */
    private final AtomicInteger pendingFrames = new AtomicInteger();
    private final AtomicLong pendingChars = new AtomicLong();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CloudClient cloud = new CloudFacade();

    // Readable from any thread, written on the loop.
    private volatile Session session;
    private volatile String configProblem = "no configuration yet";
    private volatile LinkState state = LinkState.STOPPED;
    private volatile long since = System.currentTimeMillis();
    private volatile long pingMillis = -1;
    private volatile int outstandingHeartbeats;
    private volatile String serverVersion;
    private volatile String lastError;

    // Event-loop confined.
    private final ArrayDeque<Pending> retry = new ArrayDeque<>();
    private int generation;
    private Channel channel;
    private String closeReason;
    private long liveSinceMs = -1;
    private int notLiveTicks;
    private long lastHeartbeatSentNanos;
    /** When the current socket last delivered any bytes (read-idle guard). */
    private long lastInboundNanos;
    private ScheduledFuture<?> silenceTask;
    private ReconnectBackoff backoff;
    private ScheduledFuture<?> heartbeatTask;
    private ScheduledFuture<?> loginTask;
    private ScheduledFuture<?> refreshTask;
    private ScheduledFuture<?> reconnectTask;

    /** Null outside OSGi (tests). */
    private volatile ServiceRegistration<Transport> registration;

    @Activate
    public WebSocketTransport(Map<String, Object> config, BundleContext context) {
        this(config, List.of());
        registration = context.registerService(Transport.class, this, serviceProperties(state));
        // A state change between construction and registration would otherwise be missed.
        publishState();
    }

    /** For tests: listeners that must see every state from the start. */
    WebSocketTransport(Map<String, ?> config, List<TransportListener> initialListeners) {
        listeners.addAll(initialListeners);
        group = new NioEventLoopGroup(1, new DefaultThreadFactory("edgeagent-cloud-link", true));
        loop = group.next();
        AtomicInteger n = new AtomicInteger();
        httpExecutor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "edgeagent-cloud-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        configure(config);
    }

    /** Applies a new configuration; reconnects only when the effective settings changed. */
    @Modified
    public void modified(Map<String, Object> config) {
        configure(config);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "removeListener")
    public void addListener(TransportListener listener) {
        listeners.add(listener);
        // A listener that arrives late must still learn the current state (changes are only reported once).
        onLoop(() -> {
            if (listeners.contains(listener)) {
                listener.onLinkState(state);
            }
        });
    }

    public void removeListener(TransportListener listener) {
        listeners.remove(listener);
    }

    void configure(Map<String, ?> raw) {
        if (closed.get()) {
            return;
        }
        Session s = null;
        String problem = null;
        try {
            s = newSession(TransportSettings.parse(raw));
        } catch (ConfigException e) {
            problem = e.getMessage();
        }
        Session fs = s;
        String fp = problem;
        onLoop(() -> apply(fs, fp));
    }

    /** Stops the link for good (no reconnect). Safe to call more than once. */
    @Deactivate
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        ServiceRegistration<Transport> r = registration;
        registration = null;
        if (r != null) {
            try {
                r.unregister();
            } catch (IllegalStateException e) {
                // already gone with the bundle
            }
        }
        io.netty.util.concurrent.Future<?> done = loop.submit(() -> {
            generation++;
            teardown();
            setState(LinkState.STOPPED, "transport stopped");
        });
        if (!loop.inEventLoop()) {
            done.awaitUninterruptibly(2000);
        }
        int left = pendingFrames.get();
        if (left > 0) {
            LOG.warn("Cloud transport stopped with {} frame(s) not delivered to the server", left);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        httpExecutor.shutdownNow();
    }

    // ---------------------------------------------------------------- Transport

    @Override
    public LinkState state() {
        return state;
    }

    @Override
    public void send(AgentMessage message) throws TransportException {
        Objects.requireNonNull(message, "message");
        if (closed.get()) {
            throw new TransportException("Cloud transport is stopped; " + describe(message) + " was not sent");
        }
        Session s = session;
        if (s == null) {
            throw new TransportException("Cloud transport is not configured (" + configProblem + "); "
                    + describe(message) + " was not sent");
        }
        String type = message.type();
        if (MessageTypes.HEARTBEAT_REQUEST.equals(type) || MessageTypes.HEARTBEAT_RESPONSE.equals(type)) {
            sendHeartbeatFrame(message);
            return;
        }
        Pending p = encode(message, s);
        int frames = pendingFrames.incrementAndGet();
        long chars = pendingChars.addAndGet(p.chars());
        TransportSettings cfg = s.settings();
        // One oversized frame may pass alone, otherwise a single big message could never be sent.
        if (frames > cfg.linkBufferFrames() || (chars > cfg.linkBufferBytes() && frames > 1)) {
            pendingFrames.decrementAndGet();
            pendingChars.addAndGet(-p.chars());
            String why = state == LinkState.LIVE ? "Cloud link is congested" : "Cloud link is down";
            String size = frames > cfg.linkBufferFrames() ? cfg.linkBufferFrames() + " frames"
                    : (frames - 1) + " frames, " + cfg.linkBufferBytes() / (1024 * 1024) + " MiB";
            throw new TransportException(why + " and the outgoing buffer is full (" + size + ")");
        }
        queue.add(p);
        if (state == LinkState.LIVE) {
            scheduleDrain();
        }
    }

    @Override
    public TransportStatus status() {
        Session s = session;
        return new TransportStatus(state, s == null ? null : s.url(), since, pingMillis, outstandingHeartbeats,
                pendingFrames.get(), serverVersion, lastError);
    }

    @Override
    public CloudClient cloud() {
        return cloud;
    }

    // ---------------------------------------------------------------- configuration (loop)

    private Session newSession(TransportSettings settings) throws ConfigException {
        BootstrapConfig boot = settings.bootstrap();
        URI uri = URI.create(boot.webSocketUrl());
        boolean tls = "wss".equals(uri.getScheme());
        int port = uri.getPort() != -1 ? uri.getPort() : tls ? 443 : 80;
        TrustManagerFactory tmf = trustManagers(boot);
        SslContext ssl = null;
        HttpClient.Builder hb = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofMillis(settings.connectTimeoutMs()))
                .executor(httpExecutor);
        try {
            if (tls) {
                ssl = clientTls(tmf);
            }
            if (tmf != null) {
                SSLContext sc = SSLContext.getInstance("TLS");
                sc.init(null, tmf.getTrustManagers(), null);
                hb.sslContext(sc);
            }
        } catch (Exception e) {
            throw new ConfigException(BootstrapConfig.KEY_TRUST_STORE, "cannot be used for TLS: " + e.getMessage());
        }
        HttpClient http = hb.build();
        Duration timeout = Duration.ofMillis(settings.restTimeoutMillis());
        TokenManager tokens = new TokenManager(http, boot, timeout, System::currentTimeMillis);
        return new Session(settings, uri, uri.getHost(), port, ssl, http, tokens,
                new FhirRestClient(http, tokens, boot.baseUrl(), timeout));
    }

    /** Certificate and host-name verification stay on; only the trust anchors are configurable (null = JDK default). */
    static SslContext clientTls(TrustManagerFactory tmf) throws javax.net.ssl.SSLException {
        return SslContextBuilder.forClient().endpointIdentificationAlgorithm("HTTPS").trustManager(tmf).build();
    }

    /** The custom trust store, or null for the JDK default trust. */
    private static TrustManagerFactory trustManagers(BootstrapConfig boot) throws ConfigException {
        if (boot.trustStore() == null) {
            return null;
        }
        try {
            char[] pw = boot.trustStorePassword() == null ? null : boot.trustStorePassword().toCharArray();
            KeyStore ks = KeyStore.getInstance(new File(boot.trustStore()), pw);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return tmf;
        } catch (Exception e) {
            throw new ConfigException(BootstrapConfig.KEY_TRUST_STORE, "cannot be loaded from " + boot.trustStore()
                    + " (check trustStorePassword): " + e.getMessage());
        }
    }

    private void apply(Session s, String problem) {
        if (closed.get()) {
            return;
        }
        Session old = session;
        if (s != null && old != null && s.settings().equals(old.settings())) {
            return;
        }
        generation++;
        teardown();
        if (problem != null) {
            session = null;
            configProblem = problem;
            lastError = problem;
            LOG.error("Cloud transport not started: {} (configuration PID {})", problem, BootstrapConfig.PID);
            setState(LinkState.STOPPED, null);
            return;
        }
        session = s;
        configProblem = null;
        TransportSettings cfg = s.settings();
        backoff = new ReconnectBackoff(cfg.reconnectMinDelayMs(), cfg.reconnectMaxDelayMs(), ReconnectBackoff.MIN_UPTIME_MS);
        if (cfg.linkSilenceWarning() != null) {
            LOG.warn(cfg.linkSilenceWarning());
        }
        heartbeatTask = loop.scheduleAtFixedRate(this::tick, cfg.heartbeatMillis(), cfg.heartbeatMillis(), TimeUnit.MILLISECONDS);
        login();
    }

    /** Drops the connection and all timers; the buffer is kept for the next connection. */
    private void teardown() {
        heartbeatTask = cancel(heartbeatTask);
        loginTask = cancel(loginTask);
        refreshTask = cancel(refreshTask);
        reconnectTask = cancel(reconnectTask);
        silenceTask = cancel(silenceTask);
        Channel ch = channel;
        channel = null;
        if (ch != null) {
            ch.close();
        }
        liveSinceMs = -1;
        notLiveTicks = 0;
        outstandingHeartbeats = 0;
    }

    // ---------------------------------------------------------------- login (loop)

    private void login() {
        loginTask = cancel(loginTask);
        Session s = session;
        if (s == null) {
            return;
        }
        TokenManager.Token t = s.tokens().current();
        if (channel == null && reconnectTask == null && (t == null || t.expired(System.currentTimeMillis()))) {
            setState(LinkState.AUTHENTICATING, null);
        }
        int gen = generation;
        try {
            s.tokens().login().whenCompleteAsync((tok, err) -> onLogin(gen, tok, err), loop);
        } catch (RejectedExecutionException e) {
            // the loop is shutting down
        }
    }

    private void onLogin(int gen, TokenManager.Token token, Throwable err) {
        if (gen != generation || closed.get()) {
            return;
        }
        Session s = session;
        if (err != null) {
            String reason = rootMessage(err);
            lastError = "Failed to login: " + reason;
            LOG.warn("Failed to login: {} (retrying in {} ms)", reason, s.settings().loginRetryMillis());
            loginTask = loop.schedule(this::login, s.settings().loginRetryMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        long refreshIn = Math.max(100, token.obtainedAtMs() + TokenManager.refreshDelay(token) - System.currentTimeMillis());
        LOG.debug("Access token obtained, valid until {}, refresh in {} ms", token.expiresAtMs(), refreshIn);
        refreshTask = cancel(refreshTask);
        refreshTask = loop.schedule(this::login, refreshIn, TimeUnit.MILLISECONDS);
        // A refresh while connected keeps the socket: frames pick up the new token at write time.
        if (channel == null && reconnectTask == null) {
            connect();
        }
    }

    // ---------------------------------------------------------------- connection (loop)

    private void connect() {
        reconnectTask = null;
        Session s = session;
        if (s == null || channel != null || closed.get()) {
            return;
        }
        TokenManager.Token t = s.tokens().current();
        if (t == null || t.expired(System.currentTimeMillis())) {
            login();
            return;
        }
        setState(LinkState.CONNECTING, null);
        closeReason = null;
        int timeout = s.settings().connectTimeoutMs();
        Bootstrap b = new Bootstrap().group(loop).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeout)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ChannelPipeline p = ch.pipeline();
                        // First in line so that every byte counts, including pings the WebSocket handler answers itself.
                        p.addLast("inbound-clock", new InboundClock(WebSocketTransport.this));
                        if (s.ssl() != null) {
                            SslHandler tls = s.ssl().newHandler(ch.alloc(), s.host(), s.port());
                            tls.setHandshakeTimeoutMillis(timeout);
                            p.addLast("tls", tls);
                        }
                        p.addLast("http", new HttpClientCodec());
                        p.addLast("http-aggregator", new HttpObjectAggregator(64 * 1024));
                        p.addLast("websocket", new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig.newBuilder()
                                .webSocketUri(s.uri())
                                .subprotocol(null)
                                .allowExtensions(false)
                                .maxFramePayloadLength(MAX_FRAME_BYTES)
                                .handshakeTimeoutMillis(timeout)
                                .handleCloseFrames(false)
                                .dropPongFrames(true)
                                .forceCloseTimeoutMillis(1000)
                                .generateOriginHeader(false)
                                .build()));
                        p.addLast("frame-aggregator", new WebSocketFrameAggregator(MAX_FRAME_BYTES));
                        p.addLast("link", new LinkHandler(WebSocketTransport.this));
                    }
                });
        ChannelFuture cf = b.connect(s.host(), s.port());
        Channel ch = cf.channel();
        channel = ch;
        cf.addListener(f -> {
            if (!f.isSuccess() && ch == channel) {
                closeReason = "cannot connect to " + s.host() + ":" + s.port() + ": " + describe(f.cause());
                ch.close();
            }
        });
        ch.closeFuture().addListener(f -> {
            // Netty may complete the close before the failed connect promise's listener ran: keep the real cause
            // (e.g. "Connection refused") instead of a generic "connection closed".
            if (ch == channel && closeReason == null && cf.isDone() && !cf.isSuccess()) {
                closeReason = "cannot connect to " + s.host() + ":" + s.port() + ": " + describe(cf.cause());
            }
            onClosed(ch);
        });
    }

    void onOpen(Channel ch) {
        if (ch != channel) {
            return;
        }
        notLiveTicks = 0;
        lastInboundNanos = System.nanoTime();
        setState(LinkState.OPEN, null);
        Session s = session;
        silenceTask = cancel(silenceTask);
        silenceTask = loop.schedule(() -> checkSilence(ch), s.settings().linkSilenceMillis(), TimeUnit.MILLISECONDS);
        TokenManager.Token t = s.tokens().current();
        String token = t == null ? "" : t.value();
        ch.writeAndFlush(new TextWebSocketFrame(MessageCodec.encode(
                AgentMessage.connectRequest(token, s.settings().bootstrap().agentId()))));
    }

    void onHandshakeTimeout(Channel ch) {
        if (ch == channel) {
            closeReason = "WebSocket handshake timed out after " + session.settings().connectTimeoutMs() + " ms";
        }
    }

    void onServerClose(Channel ch, int status, String reason) {
        if (ch == channel) {
            closeReason = "the server closed the WebSocket (" + status + (reason == null || reason.isEmpty() ? "" : " " + reason) + ")";
        }
        ch.close();
    }

    void onError(Channel ch, Throwable cause) {
        if (ch == channel && closeReason == null) {
            closeReason = describe(cause);
        }
        LOG.debug("Cloud link error", cause);
        ch.close();
    }

    /** Any bytes from the server (called for every read, on the loop). */
    void onInbound(Channel ch) {
        if (ch == channel) {
            lastInboundNanos = System.nanoTime();
        }
    }

    /**
     * Read-idle guard, independent of the heartbeat counters: an open socket on which the server has sent nothing
     * for {@code linkSilenceSeconds} is dead (e.g. packets dropped, a hung server behind a proxy that keeps TCP up).
     */
    private void checkSilence(Channel ch) {
        silenceTask = null;
        LinkState st = state;
        if (ch != channel || (st != LinkState.OPEN && st != LinkState.LIVE)) {
            return;
        }
        long limitNanos = TimeUnit.MILLISECONDS.toNanos(session.settings().linkSilenceMillis());
        long quietNanos = System.nanoTime() - lastInboundNanos;
        if (quietNanos < limitNanos) {
            silenceTask = loop.schedule(() -> checkSilence(ch), limitNanos - quietNanos, TimeUnit.NANOSECONDS);
            return;
        }
        long quietMs = TimeUnit.NANOSECONDS.toMillis(quietNanos);
        String limit = TransportSettings.seconds(session.settings().linkSilenceMillis());
        LOG.warn("Cloud link {} ({}): nothing received from the server for {} ms although the socket is open (limit {} s,"
                + " configuration key {}); dropping the connection and reconnecting", st, session.url(), quietMs, limit,
                TransportSettings.KEY_LINK_SILENCE_SECONDS);
        forceReconnect("the server sent nothing for " + quietMs + " ms on an open socket (" + TransportSettings.KEY_LINK_SILENCE_SECONDS
                + "=" + limit + ")");
    }

    void onWritable(Channel ch) {
        if (ch == channel) {
            drain();
        }
    }

    private void onClosed(Channel ch) {
        if (ch != channel) {
            return;
        }
        channel = null;
        disconnected();
    }

    /** Drops the current socket on purpose (silent server) and schedules the reconnect. */
    private void forceReconnect(String reason) {
        Channel ch = channel;
        if (ch == null) {
            return;
        }
        closeReason = reason;
        channel = null;
        ch.close();
        disconnected();
    }

    /** The current socket is gone (channel already cleared): schedule the next attempt. */
    private void disconnected() {
        long now = System.currentTimeMillis();
        backoff.connectionEnded(liveSinceMs, now);
        liveSinceMs = -1;
        outstandingHeartbeats = 0;
        notLiveTicks = 0;
        silenceTask = cancel(silenceTask);
        String reason = closeReason != null ? closeReason : "connection closed";
        closeReason = null;
        lastError = reason;
        long delay = backoff.nextDelay();
        reconnectTask = cancel(reconnectTask);
        reconnectTask = loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
        if (state == LinkState.CONNECTING) {
            LOG.warn("Cloud link connection to {} failed: {}; retry {} in {} ms", session.url(), reason, backoff.retries(), delay);
        } else {
            setState(LinkState.CONNECTING, "reconnecting in " + delay + " ms after: " + reason);
        }
    }

    // ---------------------------------------------------------------- inbound (loop)

    /** One text or binary frame (UTF-8 JSON); {@code content} is only valid during the call. */
    void onFrame(Channel ch, ByteBuf content) {
        if (ch != channel) {
            return;
        }
        AgentMessage msg;
        try {
            msg = decode(content);
        } catch (MessageFormatException e) {
            String text = content.toString(StandardCharsets.UTF_8);
            LOG.warn("Cloud link: undecodable frame from the server ({}): {}", e.getMessage(), FhirRestClient.excerpt(text));
            for (TransportListener l : listeners) {
                try {
                    l.onUndecodable(e.getMessage(), e.callback());
                } catch (RuntimeException ex) {
                    LOG.warn("Transport listener {} failed on an undecodable frame", l, ex);
                }
            }
            return;
        }
        String type = MessageTypes.normalizeInbound(msg.type());
        switch (type) {
            case MessageTypes.CONNECT_RESPONSE:
                if (state == LinkState.OPEN) {
                    live();
                }
                return;
            case MessageTypes.HEARTBEAT_REQUEST:
                outstandingHeartbeats = 0;
                ch.writeAndFlush(new TextWebSocketFrame(MessageCodec.encode(AgentMessage.heartbeatResponse(AgentVersion.get()))));
                return;
            case MessageTypes.HEARTBEAT_RESPONSE:
                outstandingHeartbeats = 0;
                if (lastHeartbeatSentNanos != 0) {
                    pingMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastHeartbeatSentNanos);
                }
                if (msg.version() != null) {
                    serverVersion = msg.version();
                }
                return;
            default:
                break;
        }
        if (!type.equals(msg.type())) {
            msg = msg.with(AgentMessage.TYPE, type);
        }
        boolean refused = state == LinkState.OPEN && MessageTypes.ERROR.equals(type);
        if (refused) {
            // An error in answer to the connect request is typically "Invalid access token" (e.g. the server
            // restarted with new signing keys). Waiting would leave the link half-open for 3 heartbeat periods
            // and then retry with the same token, so log in again and reconnect now.
            LOG.warn("Cloud link: the server refused the connect request: {}", msg.body());
            session.tokens().invalidate(session.tokens().current());
        }
        for (TransportListener l : listeners) {
            try {
                l.onMessage(msg);
            } catch (RuntimeException e) {
                LOG.warn("Transport listener {} failed on {} (callback {})", l, type, msg.callback(), e);
            }
        }
        if (refused) {
            forceReconnect("the server refused the connect request: " + msg.body());
        }
    }

    private void live() {
        liveSinceMs = System.currentTimeMillis();
        notLiveTicks = 0;
        outstandingHeartbeats = 0;
        setState(LinkState.LIVE, null);
        drain();
    }

    // ---------------------------------------------------------------- heartbeats (loop)

    private void tick() {
        Channel ch = channel;
        if (state == LinkState.LIVE && ch != null) {
            if (outstandingHeartbeats > MAX_MISSED_HEARTBEATS) {
                LOG.warn("Disconnected from Medplum server. Attempting to reconnect...");
                forceReconnect("no answer to " + outstandingHeartbeats + " heartbeats in a row");
                return;
            }
            outstandingHeartbeats++;
            lastHeartbeatSentNanos = System.nanoTime();
            ch.writeAndFlush(new TextWebSocketFrame(MessageCodec.encode(AgentMessage.heartbeatRequest())));
            drain();
        } else if (ch != null) {
            if (++notLiveTicks > MAX_NOT_LIVE_HEARTBEATS) {
                forceReconnect("the server did not answer agent:connect:request within " + notLiveTicks + " heartbeat periods");
            }
        } else {
            notLiveTicks = 0;
        }
    }

    // ---------------------------------------------------------------- outbound

    private Pending encode(AgentMessage message, Session s) {
        if (!message.has(AgentMessage.ACCESS_TOKEN)) {
            return new Pending(null, MessageCodec.encodeToBytes(message), 0, message.type(), message.callback());
        }
        TokenManager.Token t = s.tokens().current();
        String token = t == null ? "placeholder" : t.value();
        long gen = t == null ? -1 : t.generation();
        return new Pending(message, MessageCodec.encodeToBytes(message, AgentMessage.ACCESS_TOKEN, token), gen,
                message.type(), message.callback());
    }

    /**
     * Parses the frame's bytes in place (no String). Only a frame that fails is decoded again as text, so anything the
     * text path accepted (e.g. a binary frame with invalid UTF-8, read with replacement characters) still is, and
     * errors carry the same messages as before.
     */
    private static AgentMessage decode(ByteBuf content) throws MessageFormatException {
        try {
            if (content.hasArray()) {
                return MessageCodec.decode(content.array(), content.arrayOffset() + content.readerIndex(),
                        content.readableBytes());
            }
            return MessageCodec.decode(new ByteBufInputStream(content.duplicate()));
        } catch (MessageFormatException | UncheckedIOException e) {
            return MessageCodec.decode(content.toString(StandardCharsets.UTF_8));
        }
    }

    private void sendHeartbeatFrame(AgentMessage message) throws TransportException {
        LinkState st = state;
        if (st != LinkState.OPEN && st != LinkState.LIVE) {
            throw new TransportException("Cloud link is " + st + "; heartbeat frames are not buffered, "
                    + describe(message) + " was not sent");
        }
        String json = MessageCodec.encode(message);
        onLoop(() -> {
            Channel ch = channel;
            if (ch != null) {
                ch.writeAndFlush(new TextWebSocketFrame(json));
            }
        });
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(this::drain);
            } catch (RejectedExecutionException e) {
                drainScheduled.set(false);
            }
        }
    }

    /** Writes waiting frames in order, a batch at a time with one flush, while the socket is writable. */
    private void drain() {
        drainScheduled.set(false);
        Channel ch = channel;
        if (state != LinkState.LIVE || ch == null) {
            return;
        }
        int n = 0;
        while (n < DRAIN_BATCH && ch.isWritable()) {
            Pending p = retry.pollFirst();
            if (p == null) {
                p = queue.poll();
            }
            if (p == null) {
                break;
            }
            write(ch, p);
            n++;
        }
        if (n > 0) {
            ch.flush();
        }
        if (n == DRAIN_BATCH && ch.isWritable()) {
            scheduleDrain();
        }
    }

    private void write(Channel ch, Pending p) {
        byte[] json = p.json();
        if (p.message() != null) {
            TokenManager.Token t = session.tokens().current();
            if (t != null && t.generation() != p.tokenGeneration()) {
                json = MessageCodec.encodeToBytes(p.message(), AgentMessage.ACCESS_TOKEN, t.value());
            }
        }
        // Wrapped, not copied: the client-side frame encoder masks the payload into a pooled buffer anyway, and the
        // array stays intact for a resend after a failed write.
        ch.write(new TextWebSocketFrame(Unpooled.wrappedBuffer(json))).addListener(f -> {
            if (f.isSuccess()) {
                pendingFrames.decrementAndGet();
                pendingChars.addAndGet(-p.chars());
            } else {
                // Failures arrive in write order, so appending keeps the original order for the next connection.
                LOG.debug("Cloud link: {} will be resent after reconnect: {}", p.type(), describe(f.cause()));
                retry.addLast(p);
            }
        });
    }

    // ---------------------------------------------------------------- helpers

    private void setState(LinkState next, String detail) {
        if (state == next) {
            return;
        }
        state = next;
        since = System.currentTimeMillis();
        Session s = session;
        String url = s == null ? "not configured" : s.url();
        if (detail == null) {
            LOG.info("Cloud link {} ({})", next, url);
        } else {
            LOG.info("Cloud link {} ({}): {}", next, url, detail);
        }
        publishState();
        for (TransportListener l : listeners) {
            try {
                l.onLinkState(next);
            } catch (RuntimeException e) {
                LOG.warn("Transport listener {} failed on link state {}", l, next, e);
            }
        }
    }

    private static Dictionary<String, Object> serviceProperties(LinkState s) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(LINK_STATE_PROPERTY, s.name());
        return props;
    }

    /** Mirrors the link state into the service registration (so filters such as {@code (edgeagent.link.state=LIVE)} work). */
    private void publishState() {
        ServiceRegistration<Transport> r = registration;
        if (r == null) {
            return;
        }
        try {
            r.setProperties(serviceProperties(state));
        } catch (IllegalStateException e) {
            // unregistered concurrently by close()
        }
    }

    private void onLoop(Runnable r) {
        if (loop.inEventLoop()) {
            r.run();
        } else {
            try {
                loop.execute(r);
            } catch (RejectedExecutionException e) {
                // shutting down: nothing left to do
            }
        }
    }

    private static ScheduledFuture<?> cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
        return null;
    }

    private static String describe(AgentMessage m) {
        String cb = m.callback();
        return "frame " + m.type() + (cb == null ? "" : " (callback " + cb + ")");
    }

    static String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        String msg = t.getMessage();
        return msg == null || msg.isBlank() ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + msg;
    }

    private static String rootMessage(Throwable err) {
        Throwable c = err;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c instanceof TokenManager.LoginException ? c.getMessage() : describe(c);
    }

    /** Resolves the session at call time, so the client follows configuration changes. */
    private final class CloudFacade implements CloudClient {
        @Override
        public Map<String, Object> read(String resourceType, String id) throws CloudException {
            return rest().read(resourceType, id);
        }

        @Override
        public String createBinary(String contentType, Path file) throws CloudException {
            return rest().createBinary(contentType, file);
        }

        private FhirRestClient rest() throws CloudException {
            Session s = session;
            if (closed.get() || s == null) {
                throw new CloudException(0, "Cloud transport is " + (closed.get() ? "stopped" : "not configured (" + configProblem + ")"));
            }
            return s.rest();
        }
    }
}
