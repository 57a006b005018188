package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.Channel;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.MessageRefusedException;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.message.ContentTypes;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.Charset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One MLLP listener (an {@code Agent.channel} with an {@code mllp://} address). Every device connection
 * reads the channel's current {@link Hl7Params} for each message, so a live reconfiguration reaches open
 * connections too. Netty event loops are the factory's; this class owns only its sockets.
 * <p>
 * Medplum parity (spec §4.3–4.6): commit ACK in enhanced modes, app-level ACK gating, assignSeqNo,
 * messagesPerMin pacing per connection. Deliberate differences from the Medplum Agent, each switched back
 * to Medplum's silence by the endpoint parameter {@code nakOnError=false}:
 * <ul>
 * <li>the commit ACK (CA/AA) is sent when the runtime has taken the message ({@link Submission#accepted()}),
 *     not before; if it cannot take it the device gets CE (AE in {@code aa} mode) with the reason;</li>
 * <li>a message the runtime refuses for good ({@link MessageRefusedException}: a refused duplicate MSH-10) is
 *     answered CR in {@code enhanced=true}, AR otherwise, and AR in every mode when the id was reused for different
 *     content (spec §8 intake). This answer is sent even with {@code nakOnError=false}, as the Medplum Agent's
 *     durable queue does, and is not subject to appLevelAck gating: it is the device's only answer;</li>
 * <li>a frame not starting with MSH is answered AR (CR in enhanced mode) from a minimal MSH of our own;</li>
 * <li>a message without MSH-10 is answered AR/CR and not forwarded (nothing could correlate its answer);</li>
 * <li>a server answer with status ≥ 400, an answer that is not HL7, or no answer at all (link buffer full,
 *     timeout) is answered AE with the reason, subject to the appLevelAck gating in enhanced modes.</li>
 * </ul>
 * Every negative answer carries an ERR segment (HL7 2.5, table 0357 code) and is logged at WARN with the
 * channel, the peer and the reason. Also beyond Medplum: {@code maxConnections}, {@code idleTimeoutSecs}
 * (an idle connection is never closed while a message of it is queued or awaiting the server's answer) and
 * {@code validate} (HAPI validation before forwarding, {@link Hl7Validator}).
 */
final class Hl7Channel implements Channel {
    static final String TYPE = "HL7";
    private static final Logger LOG = LoggerFactory.getLogger(Hl7Channel.class);
    private static final long BIND_TIMEOUT_SECONDS = 10;
    private static final long CLOSE_WAIT_SECONDS = 3;
    /** Housekeeping period (idle connections, RTT purge); idle timeouts are whole seconds. */
    private static final long HOUSEKEEPING_MILLIS = 500;
    /** Server bodies quoted to devices are cut here: a NAK is not the place for a stack trace. */
    static final int MAX_QUOTED_BODY = 200;
    /** Rejected-connection WARNs per second before they are summarised (a flood must not flood the log). */
    private static final int REJECT_LOGS_PER_SECOND = 5;

    private final Hl7ChannelFactory factory;
    private final ChannelContext context;
    private final String logPrefix;
    private final Object lifecycle = new Object();
    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final AtomicInteger admitted = new AtomicInteger();
    private final AtomicLong messagesIn = new AtomicLong();
    private final AtomicLong messagesOut = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong junkBytes = new AtomicLong();
    private final AtomicLong naksSent = new AtomicLong();
    private final AtomicLong connectionsRejected = new AtomicLong();
    private final AtomicLong idleClosed = new AtomicLong();
    /** assignSeqNo counter: lives as long as this instance, i.e. across reconfigurations (spec §4.6). */
    private final SequenceNumbers sequence = new SequenceNumbers();
    private final RttTracker rtt;
    private final Object rejectLog = new Object();
    private long rejectLogSecond; // guarded by rejectLog
    private int rejectLogsThisSecond; // guarded by rejectLog
    private long rejectsNotLogged; // guarded by rejectLog
    private volatile ChannelConfig config;
    private volatile Hl7Params params;
    private volatile ChannelState state = ChannelState.STOPPED;
    private volatile String lastError;
    private io.netty.channel.Channel server; // guarded by lifecycle
    private ScheduledFuture<?> housekeeping; // guarded by lifecycle

    Hl7Channel(ChannelConfig config, ChannelContext context, Hl7ChannelFactory factory) {
        this.config = config;
        this.params = Hl7Params.from(config);
        this.context = context;
        this.factory = factory;
        this.logPrefix = "[" + TYPE + ":" + config.name() + "] ";
        this.rtt = new RttTracker(logPrefix);
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public ChannelConfig config() {
        return config;
    }

    /** The port actually bound (differs from the configured one only when that is 0), or -1. */
    int boundPort() {
        synchronized (lifecycle) {
            return server == null ? -1 : ((InetSocketAddress) server.localAddress()).getPort();
        }
    }

    RttTracker rtt() {
        return rtt;
    }

    @Override
    public void start() throws ChannelException {
        synchronized (lifecycle) {
            if (server != null) return;
            state = ChannelState.STARTING;
            int port = config.port();
            ServerBootstrap b = new ServerBootstrap()
                    .group(factory.bossGroup(), factory.workerGroup())
                    .channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            Connection c = new Connection();
                            ch.pipeline().addLast("activity", c.activity);
                            ch.pipeline().addLast("mllp", new MllpFrameDecoder(logPrefix,
                                    () -> params.maxFrameBytes, decoderEvents));
                            ch.pipeline().addLast("hl7", c);
                        }
                    });
            // The wildcard address: Medplum listens on all interfaces whatever the host in the URL says.
            ChannelFuture f = b.bind(new InetSocketAddress(port));
            boolean done = f.awaitUninterruptibly(BIND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!done || !f.isSuccess()) {
                String reason = !done ? "timed out" : String.valueOf(f.cause().getMessage());
                String text = "Unable to bind port " + port + ": " + reason;
                if (!done) f.channel().close();
                state = ChannelState.FAILED;
                lastError = text;
                LOG.error("{}{}", logPrefix, text);
                throw new ChannelException(text, f.cause());
            }
            server = f.channel();
            housekeeping = server.eventLoop().scheduleAtFixedRate(this::housekeeping, HOUSEKEEPING_MILLIS,
                    HOUSEKEEPING_MILLIS, TimeUnit.MILLISECONDS);
            state = ChannelState.LISTENING;
            factory.channelStarted(this); // a channel restarted after stop() must again be stopped with the factory
            LOG.info("{}Listening on port {}", logPrefix, boundPort());
        }
    }

    @Override
    public boolean reconfigure(ChannelConfig newConfig) {
        if (newConfig.port() != config.port()) return false;
        Hl7Params p = Hl7Params.from(newConfig);
        synchronized (lifecycle) {
            config = newConfig;
            params = p;
            if (!p.assignSeqNo) sequence.reset(); // Medplum: turning assignSeqNo off resets the counter
        }
        LOG.info("{}Configuration applied to the listener and {} open connection(s): {}", logPrefix,
                connections.size(), newConfig.address().raw());
        return true;
    }

    @Override
    public void stop() {
        io.netty.channel.Channel srv;
        List<ChannelFuture> closing = new ArrayList<>();
        synchronized (lifecycle) {
            if (state == ChannelState.STOPPED && server == null) return;
            state = ChannelState.STOPPED;
            srv = server;
            server = null;
            if (housekeeping != null) {
                housekeeping.cancel(false);
                housekeeping = null;
            }
            if (srv != null) closing.add(srv.close());
            for (Connection c : connections.values()) closing.add(c.channel.close());
            // Closed connections leave the map only when Netty fires channelInactive, after the close future.
            connections.clear();
        }
        // Wait briefly so the port is free when the core rebinds it right after (port change, restart).
        if (srv == null || !srv.eventLoop().inEventLoop()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CLOSE_WAIT_SECONDS);
            for (ChannelFuture f : closing) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !f.awaitUninterruptibly(left, TimeUnit.NANOSECONDS)) break;
            }
        }
        factory.channelStopped(this);
        LOG.info("{}Stopped", logPrefix);
    }

    @Override
    public ChannelStats stats() {
        ChannelConfig c = config;
        rtt.purge(System.nanoTime(), false);
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("hl7ConnectionsOpen", connections.size());
        detail.put("rtt", rtt.snapshot());
        detail.put("junkBytesSkipped", junkBytes.get());
        detail.put("naksSent", naksSent.get());
        detail.put("connectionsRejected", connectionsRejected.get());
        detail.put("idleConnectionsClosed", idleClosed.get());
        int bound = boundPort();
        detail.put("port", bound < 0 ? c.port() : bound);
        return new ChannelStats(c.name(), TYPE, c.address().raw(), state, connections.size(), messagesIn.get(),
                messagesOut.get(), errors.get(), detail, lastError);
    }

    @Override
    public boolean deliverUnmatched(String remote, DeviceReply reply) {
        Connection c = connections.get(remote);
        if (c == null) return false;
        c.deliver(reply, null);
        return true;
    }

    /** The commit-ACK log line of Medplum (checklist 53). */
    static String commitAckLogText(String code, String messageId) {
        return "[Sent " + ("AA".equals(code) ? "App ACK (AA)" : "Commit ACK (CA)") + " -- ID: "
                + (messageId == null ? "not provided" : messageId) + "]";
    }

    /** The assignSeqNo log line of Medplum (spec §4.6). */
    static String sequenceLogText(String messageId, long n) {
        return "Setting sequence number for message control ID '" + messageId + "': " + n;
    }

    private void error(String text) {
        errors.incrementAndGet();
        lastError = text;
    }

    private void housekeeping() {
        long now = System.nanoTime();
        rtt.purge(now, false);
        int idleSecs = params.idleTimeoutSecs;
        if (idleSecs <= 0) return;
        long limit = TimeUnit.SECONDS.toNanos(idleSecs);
        for (Connection c : connections.values()) {
            if (c.busy.get() == 0 && now - c.lastActivityNanos > limit && c.channel.isActive()) {
                idleClosed.incrementAndGet();
                LOG.info("{}Closing idle HL7 connection from {}: no traffic for {} s (idleTimeoutSecs={})", logPrefix,
                        c.remote, TimeUnit.NANOSECONDS.toSeconds(now - c.lastActivityNanos), idleSecs);
                c.channel.close();
            }
        }
    }

    private void logRejectedConnection(String remote, int limit, long total) {
        long second = System.nanoTime() / 1_000_000_000L;
        long suppressed;
        synchronized (rejectLog) {
            if (second != rejectLogSecond) {
                rejectLogSecond = second;
                rejectLogsThisSecond = 0;
            }
            if (++rejectLogsThisSecond > REJECT_LOGS_PER_SECOND) {
                rejectsNotLogged++;
                return;
            }
            suppressed = rejectsNotLogged;
            rejectsNotLogged = 0;
        }
        LOG.warn("{}Refused HL7 connection from {}: {} connections open, maxConnections={} ({} refused so far{})",
                logPrefix, remote, connections.size(), limit, total,
                suppressed > 0 ? ", " + suppressed + " refusals not logged individually" : "");
    }

    private final MllpFrameDecoder.Events decoderEvents = new MllpFrameDecoder.Events() {
        @Override
        public void junkSkipped(int bytes) {
            junkBytes.addAndGet(bytes);
        }

        @Override
        public void frameRejected(String reason) {
            error(reason);
        }
    };

    /** A decoded frame waiting for its (possibly paced) dispatch. */
    private static final class Incoming {
        final String text;
        final Charset charset;

        Incoming(String text, Charset charset) {
            this.text = text;
            this.charset = charset;
        }
    }

    /** One forwarded message awaiting the server's answer. Holds only the MSH, not a possibly large body. */
    private static final class Exchange {
        final String msh;
        final String messageId;
        final Charset charset;
        final RttTracker.Pending pending;
        /** Set once the device had its (possibly only) answer from us: CE/AE for a failed commit. */
        volatile boolean commitFailed;
        final AtomicBoolean finished = new AtomicBoolean();

        Exchange(String msh, String messageId, Charset charset, RttTracker.Pending pending) {
            this.msh = msh;
            this.messageId = messageId;
            this.charset = charset;
            this.pending = pending;
        }

        String shownId() {
            return messageId == null ? "not provided" : messageId;
        }
    }

    /** One device connection; all its methods except {@link #deliver} and the answer callbacks run on its event loop. */
    private final class Connection extends SimpleChannelInboundHandler<ByteBuf> {
        private final ArrayDeque<Incoming> queue = new ArrayDeque<>();
        /** Messages queued for dispatch or awaiting an answer; the idle timeout never closes a busy connection. */
        final AtomicInteger busy = new AtomicInteger();
        volatile long lastActivityNanos = System.nanoTime();
        private volatile Charset lastCharset;
        private io.netty.channel.Channel channel;
        private String remote;
        private boolean admittedHere;
        private long nextDispatchNanos;
        private boolean drainScheduled;

        /** Sits before the decoder so that a device trickling bytes counts as active. */
        final ChannelInboundHandlerAdapter activity = new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                lastActivityNanos = System.nanoTime();
                ctx.fireChannelRead(msg);
            }
        };

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            channel = ctx.channel();
            remote = Mllp.remoteKey(channel.remoteAddress());
            if (state != ChannelState.LISTENING) {
                ctx.close();
                return;
            }
            int limit = params.maxConnections;
            if (admitted.incrementAndGet() > limit) {
                admitted.decrementAndGet();
                long total = connectionsRejected.incrementAndGet();
                error("Refused HL7 connection from " + remote + ": maxConnections=" + limit + " reached");
                logRejectedConnection(remote, limit, total);
                ctx.close();
                return;
            }
            admittedHere = true;
            connections.put(remote, this);
            LOG.info("{}HL7 connection established: {}", logPrefix, remote);
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (admittedHere) {
                admittedHere = false;
                admitted.decrementAndGet();
            }
            if (remote != null && connections.remove(remote, this)) {
                LOG.info("{}HL7 connection closed: {}", logPrefix, remote);
            }
            busy.addAndGet(-queue.size());
            queue.clear();
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            String text = "Connection error from " + remote + ": " + cause.getMessage();
            LOG.warn("{}{}", logPrefix, text);
            error(text);
            ctx.close();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            // Decoded with the charset current on arrival; the text is what the server receives (Q18: unchanged).
            Charset cs = params.charsetFor(frame);
            busy.incrementAndGet();
            queue.add(new Incoming(FrameText.decode(frame, cs), cs));
            drain(ctx);
        }

        /** Dispatches queued messages, spaced by messagesPerMin; reading pauses while any wait. */
        private void drain(ChannelHandlerContext ctx) {
            while (!queue.isEmpty()) {
                int mpm = params.messagesPerMin;
                long now = System.nanoTime();
                if (mpm > 0 && now - nextDispatchNanos < 0) {
                    ctx.channel().config().setAutoRead(false);
                    if (!drainScheduled) {
                        drainScheduled = true;
                        ctx.executor().schedule(() -> {
                            drainScheduled = false;
                            drain(ctx);
                        }, nextDispatchNanos - now, TimeUnit.NANOSECONDS);
                    }
                    return;
                }
                if (mpm > 0) nextDispatchNanos = now + TimeUnit.MINUTES.toNanos(1) / mpm;
                dispatch(queue.poll());
            }
            if (!ctx.channel().config().isAutoRead() && ctx.channel().isActive()) {
                ctx.channel().config().setAutoRead(true);
            }
        }

        private void dispatch(Incoming in) {
            Hl7Params p = params;
            String text = in.text;
            Charset cs = in.charset;
            lastCharset = cs;
            boolean enhanced = p.enhanced != Hl7Params.Enhanced.OFF;
            if (!Er7.startsWithMsh(text)) {
                busy.decrementAndGet();
                String err = "Invalid HL7 message from " + remote + ": does not start with MSH";
                LOG.warn("{}{}", logPrefix, err);
                error(err);
                if (p.nakOnError) {
                    nak(factory.ackBuilder().buildWithoutMsh(enhanced ? "CR" : "AR", "Message does not start with MSH",
                            AckBuilder.ERR_SEGMENT_SEQUENCE, "Message does not start with an MSH segment"), cs);
                }
                return;
            }
            messagesIn.incrementAndGet();
            String id = Er7.messageControlId(text);
            if (id == null && p.nakOnError) {
                busy.decrementAndGet();
                String reason = "MSH-10 (message control id) is missing";
                String err = "Rejected message from " + remote + ": " + reason;
                LOG.warn("{}{}", logPrefix, err);
                error(err);
                nak(factory.ackBuilder().build(text, enhanced ? "CR" : "AR", reason,
                        AckBuilder.ERR_REQUIRED_FIELD_MISSING, "MSH^1^10", reason), cs);
                return;
            }
            String shownId = id == null ? "not provided" : id;
            if (LOG.isDebugEnabled()) LOG.debug("{}[Received -- ID: {}]: {}", logPrefix, shownId, text.replace('\r', '\n'));
            if (p.validate && !passesValidation(text, shownId, enhanced, p.nakOnError, cs)) {
                busy.decrementAndGet();
                return;
            }
            if (p.assignSeqNo) {
                long n = sequence.assign(id, text);
                text = Er7.withMsh13(text, Long.toString(n));
                if (LOG.isDebugEnabled()) LOG.debug("{}{}", logPrefix, sequenceLogText(id, n));
            }
            Exchange ex = new Exchange(Er7.mshSegment(text), id, cs, rtt.start(id));
            Submission submission = context.submit(new InboundMessage(remote, ContentTypes.HL7_V2, text, id, enhanced));
            if (enhanced) {
                // The commit ACK waits for the runtime to take the message; the reply is handled after it so
                // the device always sees the commit ACK first.
                submission.accepted().whenComplete((v, failure) -> {
                    if (failure == null) {
                        sendCommitAck(ex);
                    } else {
                        commitFailed(ex, failure);
                    }
                    submission.reply().whenComplete((reply, f) -> onReply(ex, reply, f));
                });
            } else {
                submission.reply().whenComplete((reply, f) -> onReply(ex, reply, f));
            }
        }

        /** {@code validate=true}: HAPI's verdict; a rejected message is answered AR/CR here and not forwarded. */
        private boolean passesValidation(String text, String shownId, boolean enhanced, boolean nakOnError, Charset cs) {
            Hl7Validator.Failure f = Hl7Validator.validate(text);
            if (f == null) return true;
            String err = "Message " + shownId + " from " + remote + " rejected by validation: " + f.reason;
            LOG.warn("{}{}", logPrefix, err);
            error(err);
            if (nakOnError) {
                nak(factory.ackBuilder().build(text, enhanced ? "CR" : "AR", f.reason, f.errCode, null, f.reason), cs);
            }
            return false;
        }

        private void sendCommitAck(Exchange ex) {
            String code = params.enhanced == Hl7Params.Enhanced.AA ? "AA" : "CA";
            write(factory.ackBuilder().build(ex.msh, code, null), ex.charset);
            if (LOG.isDebugEnabled()) LOG.debug("{}{}", logPrefix, commitAckLogText(code, ex.messageId));
        }

        private void commitFailed(Exchange ex, Throwable failure) {
            ex.commitFailed = true;
            MessageRefusedException refusal = MessageRefusedException.of(failure).orElse(null);
            if (refusal != null) {
                refused(ex, refusal);
                return;
            }
            String reason = rootMessage(failure);
            String err = "Message " + ex.shownId() + " from " + remote + " was not accepted: " + reason;
            LOG.warn("{}{}", logPrefix, err);
            error(err);
            if (params.nakOnError) {
                String code = params.enhanced == Hl7Params.Enhanced.AA ? "AE" : "CE";
                nak(factory.ackBuilder().build(ex.msh, code, reason, AckBuilder.ERR_INTERNAL, null, reason), ex.charset);
            }
            finish(ex);
        }

        /** AR/CR for a message the runtime refused for good, so the device stops resending it; ends the exchange. */
        private void refused(Exchange ex, MessageRefusedException refusal) {
            String err = "Message " + ex.shownId() + " from " + remote + " refused (" + refusal.reason() + "): "
                    + refusal.getMessage();
            LOG.warn("{}{}", logPrefix, err);
            error(err);
            if (channel.isActive()) {
                MessageRefusedException.Reason reason = refusal.reason();
                nak(factory.ackBuilder().build(ex.msh, refusalCode(params.enhanced, reason), refusalText(reason),
                        refusalErrCode(reason), "MSH^1^10", refusal.getMessage()), ex.charset);
            }
            finish(ex);
        }

        /** The answer (or failure) for one forwarded message; any thread. */
        private void onReply(Exchange ex, DeviceReply reply, Throwable failure) {
            if (ex.commitFailed) {
                // The device already has CE/AE for this message; the outcome only matters to the log.
                if (LOG.isDebugEnabled()) {
                    LOG.debug("{}Outcome of refused message {}: {}", logPrefix, ex.shownId(),
                            failure != null ? rootMessage(failure) : "status " + reply.statusCode());
                }
                return;
            }
            if (failure != null) {
                MessageRefusedException refusal = MessageRefusedException.of(failure).orElse(null);
                if (refusal != null) { // standard mode: the refusal reaches us through the reply stage only
                    refused(ex, refusal);
                    return;
                }
                String reason = rootMessage(failure);
                String err = "No reply for message " + ex.shownId() + " from " + remote + ": " + reason;
                LOG.warn("{}{}", logPrefix, err);
                error(err);
                appError(ex, "No answer from the server: " + reason);
                finish(ex);
                return;
            }
            deliver(reply, ex);
        }

        /** Sends the server's answer to this device; any thread. {@code ex} is null for unmatched answers. */
        void deliver(DeviceReply reply, Exchange ex) {
            try {
                deliver0(reply, ex);
            } finally {
                if (ex != null) finish(ex);
            }
        }

        private void deliver0(DeviceReply reply, Exchange ex) {
            if (!reply.isSuccess()) {
                String body = truncate(reply.body());
                String err = "Error during handling transmit request: " + body;
                LOG.warn("{}{}{}", logPrefix, err, ex == null ? "" : " (message " + ex.shownId() + " from " + remote + ")");
                error(err);
                if (ex != null) appError(ex, "Server error " + reply.statusCode() + ": " + body);
                return;
            }
            String body = reply.body() == null ? "" : reply.body();
            if (!Er7.startsWithMsh(body)) {
                String err = "Invalid HL7 reply from the server for " + remote
                        + (ex == null ? "" : " (message " + ex.shownId() + ")") + ": does not start with MSH";
                LOG.warn("{}{}", logPrefix, err);
                error(err);
                if (ex != null) appError(ex, "The server's answer is not an HL7 message: " + truncate(body));
                return;
            }
            Hl7Params p = params;
            String code = Er7.ackCode(body);
            if (("AA".equals(code) || "AE".equals(code) || "AR".equals(code)) && !p.forwardsAppAck(code)) {
                if (LOG.isDebugEnabled()) {
                    String acked = Er7.ackedControlId(body);
                    LOG.debug("{}[Skipping ACK -- Mode: {} -- ID: {} -- ACK: {}]", logPrefix,
                            p.enhanced == Hl7Params.Enhanced.AA ? "aa" : "standard",
                            acked == null ? "not provided" : acked, code);
                }
                return;
            }
            if (!channel.isActive()) {
                String err = "Attempted to send message to disconnected remote: " + remote;
                LOG.warn("{}{}", logPrefix, err);
                error(err);
                return;
            }
            write(body, ex != null ? ex.charset : charsetForUnmatched());
        }

        /** AE for a message the server did not answer positively, unless nakOnError=false or gated off. */
        private void appError(Exchange ex, String reason) {
            Hl7Params p = params;
            if (!p.nakOnError) return;
            if (!p.forwardsAppAck("AE")) {
                if (LOG.isDebugEnabled()) {
                    LOG.debug("{}[Skipping ACK -- Mode: {} -- ID: {} -- ACK: AE]", logPrefix,
                            p.enhanced == Hl7Params.Enhanced.AA ? "aa" : "standard", ex.shownId());
                }
                return;
            }
            if (!channel.isActive()) return; // already logged as a failure; nobody to tell
            nak(factory.ackBuilder().build(ex.msh, "AE", reason, AckBuilder.ERR_INTERNAL, null, reason), ex.charset);
        }

        private void finish(Exchange ex) {
            if (ex.finished.compareAndSet(false, true)) {
                busy.decrementAndGet();
                lastActivityNanos = System.nanoTime(); // the idle clock starts when the device has its answer
                rtt.complete(ex.pending);
            }
        }

        private Charset charsetForUnmatched() {
            Charset c = lastCharset;
            return c != null ? c : params.defaultCharset();
        }

        private void nak(String ack, Charset cs) {
            naksSent.incrementAndGet();
            write(ack, cs);
        }

        private void write(String text, Charset cs) {
            channel.writeAndFlush(Mllp.frame(channel.alloc(), text, cs)).addListener(f -> {
                if (f.isSuccess()) {
                    messagesOut.incrementAndGet();
                } else {
                    String err = "Failed to send to " + remote + ": " + f.cause().getMessage();
                    LOG.warn("{}{}", logPrefix, err);
                    error(err);
                }
            });
        }
    }

    /**
     * Spec §8: a refused copy is CR in {@code enhanced=true} (a commit-level reject), AR in {@code aa} mode and in
     * standard mode (which have no commit codes the device expects); an id reused for different content is an
     * application-level fault of the sender, AR in every mode.
     */
    static String refusalCode(Hl7Params.Enhanced mode, MessageRefusedException.Reason reason) {
        if (reason == MessageRefusedException.Reason.DUPLICATE_DIFFERENT_CONTENT) return "AR";
        return mode == Hl7Params.Enhanced.STANDARD ? "CR" : "AR"; // STANDARD is enhanced=true, not standard (non-enhanced) mode
    }

    /** MSA-3 (at most 80 characters); the runtime's full reason goes to ERR-8. */
    static String refusalText(MessageRefusedException.Reason reason) {
        switch (reason) {
            case DUPLICATE: return "Duplicate message control ID";
            case DUPLICATE_DIFFERENT_CONTENT: return "Message control ID already used by a different message";
            default: return "Message refused";
        }
    }

    static String refusalErrCode(MessageRefusedException.Reason reason) {
        switch (reason) {
            case DUPLICATE:
            case DUPLICATE_DIFFERENT_CONTENT:
                return AckBuilder.ERR_DUPLICATE_KEY;
            default:
                return AckBuilder.ERR_INTERNAL;
        }
    }

    static String truncate(String s) {
        if (s == null) return "";
        return s.length() <= MAX_QUOTED_BODY ? s : s.substring(0, MAX_QUOTED_BODY) + "...";
    }

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
    }
}
