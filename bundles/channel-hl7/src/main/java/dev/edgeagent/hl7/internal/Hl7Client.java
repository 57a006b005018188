package dev.edgeagent.hl7.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One outbound MLLP connection to a device, opened on first use. Several requests may be in flight at once;
 * each is answered by the first incoming message whose MSA-2 equals its MSH-10 (with {@code application}
 * return, a {@code CA} does not count). Requests with the same MSH-10 are answered in the order sent.
 */
final class Hl7Client {
    private static final Logger LOG = LoggerFactory.getLogger(Hl7Client.class);

    /** The device did not answer in time; the connection is then force-closed by the pool. */
    static final class ResponseTimeoutException extends IOException {
        private static final long serialVersionUID = 1L;

        ResponseTimeoutException(String message) {
            super(message);
        }
    }

    private static final class Pending {
        final boolean application;
        final CompletableFuture<String> result;
        ScheduledFuture<?> timeout;

        Pending(boolean application, CompletableFuture<String> result) {
            this.application = application;
            this.result = result;
        }
    }

    private final Hl7ClientPool pool;
    private final Object lock = new Object();
    private final Map<String, ArrayDeque<Pending>> pending = new HashMap<>(); // guarded by lock
    private final AtomicInteger inFlight = new AtomicInteger();
    private CompletableFuture<io.netty.channel.Channel> connection; // guarded by lock
    private volatile boolean closed;
    private volatile long lastUsedNanos = System.nanoTime();

    Hl7Client(Hl7ClientPool pool) {
        this.pool = pool;
    }

    /** Marks the client busy for one request; the pool calls this when handing it out, before {@link #send}. */
    void reserve() {
        inFlight.incrementAndGet();
    }

    /** Ends the reservation made by {@link #reserve}; called by the pool once the request is answered. */
    void unreserve() {
        lastUsedNanos = System.nanoTime();
        inFlight.decrementAndGet();
    }

    boolean isBusy() {
        return inFlight.get() > 0;
    }

    /**
     * Sends one message (the caller {@link #reserve reserved} the client) and completes with the device's answer, or exceptionally with an operator-readable
     * reason (connection refused, closed, response timeout).
     */
    CompletableFuture<String> send(String message, String controlId, boolean application) {
        CompletableFuture<String> result = new CompletableFuture<>();
        connect().whenComplete((ch, err) -> {
            if (err != null) {
                result.completeExceptionally(err);
                return;
            }
            Pending p = new Pending(application, result);
            synchronized (lock) {
                pending.computeIfAbsent(controlId, k -> new ArrayDeque<>()).add(p);
            }
            long timeoutMs = pool.settings().responseTimeoutMs;
            p.timeout = ch.eventLoop().schedule(() -> {
                if (remove(controlId, p)) {
                    result.completeExceptionally(new ResponseTimeoutException(
                            "Timeout waiting for response from " + pool.remote()));
                }
            }, timeoutMs, TimeUnit.MILLISECONDS);
            ch.writeAndFlush(Mllp.frame(ch.alloc(), message, pool.charset())).addListener(f -> {
                if (!f.isSuccess() && remove(controlId, p)) {
                    p.timeout.cancel(false);
                    result.completeExceptionally(new IOException("Failed to send to " + pool.remote() + ": "
                            + f.cause().getMessage(), f.cause()));
                }
            });
        });
        return result;
    }

