package dev.edgeagent.hl7.internal;

import ca.uhn.hl7v2.HL7Exception;
import dev.edgeagent.api.channel.Channel;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.message.ContentTypes;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One MLLP listener (an {@code Agent.channel} with an {@code mllp://} address). Every device connection
 * reads the channel's current {@link Hl7Params} for each message, so a live reconfiguration reaches open
 * connections too. Netty event loops are the factory's; this class owns only its sockets.
 */
final class Hl7Channel implements Channel {
    static final String TYPE = "HL7";
    private static final Logger LOG = LoggerFactory.getLogger(Hl7Channel.class);
    private static final long BIND_TIMEOUT_SECONDS = 10;
    private static final long CLOSE_WAIT_SECONDS = 3;

    private final Hl7ChannelFactory factory;
    private final ChannelContext context;
    private final String logPrefix;
    private final Object lifecycle = new Object();
    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final AtomicLong messagesIn = new AtomicLong();
    private final AtomicLong messagesOut = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong junkBytes = new AtomicLong();
    private volatile ChannelConfig config;
    private volatile Hl7Params params;
    private volatile ChannelState state = ChannelState.STOPPED;
    private volatile String lastError;
    private io.netty.channel.Channel server; // guarded by lifecycle

    Hl7Channel(ChannelConfig config, ChannelContext context, Hl7ChannelFactory factory) {
        this.config = config;
        this.params = Hl7Params.from(config);
        this.context = context;
        this.factory = factory;
        this.logPrefix = "[" + TYPE + ":" + config.name() + "] ";
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
                    .option(ChannelOption.SO_BACKLOG, 128)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast("mllp", new MllpFrameDecoder(logPrefix,
                                    () -> params.maxFrameBytes, decoderEvents));
                            ch.pipeline().addLast("hl7", new Connection());
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
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("hl7ConnectionsOpen", connections.size());
        detail.put("junkBytesSkipped", junkBytes.get());
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

    private void error(String text) {
        errors.incrementAndGet();
        lastError = text;
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

    /** One device connection; all its methods except {@link #deliver} run on its event loop. */
    private final class Connection extends SimpleChannelInboundHandler<ByteBuf> {
        private final ArrayDeque<String> queue = new ArrayDeque<>();
        private io.netty.channel.Channel channel;
        private String remote;
        private long nextDispatchNanos;
        private boolean drainScheduled;

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            channel = ctx.channel();
            remote = Mllp.remoteKey(channel.remoteAddress());
            if (state != ChannelState.LISTENING) {
                ctx.close();
                return;
            }
            connections.put(remote, this);
            LOG.info("{}HL7 connection established: {}", logPrefix, remote);
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (remote != null && connections.remove(remote, this)) {
                LOG.info("{}HL7 connection closed: {}", logPrefix, remote);
            }
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
            queue.add(frame.toString(params.charset));
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

        private void dispatch(String text) {
            if (!Er7.startsWithMsh(text)) {
                String err = "Invalid HL7 message from " + remote + ": does not start with MSH";
                LOG.warn("{}{}", logPrefix, err);
                error(err);
                return;
            }
            messagesIn.incrementAndGet();
            String id = Er7.messageControlId(text);
            String shownId = id == null ? "not provided" : id;
            if (LOG.isDebugEnabled()) LOG.debug("{}[Received -- ID: {}]", logPrefix, shownId);
            Hl7Params p = params;
            if (p.enhanced != Hl7Params.Enhanced.OFF) {
                sendCommitAck(text, p, shownId);
            }
            Submission submission = context.submit(new InboundMessage(remote, ContentTypes.HL7_V2, text, id));
            submission.reply().whenComplete((reply, failure) -> deliver(reply, failure == null ? null
                    : "No reply for message " + shownId + " from " + remote + ": " + rootMessage(failure)));
        }

        private void sendCommitAck(String text, Hl7Params p, String shownId) {
            String code = p.enhanced == Hl7Params.Enhanced.AA ? "AA" : "CA";
            try {
                String ack = factory.ackBuilder().build(text, code, null);
                write(ack, p);
                if (LOG.isDebugEnabled()) {
                    LOG.debug("{}[Sent {} -- ID: {}]", logPrefix, code.equals("AA") ? "App ACK (AA)" : "Commit ACK (CA)",
                            shownId);
                }
            } catch (HL7Exception | RuntimeException e) {
                String err = "Cannot build " + code + " for message " + shownId + " from " + remote + ": " + e.getMessage();
                LOG.warn("{}{}", logPrefix, err);
                error(err);
            }
        }

        /** Sends the server's answer to this device; any thread. */
        void deliver(DeviceReply reply, String failure) {
            if (failure != null) {
                LOG.warn("{}{}", logPrefix, failure);
                error(failure);
                return;
            }
            if (!reply.isSuccess()) {
                // Medplum (Q3): logged only; the device gets nothing and waits for its own timeout.
                String err = "Error during handling transmit request: " + reply.body();
                LOG.warn("{}{}", logPrefix, err);
                error(err);
                return;
            }
            String body = reply.body() == null ? "" : reply.body();
            if (!Er7.startsWithMsh(body)) {
                String err = "Invalid HL7 reply from the server for " + remote + ": does not start with MSH; nothing sent";
                LOG.warn("{}{}", logPrefix, err);
                error(err);
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
            write(body, p);
        }

        private void write(String text, Hl7Params p) {
            channel.writeAndFlush(Mllp.frame(channel.alloc(), text, p.charset)).addListener(f -> {
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

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
    }
}
