package dev.edgeagent.itests;

import dev.edgeagent.itests.support.MllpIo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/** Minimal MLLP peers for the tests: a client that sends one frame and reads one, and an ACKing listener. */
final class Mllp {
    private Mllp() {}

    static String adtA01(String controlId) {
        return "MSH|^~\\&|ADT1|MCM|LABADT|MCM|20250101120000|SECURITY|ADT^A01^ADT_A01|" + controlId + "|P|2.5\r"
                + "EVN|A01|20250101120000\r"
                + "PID|1||PATID1234^^^MCM^MR||JONES^WILLIAM^A||19610615|M\r"
                + "PV1|1|I|2000^2012^01\r";
    }

    static void writeFrame(OutputStream out, String msg) throws IOException {
        out.write(0x0b);
        out.write(msg.getBytes(StandardCharsets.UTF_8));
        out.write(0x1c);
        out.write(0x0d);
        out.flush();
    }

    /** Reads one VT…FS CR frame; null on EOF. */
    static String readFrame(InputStream in) throws IOException {
        int b;
        while ((b = in.read()) != 0x0b) {
            if (b < 0) return null;
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while ((b = in.read()) >= 0) {
            if (b == 0x1c) {
                in.read(); // CR
                return buf.toString(StandardCharsets.UTF_8);
            }
            buf.write(b);
        }
        return null;
    }

    static String sendAndReceive(int port, String msg, int timeoutMs) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            writeFrame(s.getOutputStream(), msg);
            return readFrame(s.getInputStream());
        }
    }

    static String field(String message, String segment, int field) {
        return MllpIo.field(message, segment, field);
    }

    /** A device that answers every message with an AA ACK; counts what it received. */
    static final class AckListener implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger received = new AtomicInteger();
        private final Thread thread;

        AckListener(int port) throws IOException {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress("127.0.0.1", port));
            thread = new Thread(this::acceptLoop, "itest-ack-listener");
            thread.setDaemon(true);
            thread.start();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> serve(s), "itest-ack-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                String msg;
                while ((msg = readFrame(s.getInputStream())) != null) {
                    received.incrementAndGet();
                    String id = field(msg, "MSH", 10);
                    writeFrame(s.getOutputStream(), "MSH|^~\\&|DEVICE|LAB|EDGE|HOSP|20250101120000||ACK^O01|ACK" + id + "|P|2.5\rMSA|AA|" + id + "|Received by test device");
                }
            } catch (IOException e) {
                // connection closed by the agent
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
