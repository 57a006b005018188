package dev.edgeagent.hl7.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One outbound MLLP connection to a device, opened on first use. Several requests may be in flight at once;
 * each is answered by the first incoming message whose MSA-2 equals its MSH-10 (with {@code application}
 * return, a {@code CA} does not count).
 * <p>
 * Duplicate MSH-10s (spec Q11): Medplum writes both and lets whichever answer comes first resolve either
 * request, so one push can silently get the other's answer. Here only one request per MSH-10 is on the wire
 * per connection; a second one with the same MSH-10 is held (not written) until the first is answered, fails
 * or times out, so every answer belongs unambiguously to the request it resolves. The pool also prefers to
 * send such a request over another connection, so holding only happens when every connection has one.
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
        final String controlId;
        final String message;
        final boolean application;
        final CompletableFuture<String> result;
        long sentNanos;
        ScheduledFuture<?> timeout; // null until written

        Pending(String controlId, String message, boolean application, CompletableFuture<String> result) {
            this.controlId = controlId;
            this.message = message;
            this.application = application;
            this.result = result;
        }
    }

    private final Hl7ClientPool pool;
    private final Object lock = new Object();
    /** Per MSH-10: the head is on the wire, the rest wait for it (see class comment). Guarded by lock. */
    private final Map<String, ArrayDeque<Pending>> pending = new HashMap<>();
    /** MSH-10s of the requests the pool handed this client and not yet released. Guarded by lock. */
    private final Map<String, Integer> reserved = new HashMap<>();
    private int reservedTotal; // guarded by lock
    private CompletableFuture<Channel> connection; // guarded by lock
    private volatile boolean closed;
    /** Set once we close the connection ourselves, so the close is not logged as the remote's doing. */
    private volatile boolean closing;
    private volatile long lastUsedNanos = System.nanoTime();

    Hl7Client(Hl7ClientPool pool) {
        this.pool = pool;
    }

    /** Marks the client busy with one request; the pool calls this when handing it out, before {@link #send}. */
    void reserve(String controlId) {
        synchronized (lock) {
            reserved.merge(controlId, 1, Integer::sum);
            reservedTotal++;
        }
    }

    /** Ends the reservation made by {@link #reserve}; called by the pool once the request is answered. */
    void unreserve(String controlId) {
        lastUsedNanos = System.nanoTime();
        synchronized (lock) {
            reserved.computeIfPresent(controlId, (k, n) -> n > 1 ? n - 1 : null);
            reservedTotal--;
        }
    }

    boolean isBusy() {
        synchronized (lock) {
            return reservedTotal > 0;
        }
    }

    int inFlight() {
        synchronized (lock) {
            return reservedTotal;
        }
    }

    boolean holds(String controlId) {
        synchronized (lock) {
            return reserved.containsKey(controlId);
        }
    }

    /**
     * Sends one message (the caller {@link #reserve reserved} the client) and completes with the device's
     * answer, or exceptionally with an operator-readable reason (connection refused, closed, response timeout).
     */
    CompletableFuture<String> send(String message, String controlId, boolean application) {
        CompletableFuture<String> result = new CompletableFuture<>();
        Pending p = new Pending(controlId, message, application, result);
        connect().whenComplete((ch, err) -> {
            if (err != null) {
                result.completeExceptionally(err);
                return;
            }
            boolean first = false;
            boolean rejected;
            synchronized (lock) {
                rejected = closed;
                if (!rejected) {
                    ArrayDeque<Pending> q = pending.computeIfAbsent(controlId, k -> new ArrayDeque<>());
                    q.add(p);
                    first = q.size() == 1;
                }
            }
            if (rejected) {
                // completed outside the lock: the continuation takes the pool's lock
                result.completeExceptionally(new IOException(closedText()));
            } else if (first) {
                write(ch, p);
            } else {
                LOG.info("Push to '{}': message '{}' held until the earlier message with the same MSH-10 on this "
                        + "connection is answered", pool.remote(), controlId);
            }
        });
        return result;
    }

    private void write(Channel ch, Pending p) {
        long timeoutMs = pool.settings().responseTimeoutMs;
        synchronized (lock) {
            p.sentNanos = System.nanoTime();
            p.timeout = ch.eventLoop().schedule(() -> {
                if (finish(p)) {
                    p.result.completeExceptionally(new ResponseTimeoutException("Timeout waiting for response from '"
                            + pool.remote() + "' to message '" + p.controlId + "' after " + timeoutMs + " ms"));
                }
            }, timeoutMs, TimeUnit.MILLISECONDS);
        }
        ch.writeAndFlush(Mllp.frame(ch.alloc(), p.message, pool.charset())).addListener(f -> {
            if (!f.isSuccess() && finish(p)) {
                p.result.completeExceptionally(new IOException("Failed to send message '" + p.controlId + "' to '"
                        + pool.remote() + "': " + describe(f.cause()), f.cause()));
            }
        });
    }

    /**
     * Takes {@code p} (the one on the wire for its MSH-10) out of the pending set and writes the next request
     * held behind it. False when {@code p} was already finished (answered, timed out or failed).
     */
    private boolean finish(Pending p) {
        Pending nextUp;
        Channel ch;
        synchronized (lock) {
            ArrayDeque<Pending> q = pending.get(p.controlId);
            if (q == null || q.peekFirst() != p) return false;
            q.pollFirst();
            if (p.timeout != null) p.timeout.cancel(false);
            nextUp = q.peekFirst();
            if (nextUp == null) pending.remove(p.controlId);
            ch = channelOf(connection);
        }
        if (nextUp != null && ch != null) write(ch, nextUp);
        return true;
    }

    private CompletableFuture<Channel> connect() {
        synchronized (lock) {
            if (closed) return CompletableFuture.failedFuture(new IOException(closedText()));
            if (connection != null) return connection;
            CompletableFuture<Channel> f = new CompletableFuture<>();
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
                    closed = true;
                    f.completeExceptionally(new IOException("Unable to connect to '" + pool.remote() + "': "
                            + describe(cf.cause()), cf.cause()));
                }
            });
            return f;
        }
    }

    /** Whether a connection is open (or being opened) and usable. */
    boolean isConnected() {
        synchronized (lock) {
            if (closed || connection == null) return false;
            Channel ch = channelOf(connection);
            return ch == null ? !connection.isDone() : ch.isActive();
        }
    }

    boolean isClosed() {
        return closed;
    }

    boolean isIdleFor(long nanos) {
        return !isBusy() && System.nanoTime() - lastUsedNanos >= nanos;
    }

    /** Closes the connection; requests still waiting fail. */
    void close() {
        CompletableFuture<Channel> c;
        synchronized (lock) {
            closing = true;
            closed = true;
            c = connection;
        }
        Channel ch = channelOf(c);
        if (ch != null) ch.close();
        failAll(closedText());
    }

    private String closedText() {
        return "Connection to '" + pool.remote() + "' closed before a response was received";
    }

    /** The connected channel, or null while connecting or after a failed connect. */
    private static Channel channelOf(CompletableFuture<Channel> f) {
        return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
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

    static String describe(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    private final class ResponseHandler extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            String text = frame.toString(pool.charset());
            String acked = Er7.startsWithMsh(text) ? Er7.ackedControlId(text) : null;
            if (acked == null) {
                LOG.warn("Message from '{}' without MSA-2 ignored: no push to match it to ({} chars, starts '{}')",
                        pool.remote(), text.length(), preview(text));
                return;
            }
            String code = Er7.ackCode(text);
            Pending head;
            synchronized (lock) {
                ArrayDeque<Pending> q = pending.get(acked);
                head = q == null ? null : q.peekFirst();
            }
            if (head == null || head.timeout == null) {
                LOG.warn("Response from '{}' for unknown message control ID '{}' ignored", pool.remote(), acked);
            } else if (head.application && "CA".equals(code)) {
                LOG.debug("Commit ACK (CA) from '{}' for '{}' skipped: waiting for the application ACK",
                        pool.remote(), acked);
            } else if (finish(head)) {
                pool.rtt().record(System.nanoTime() - head.sentNanos);
                head.result.complete(text);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            closed = true;
            if (!closing && pool.settings().keepAlive) {
                LOG.info("Persistent connection to remote '{}' closed", pool.remote());
            } else if (!closing) {
                LOG.debug("Connection to remote '{}' closed by the remote", pool.remote());
            }
            failAll(closedText());
            pool.clientClosed(Hl7Client.this);
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (pool.settings().keepAlive) {
                LOG.warn("Persistent connection to remote '{}' encountered error: '{}' - Closing connection...",
                        pool.remote(), describe(cause));
            } else {
                LOG.warn("Connection to remote '{}' encountered error: '{}' - Closing connection...",
                        pool.remote(), describe(cause));
            }
            closing = true; // already reported; the close that follows is ours
            ctx.close();
        }
    }

    private static String preview(String text) {
        String s = text.length() > 40 ? text.substring(0, 40) : text;
        return s.replace('\r', ' ').replace('\n', ' ');
    }
}
