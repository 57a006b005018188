package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.EndpointAddress;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.transport.CloudClient;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

final class TestSupport {
    private TestSupport() {}

    static final String ADT = "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|GHH LAB|GHH|20240101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\r"
            + "EVN|A01|20240101120000\r"
            + "PID|1||PATID1234^^^GOOD HEALTH HOSPITAL^MR||EVERYMAN^ADAM^A\r";

    static String adt(String controlId) {
        return ADT.replace("MSG00001", controlId);
    }

    static String ack(String code, String controlId) {
        return "MSH|^~\\&|GHH LAB|GHH|ADT1|GOOD HEALTH HOSPITAL|20240101120001||ACK^A01^ACK|ACK" + controlId + code
                + "|P|2.5.1\rMSA|" + code + "|" + controlId + "\r";
    }

    static byte[] frame(String text, Charset cs) {
        return frame(text.getBytes(cs));
    }

    static byte[] frame(byte[] content) {
        byte[] out = new byte[content.length + 3];
        out[0] = Mllp.VT;
        System.arraycopy(content, 0, out, 1, content.length);
        out[out.length - 2] = Mllp.FS;
        out[out.length - 1] = Mllp.CR;
        return out;
    }

    /** Reads one MLLP frame (content only); throws on EOF. Skips bytes before VT. */
    static byte[] readFrame(InputStream in) throws IOException {
        int b;
        while ((b = in.read()) != Mllp.VT) {
            if (b < 0) throw new IOException("EOF before frame start");
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while ((b = in.read()) != Mllp.FS) {
            if (b < 0) throw new IOException("EOF inside frame");
            buf.write(b);
        }
        if (in.read() != Mllp.CR) throw new IOException("FS not followed by CR");
        return buf.toByteArray();
    }

    static ChannelConfig config(String name, String address) {
        return new ChannelConfig(name, EndpointAddress.parse(address), AgentSettings.EMPTY, "agent-1");
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(5000);
        return s;
    }

    /** A ChannelContext whose server answers with {@code responder}. */
    static final class FakeContext implements ChannelContext {
        final BlockingQueue<InboundMessage> received = new LinkedBlockingQueue<>();
        volatile Function<InboundMessage, CompletionStage<DeviceReply>> responder;

        FakeContext(Function<InboundMessage, CompletionStage<DeviceReply>> responder) {
            this.responder = responder;
        }

        @Override
        public String agentId() {
            return "agent-1";
        }

        @Override
        public Submission submit(InboundMessage message) {
            received.add(message);
            CompletionStage<DeviceReply> reply = responder.apply(message);
            return new Submission() {
                @Override
                public String callback() {
                    return "Agent/agent-1-test";
                }

                @Override
                public CompletionStage<Void> accepted() {
                    return CompletableFuture.completedFuture(null);
                }

                @Override
                public CompletionStage<DeviceReply> reply() {
                    return reply;
                }
            };
        }

        @Override
        public CloudClient cloud() {
            throw new UnsupportedOperationException("not used by the HL7 channel");
        }
    }

    /** A device that listens on loopback and answers each frame with {@code behaviour}. */
    static final class TestDevice implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger connections = new AtomicInteger();
        /** Connections that ended (the agent closed them, or the behaviour threw). */
        final AtomicInteger ended = new AtomicInteger();
        final List<String> received = new CopyOnWriteArrayList<>();
        final List<Socket> sockets = new CopyOnWriteArrayList<>();
        final Function<String, List<String>> behaviour;
        final Charset charset;

        TestDevice(Charset charset, Function<String, List<String>> behaviour) throws IOException {
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.behaviour = behaviour;
            this.charset = charset;
            Thread t = new Thread(this::acceptLoop, "test-device");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        /** Waits until {@code n} connections have ended; false on timeout. */
        boolean awaitEnded(int n) throws InterruptedException {
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
            while (ended.get() < n && System.nanoTime() < deadline) Thread.sleep(10);
            return ended.get() >= n;
        }

        String remote(String query) {
            return "mllp://127.0.0.1:" + port() + (query == null ? "" : "?" + query);
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    sockets.add(s);
                    Thread t = new Thread(() -> serve(s), "test-device-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                while (true) {
                    String msg = new String(readFrame(in), charset);
                    received.add(msg);
                    List<String> answers = behaviour.apply(msg);
                    List<byte[]> frames = new ArrayList<>();
                    for (String a : answers) frames.add(frame(a, charset));
                    synchronized (s) {
                        for (byte[] f : frames) s.getOutputStream().write(f);
                        s.getOutputStream().flush();
                    }
                }
            } catch (IOException | RuntimeException e) {
                // connection over
            } finally {
                ended.incrementAndGet();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) s.close();
        }
    }
}