    private CompletableFuture<io.netty.channel.Channel> connect() {
        synchronized (lock) {
            if (closed) {
                return CompletableFuture.failedFuture(new IOException("Connection to " + pool.remote() + " is closed"));
            }
            if (connection != null) return connection;
            CompletableFuture<io.netty.channel.Channel> f = new CompletableFuture<>();
            connection = f;
            Bootstrap b = pool.bootstrap().handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast("mllp", new MllpFrameDecoder("[HL7 push " + pool.remote() + "] ",
                            () -> pool.settings().maxFrameBytes, MllpFrameDecoder.Events.NONE));
                    ch.pipeline().addLast("responses", new ResponseHandler());
                }
            });
            ChannelFuture cf = b.connect(pool.host(), pool.port());
            cf.addListener(x -> {
                if (cf.isSuccess()) {
                    f.complete(cf.channel());
                    if (closed) cf.channel().close(); // closed while connecting
                } else {
                    Throwable c = cf.cause();
                    f.completeExceptionally(new IOException("Unable to connect to " + pool.remote() + ": "
                            + (c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName()), c));
                    closed = true;
                }
            });
            return f;
        }
    }

    /** Whether a connection is open (or being opened) and usable. */
    boolean isConnected() {
        synchronized (lock) {
            if (closed || connection == null) return false;
            io.netty.channel.Channel ch = channelOf(connection);
            return ch == null ? !connection.isDone() : ch.isActive();
        }
    }

    boolean isClosed() {
        return closed;
    }

    boolean isIdleFor(long nanos) {
        return inFlight.get() == 0 && System.nanoTime() - lastUsedNanos >= nanos;
    }

    /** Closes the connection; requests still waiting fail. */
    void close() {
        CompletableFuture<io.netty.channel.Channel> c;
        synchronized (lock) {
            closed = true;
            c = connection;
        }
        io.netty.channel.Channel ch = channelOf(c);
        if (ch != null) ch.close();
        failAll("Connection to " + pool.remote() + " closed before a response was received");
    }

    /** The connected channel, or null while connecting or after a failed connect. */
    private static io.netty.channel.Channel channelOf(CompletableFuture<io.netty.channel.Channel> f) {
        return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
    }

    private boolean remove(String controlId, Pending p) {
        synchronized (lock) {
            ArrayDeque<Pending> q = pending.get(controlId);
            if (q == null || !q.remove(p)) return false;
            if (q.isEmpty()) pending.remove(controlId);
            return true;
        }
    }

    private void failAll(String reason) {
        List<Pending> all = new ArrayList<>();
        synchronized (lock) {
            pending.values().forEach(all::addAll);
            pending.clear();
        }
        for (Pending p : all) {
            if (p.timeout != null) p.timeout.cancel(false);
            p.result.completeExceptionally(new IOException(reason));
        }
    }

    private final class ResponseHandler extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            String text = frame.toString(pool.charset());
            String acked = Er7.startsWithMsh(text) ? Er7.ackedControlId(text) : null;
            if (acked == null) {
                LOG.warn("Message from {} without MSA-2 ignored: no request to match it to", pool.remote());
                return;
            }
            String code = Er7.ackCode(text);
            Pending match = null;
            boolean skipped = false;
            synchronized (lock) {
                ArrayDeque<Pending> q = pending.get(acked);
                if (q != null) {
                    for (Iterator<Pending> it = q.iterator(); it.hasNext(); ) {
                        Pending p = it.next();
                        if (p.application && "CA".equals(code)) {
                            skipped = true;
                            continue;
                        }
                        it.remove();
                        match = p;
                        break;
                    }
                    if (q.isEmpty()) pending.remove(acked);
                }
            }
            if (match != null) {
                match.timeout.cancel(false);
                match.result.complete(text);
            } else if (skipped) {
                LOG.debug("Commit ACK (CA) from {} for {} skipped: waiting for the application ACK", pool.remote(), acked);
            } else {
                LOG.warn("Response from {} for unknown message control ID '{}' ignored", pool.remote(), acked);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            boolean byUs = closed;
            synchronized (lock) {
                closed = true;
            }
            if (!byUs && pool.settings().keepAlive) {
                LOG.info("Persistent connection to remote '{}' closed", pool.remote());
            }
            failAll("Connection to " + pool.remote() + " closed before a response was received");
            pool.clientClosed(Hl7Client.this);
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (pool.settings().keepAlive) {
                LOG.warn("Persistent connection to remote '{}' encountered error: '{}' - Closing connection...",
                        pool.remote(), cause.getMessage());
            } else {
                LOG.warn("Connection to remote '{}' encountered error: '{}' - Closing connection...",
                        pool.remote(), cause.getMessage());
            }
            ctx.close();
        }
    }
}
