package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.EndpointAddress;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.message.ContentTypes;
import dev.edgeagent.api.transport.CloudClient;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** The one copy of the helpers shared by the inbound and outbound tests: messages, MLLP framing, sockets, fakes. */
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

    /** Field {@code n} of the segment named {@code seg} in an answer (CR-separated), or null. */
    static String field(String msg, String seg, int n) {
        return Er7.field(msg, seg, n);
    }

    // --- MLLP framing ---

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

    // --- channels and sockets ---

    static ChannelConfig config(String name, String address) {
        return new ChannelConfig(name, EndpointAddress.parse(address), AgentSettings.EMPTY, "agent-1");
    }

    /** Creates and starts a channel from {@code factory}. */
    static Hl7Channel start(Hl7ChannelFactory factory, ChannelConfig config, ChannelContext ctx) throws ChannelException {
        Hl7Channel ch = (Hl7Channel) factory.create(config, ctx);
        ch.start();
        return ch;
    }

    /** {@code mllp://0.0.0.0:0}, plus {@code ?query} unless it is empty. */
    static String anyPort(String query) {
        return "mllp://0.0.0.0:0" + (query.isEmpty() ? "" : "?" + query);
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(5000);
        return s;
    }

    static void send(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    static void sendText(Socket s, String text) throws IOException {
        send(s, frame(text, StandardCharsets.UTF_8));
    }

    static String read(Socket s) throws IOException {
        return read(s, StandardCharsets.UTF_8);
    }

    static String read(Socket s, Charset cs) throws IOException {
        return new String(readFrame(s.getInputStream()), cs);
    }

    static void assertNothingArrives(Socket s) throws IOException {
        int old = s.getSoTimeout();
        s.setSoTimeout(300);
        assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read());
        s.setSoTimeout(old);
    }

    /** Whether the peer closed the socket (EOF or reset) within 5 s. */
    static boolean closedByPeer(Socket s) throws IOException {
        s.setSoTimeout(5000);
        InputStream in = s.getInputStream();
        try {
            while (true) {
                if (in.read() < 0) return true;
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    // --- waiting ---

    /** Polls {@code condition} for up to {@code ms}; whether it became true. */
    static boolean waitFor(BooleanSupplier condition, long ms) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(5);
        }
        return true;
    }

    /** Like {@link #waitFor} with 5 s, but fails naming {@code what}. */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        if (!waitFor(condition, 5_000)) throw new AssertionError("timed out waiting for " + what);
    }

    /** A ChannelContext whose runtime takes messages per {@code accepted} and answers per {@code reply}. */
    static final class Context implements ChannelContext {
        final BlockingQueue<InboundMessage> received = new LinkedBlockingQueue<>();
        volatile Function<InboundMessage, CompletionStage<Void>> accepted = m -> CompletableFuture.completedFuture(null);
        volatile Function<InboundMessage, CompletionStage<DeviceReply>> reply;

        Context(Function<InboundMessage, CompletionStage<DeviceReply>> reply) {
            this.reply = reply;
        }

        /** A server that answers every message with {@link TestSupport#ack} {@code code} naming its MSH-10. */
        static Context acking(String code) {
            return answering(m -> ack(code, m.messageId()));
        }

        /** A server that answers every message at once with the HL7 text {@code answer} makes of it. */
        static Context answering(Function<InboundMessage, String> answer) {
            return new Context(m -> CompletableFuture.completedFuture(
                    new DeviceReply(200, ContentTypes.HL7_V2, answer.apply(m))));
        }

        /** A server that answers every message at once with {@code status}, {@code contentType} and {@code body}. */
        static Context replying(int status, String contentType, String body) {
            return new Context(m -> CompletableFuture.completedFuture(new DeviceReply(status, contentType, body)));
        }

        InboundMessage next() throws InterruptedException {
            InboundMessage m = received.poll(5, TimeUnit.SECONDS);
            if (m == null) throw new AssertionError("no message reached the server");
            return m;
        }

        @Override
        public String agentId() {
            return "agent-1";
        }

        @Override
        public Submission submit(InboundMessage message) {
            received.add(message);
            CompletionStage<Void> acc = accepted.apply(message);
            CompletionStage<DeviceReply> rep = reply.apply(message);
            return new Submission() {
                @Override
                public String callback() {
                    return "Agent/agent-1-test";
                }

                @Override
                public CompletionStage<Void> accepted() {
                    return acc;
                }

                @Override
                public CompletionStage<DeviceReply> reply() {
                    return rep;
                }
            };
        }

        @Override
        public CloudClient cloud() {
            throw new UnsupportedOperationException("not used by the HL7 channel");
        }
    }

    /**
     * Captures what slf4j-simple logs while open. slf4j-simple (not caching its stream) looks up
     * {@code System.err} on every line, so swapping it is enough; the text still reaches the real stream.
     */
    static final class LogCapture implements AutoCloseable {
        private final PrintStream original = System.err;
        private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

        LogCapture() {
            OutputStream tee = new OutputStream() {
                @Override
                public void write(int b) {
                    synchronized (captured) {
                        captured.write(b);
                    }
                    original.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    synchronized (captured) {
                        captured.write(b, off, len);
                    }
                    original.write(b, off, len);
                }
            };
            System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
        }

        String text() {
            synchronized (captured) {
                return captured.toString(StandardCharsets.UTF_8);
            }
        }

        /** Waits up to 5 s for {@code fragment} to be logged. */
        boolean awaitLogged(String fragment) throws InterruptedException {
            return waitFor(() -> text().contains(fragment), 5_000);
        }

        @Override
        public void close() {
            System.setErr(original);
        }
    }
}
