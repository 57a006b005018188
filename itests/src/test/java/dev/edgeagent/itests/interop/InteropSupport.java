package dev.edgeagent.itests.interop;

import static dev.edgeagent.itests.support.MllpIo.field;
import static dev.edgeagent.itests.support.MllpIo.frame;
import static dev.edgeagent.itests.support.MllpIo.readFrame;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Helpers for {@link HapiAndPythonInteropIT} beyond the shared ones in {@code dev.edgeagent.itests.support}: a
 * raw-byte MLLP device and readable HL7 in assertion messages.
 */
final class InteropSupport {
    private InteropSupport() {}

    /** HL7 text for an assertion message: segment separators made visible instead of overprinting lines. */
    static String show(String message) {
        return message == null ? "null" : message.replace("\r", "\\r").replace("\n", "\\n");
    }

    /**
     * A device that records the raw bytes of every frame it receives and answers each with an AA ACK encoded
     * in {@code charset}; the ACK's MSA-3 carries {@code ackText} so the caller can check how it was decoded.
     */
    static final class RawDevice implements AutoCloseable {
        final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
        private final ServerSocket server;
        private final Charset charset;
        private final String ackText;
        private final List<Socket> connections = new ArrayList<>();

        RawDevice(int port, Charset charset, String ackText) throws IOException {
            this.charset = charset;
            this.ackText = ackText;
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            Thread t = new Thread(this::acceptLoop, "interop-raw-device-" + port);
            t.setDaemon(true);
            t.start();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    synchronized (connections) {
                        connections.add(s);
                    }
                    Thread t = new Thread(() -> serve(s), "interop-raw-device-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                byte[] msg;
                while ((msg = readFrame(s.getInputStream())) != null) {
                    received.add(msg);
                    String id = field(new String(msg, charset), "MSH", 10);
                    String ack = "MSH|^~\\&|DEVICE|LAB|EDGE|HOSP|20250101120000||ACK^O01|ACK" + id + "|P|2.5\r"
                            + "MSA|AA|" + id + "|" + ackText;
                    s.getOutputStream().write(frame(ack.getBytes(charset)));
                    s.getOutputStream().flush();
                }
            } catch (IOException e) {
                // The agent closed its pooled connection; nothing to answer any more.
            }
        }

        byte[] next(long timeoutMs) throws InterruptedException {
            return received.poll(timeoutMs, TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (connections) {
                for (Socket s : connections) {
                    s.close();
                }
            }
        }
    }
}
