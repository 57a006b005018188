package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.channel.Submission;
import dev.edgeagent.api.message.ContentTypes;
import dev.edgeagent.api.transport.CloudClient;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Helpers for the inbound channel tests (kept apart from the outbound side's TestSupport). */
final class InboundTestSupport {
    private InboundTestSupport() {}

    /** A ChannelContext whose runtime takes messages per {@code accepted} and answers per {@code reply}. */
    static final class Context implements ChannelContext {
        final BlockingQueue<InboundMessage> received = new LinkedBlockingQueue<>();
        volatile Function<InboundMessage, CompletionStage<Void>> accepted = m -> CompletableFuture.completedFuture(null);
        volatile Function<InboundMessage, CompletionStage<DeviceReply>> reply;

        Context(Function<InboundMessage, CompletionStage<DeviceReply>> reply) {
            this.reply = reply;
        }

        /** A server that answers every message with {@code code} naming its MSH-10. */
        static Context acking(String code) {
            return new Context(m -> CompletableFuture.completedFuture(
                    new DeviceReply(200, ContentTypes.HL7_V2, TestSupport.ack(code, m.messageId()))));
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

    static void send(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    static void sendText(Socket s, String text) throws IOException {
        send(s, TestSupport.frame(text, StandardCharsets.UTF_8));
    }

    static String read(Socket s) throws IOException {
        return read(s, StandardCharsets.UTF_8);
    }

    static String read(Socket s, Charset cs) throws IOException {
        return new String(TestSupport.readFrame(s.getInputStream()), cs);
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

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean());
    }

    /** Field {@code n} of the segment named {@code seg} in an answer (CR-separated), or null. */
    static String field(String msg, String seg, int n) {
        return Er7.field(msg, seg, n);
    }
}
