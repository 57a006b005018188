package dev.edgeagent.hl7.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.Charset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A push target for the outbound tests: an MLLP device on loopback that hands every received message to a
 * {@link Handler}, which may answer at once, later, never, or not at all until the test says so. Reading
 * never waits for answers, so several messages can be in flight on one connection.
 */
final class OutboundTestDevice implements AutoCloseable {
    interface Handler {
        void onMessage(Exchange exchange);
    }

    /** One received message and the means to answer it on its connection. */
    final class Exchange {
        final String message;
        final String controlId;
        final int connection;
        /** 1-based arrival order across the device. */
        final int ordinal;
        private final Socket socket;

        Exchange(String message, int connection, int ordinal, Socket socket) {
            this.message = message;
            this.controlId = Er7.messageControlId(message);
            this.connection = connection;
            this.ordinal = ordinal;
            this.socket = socket;
        }

        void reply(String... answers) {
            try {
                synchronized (socket) {
                    OutputStream out = socket.getOutputStream();
                    for (String a : answers) out.write(TestSupport.frame(a, charset));
                    out.flush();
                }
            } catch (IOException e) {
                // the agent closed the connection; the test sees that through its own assertions
            }
        }

        void replyAfter(long ms, String... answers) {
            timer.schedule(() -> reply(answers), ms, TimeUnit.MILLISECONDS);
        }

        /** An ACK for this message with code {@code code}; its MSH-10 is {@code R<ordinal>} so tests can tell answers apart. */
        String ack(String code) {
            return ack(code, controlId);
        }

        String ack(String code, String ackedId) {
            return "MSH|^~\\&|DEV|FAC|EDGE|HUB|20240101120001||ACK^A01^ACK|R" + ordinal + "|P|2.5.1\rMSA|" + code + "|"
                    + ackedId + "\r";
        }
    }

    final Charset charset;
    final ServerSocket server;
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger ended = new AtomicInteger();
    final AtomicInteger messages = new AtomicInteger();
    final List<Exchange> received = new CopyOnWriteArrayList<>();
    /** Connection numbers that carried at least one message. */
    final Set<Integer> usedConnections = ConcurrentHashMap.newKeySet();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "outbound-test-device-timer");
        t.setDaemon(true);
        return t;
    });
    private final Handler handler;

    OutboundTestDevice(Charset charset, Handler handler) throws IOException {
        this(0, charset, handler);
    }

    /** On a given port (to restart a device where the agent expects it), or 0 for an ephemeral one. */
    OutboundTestDevice(int port, Charset charset, Handler handler) throws IOException {
        this.charset = charset;
        this.handler = handler;
        this.server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        Thread t = new Thread(this::acceptLoop, "outbound-test-device");
        t.setDaemon(true);
        t.start();
    }

    static final String ADT = "MSH|^~\\&|EDGE|HUB|DEV|FAC|20240101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\r"
            + "EVN|A01|20240101120000\r"
            + "PID|1||PATID1234^^^GOOD HEALTH HOSPITAL^MR||EVERYMAN^ADAM^A\r";

    /** {@link #ADT} with MSH-10 {@code controlId}. */
    static String adt(String controlId) {
        return ADT.replace("MSG00001", controlId);
    }

    static Handler ackAll() {
        return ex -> ex.reply(ex.ack("AA"));
    }

    static Handler ackAfter(long ms) {
        return ex -> ex.replyAfter(ms, ex.ack("AA"));
    }

    int port() {
        return server.getLocalPort();
    }

    String remote(String query) {
        return "mllp://127.0.0.1:" + port() + (query == null ? "" : "?" + query);
    }

    boolean awaitEnded(int n) throws InterruptedException {
        return TestSupport.waitFor(() -> ended.get() >= n, 5_000);
    }

    boolean awaitReceived(int n, long ms) throws InterruptedException {
        return TestSupport.waitFor(() -> received.size() >= n, ms);
    }

    /** Closes every open connection normally (FIN), as a device that hangs up. */
    void hangUp() throws IOException {
        for (Socket s : sockets) s.close();
    }

    /** Aborts every open connection (RST), so the agent sees a socket error. */
    void reset() throws IOException {
        for (Socket s : sockets) {
            s.setSoLinger(true, 0);
            s.close();
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                int n = connections.incrementAndGet();
                sockets.add(s);
                Thread t = new Thread(() -> serve(s, n), "outbound-test-device-conn-" + n);
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, int connection) {
        try (s) {
            InputStream in = s.getInputStream();
            while (true) {
                String msg = new String(TestSupport.readFrame(in), charset);
                Exchange ex = new Exchange(msg, connection, messages.incrementAndGet(), s);
                usedConnections.add(connection);
                received.add(ex);
                handler.onMessage(ex);
            }
        } catch (IOException | RuntimeException e) {
            // connection over
        } finally {
            sockets.remove(s);
            ended.incrementAndGet();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        hangUp();
        timer.shutdownNow();
    }
}
