package dev.edgeagent.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A do-nothing MLLP ACK responder: the floor against which the generator is calibrated. One thread per
 * connection; answers MSA|AA (or CA then AA, mimicking an enhanced-mode channel) with the message's MSH-10.
 */
public final class Responder implements AutoCloseable {
    private static final int MAX_FRAME = 1 << 20;

    private final ServerSocket server;
    private final boolean commitFirst;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong answered = new AtomicLong();
    private final Thread acceptor;

    /** Binds {@code host:port} (port 0 = ephemeral) and starts serving. */
    public Responder(String host, int port, boolean commitFirst) throws IOException {
        this.commitFirst = commitFirst;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(host), port), 512);
        acceptor = new Thread(this::acceptLoop, "responder-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    public long answered() {
        return answered.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                open.add(s);
                Thread t = new Thread(() -> serve(s), "responder-" + s.getPort());
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!server.isClosed()) {
                    System.err.println("responder: accept failed: " + e);
                }
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            Mllp.Reader in = new Mllp.Reader(s.getInputStream());
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 4096);
            byte[] msg;
            while ((msg = in.read(MAX_FRAME)) != null) {
                String id = controlId(msg);
                if (commitFirst) {
                    Mllp.write(out, ack("CA", id));
                }
                Mllp.write(out, ack("AA", id));
                answered.incrementAndGet();
            }
        } catch (SocketException e) {
            // Peer reset or responder closing: normal end of a benchmark connection.
        } catch (IOException e) {
            System.err.println("responder: connection from " + s.getRemoteSocketAddress() + " failed: " + e.getMessage());
        } finally {
            open.remove(s);
        }
    }

    /** MSH-10 without parsing the whole message: the text between the 9th and 10th field separators. */
    static String controlId(byte[] msg) {
        if (msg.length < 4) {
            return "";
        }
        byte sep = msg[3];
        int field = 1; // the separator itself is MSH-1
        int start = -1;
        for (int i = 3; i < msg.length && msg[i] != '\r' && msg[i] != '\n'; i++) {
            if (msg[i] == sep) {
                field++;
                if (field == 10) {
                    start = i + 1;
                } else if (field == 11) {
                    return new String(msg, start, i - start, StandardCharsets.ISO_8859_1);
                }
            }
        }
        return "";
    }

    static byte[] ack(String code, String id) {
        return ("MSH|^~\\&|BENCHRESP|BENCH|BENCH|BENCH|20250101000000||ACK^A01^ACK|" + id + "|P|2.5.1\rMSA|" + code + "|" + id + "\r")
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
