package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.ConfigIssue;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.message.ContentTypes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.edgeagent.hl7.internal.TestSupport.assertNothingArrives;
import static dev.edgeagent.hl7.internal.TestSupport.send;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Hl7ChannelTest {
    private final Hl7ChannelFactory factory = new Hl7ChannelFactory();

    /** The "server" answers every message with an AA naming its MSH-10. */
    private final TestSupport.Context ackingServer = TestSupport.Context.acking("AA");

    @AfterEach
    void tearDown() {
        factory.deactivate();
    }

    private Hl7Channel start(String address, TestSupport.Context ctx) throws ChannelException {
        return TestSupport.start(factory, TestSupport.config("ch1", address), ctx);
    }

    @Test
    void adtIsForwardedAndTheServersAckReturnedFramed() throws Exception {
        Hl7Channel ch = start("mllp://0.0.0.0:0", ackingServer);
        assertEquals(ChannelState.LISTENING, ch.stats().state());
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            String reply = new String(TestSupport.readFrame(s.getInputStream()), StandardCharsets.UTF_8);
            assertEquals(TestSupport.ack("AA", "MSG00001"), reply);

            InboundMessage m = ackingServer.received.poll(5, TimeUnit.SECONDS);
            assertNotNull(m);
            assertEquals("127.0.0.1:" + s.getLocalPort(), m.remote());
            assertEquals(ContentTypes.HL7_V2, m.contentType());
            assertEquals(TestSupport.ADT, m.body());
            assertEquals("MSG00001", m.messageId());
            // messagesOut counts completed writes; the write listener may run just after the client read.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (ch.stats().messagesOut() < 1 && System.nanoTime() < deadline) Thread.sleep(5);
            ChannelStats st = ch.stats();
            assertEquals(1, st.messagesIn());
            assertEquals(1, st.messagesOut());
            assertEquals(1, st.connections());
            assertEquals(1, st.detail().get("hl7ConnectionsOpen"));
        }
    }

    @Test
    void lfSeparatedMessageIsForwardedUnchanged() throws Exception {
        Hl7Channel ch = start("mllp://0.0.0.0:0", ackingServer);
        String lf = TestSupport.ADT.replace('\r', '\n');
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(lf, StandardCharsets.UTF_8));
            TestSupport.readFrame(s.getInputStream());
            assertEquals(lf, ackingServer.received.poll(5, TimeUnit.SECONDS).body());
        }
    }

    @Test
    void twoConnectionsGetTheirOwnAnswers() throws Exception {
        // Answers are held back and released in reverse order, so a mix-up would show.
        CompletableFuture<DeviceReply> first = new CompletableFuture<>();
        CompletableFuture<DeviceReply> second = new CompletableFuture<>();
        TestSupport.Context ctx = new TestSupport.Context(m -> "A".equals(m.messageId()) ? first : second);
        Hl7Channel ch = start("mllp://0.0.0.0:0", ctx);
        try (Socket a = TestSupport.connect(ch.boundPort()); Socket b = TestSupport.connect(ch.boundPort())) {
            send(a, TestSupport.frame(TestSupport.adt("A"), StandardCharsets.UTF_8));
            ctx.received.poll(5, TimeUnit.SECONDS);
            send(b, TestSupport.frame(TestSupport.adt("B"), StandardCharsets.UTF_8));
            ctx.received.poll(5, TimeUnit.SECONDS);
            second.complete(new DeviceReply(200, ContentTypes.HL7_V2, TestSupport.ack("AA", "B")));
            first.complete(new DeviceReply(200, ContentTypes.HL7_V2, TestSupport.ack("AA", "A")));
            assertEquals("A", Er7.ackedControlId(new String(TestSupport.readFrame(a.getInputStream()), StandardCharsets.UTF_8)));
            assertEquals("B", Er7.ackedControlId(new String(TestSupport.readFrame(b.getInputStream()), StandardCharsets.UTF_8)));
            assertEquals(2, ch.stats().connections());
        }
    }

    @Test
    void medplumModeErrorReplyFromServerSendsNothing() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.replying(400, ContentTypes.TEXT, "Bot failed");
        Hl7Channel ch = start("mllp://0.0.0.0:0?nakOnError=false", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            assertNotNull(ctx.received.poll(5, TimeUnit.SECONDS));
            assertNothingArrives(s);
            ChannelStats st = ch.stats();
            assertEquals(1, st.errors());
            assertEquals("Error during handling transmit request: Bot failed", st.lastError());
            assertEquals(0, st.messagesOut());
        }
    }

    @Test
    void medplumModeFailedSubmissionSendsNothingAndIsCounted() throws Exception {
        TestSupport.Context ctx = new TestSupport.Context(m -> CompletableFuture.failedFuture(
                new IllegalStateException("queue full")));
        Hl7Channel ch = start("mllp://0.0.0.0:0?nakOnError=FALSE", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            assertNothingArrives(s);
            assertEquals(1, ch.stats().errors());
            assertTrue(ch.stats().lastError().contains("MSG00001") && ch.stats().lastError().contains("queue full"),
                    ch.stats().lastError());
        }
    }

    @Test
    void medplumModeNonMshFrameIsNotForwardedNotAnsweredAndCounted() throws Exception {
        Hl7Channel ch = start("mllp://0.0.0.0:0?nakOnError=false", ackingServer);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame("PID|1||X", StandardCharsets.UTF_8));
            assertNothingArrives(s);
            assertNull(ackingServer.received.poll());
            ChannelStats st = ch.stats();
            assertEquals(1, st.errors());
            assertEquals(0, st.messagesIn());
            assertTrue(st.lastError().startsWith("Invalid HL7 message from 127.0.0.1:"), st.lastError());
            // the connection stays usable
            s.setSoTimeout(5000);
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            assertEquals("MSG00001", Er7.ackedControlId(new String(TestSupport.readFrame(s.getInputStream()), StandardCharsets.UTF_8)));
        }
    }

    @Test
    void latin1ChannelRoundTripsByteExact() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.answering(
                m -> TestSupport.ack("AA", m.messageId()) + "NTE|1||" + "Müller\r");
        Hl7Channel ch = start("mllp://0.0.0.0:0?encoding=latin1", ctx);
        String msg = TestSupport.ADT + "NK1|1|Müller^Jürgen\r";
        byte[] latin1 = msg.getBytes(StandardCharsets.ISO_8859_1);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(latin1));
            byte[] reply = TestSupport.readFrame(s.getInputStream());
            assertEquals(msg, ctx.received.poll(5, TimeUnit.SECONDS).body());
            byte[] expected = (TestSupport.ack("AA", "MSG00001") + "NTE|1||Müller\r").getBytes(StandardCharsets.ISO_8859_1);
            assertArrayEquals(expected, reply);
        }
    }

    @Test
    void enhancedModeSendsCommitAckThenForwardsPerAppLevelAck() throws Exception {
        Hl7Channel ch = start("mllp://0.0.0.0:0?enhanced=true&appLevelAck=ER", ackingServer);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            String commit = new String(TestSupport.readFrame(s.getInputStream()), StandardCharsets.UTF_8);
            assertEquals("CA", Er7.ackCode(commit));
            assertEquals("MSG00001", Er7.ackedControlId(commit));
            assertNothingArrives(s); // AA is not forwarded with appLevelAck=ER
        }
    }

    @Test
    void deliverUnmatchedFindsTheConnectionByRemote() throws Exception {
        TestSupport.Context ctx = new TestSupport.Context(m -> new CompletableFuture<>()); // never answers
        Hl7Channel ch = start("mllp://0.0.0.0:0", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            String remote = ctx.received.poll(5, TimeUnit.SECONDS).remote();
            assertTrue(ch.deliverUnmatched(remote, new DeviceReply(200, ContentTypes.HL7_V2, TestSupport.ack("AA", "MSG00001"))));
            assertEquals("MSG00001", Er7.ackedControlId(new String(TestSupport.readFrame(s.getInputStream()), StandardCharsets.UTF_8)));
            assertFalse(ch.deliverUnmatched("10.9.9.9:1", new DeviceReply(200, ContentTypes.HL7_V2, "MSH|")));
        }
    }

    @Test
    void reconfigureSamePortAppliesNewEncodingToOpenConnection() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.answering(m -> TestSupport.ack("AA", m.messageId()) + "NTE|Müller\r");
        Hl7Channel ch = start("mllp://0.0.0.0:0", ctx);
        String msg = TestSupport.ADT + "NK1|1|Müller\r";
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(msg, StandardCharsets.UTF_8));
            assertArrayEquals((TestSupport.ack("AA", "MSG00001") + "NTE|Müller\r").getBytes(StandardCharsets.UTF_8),
                    TestSupport.readFrame(s.getInputStream()));
            assertEquals(msg, ctx.received.poll(5, TimeUnit.SECONDS).body());

            assertTrue(ch.reconfigure(TestSupport.config("ch1", "mllp://0.0.0.0:0?encoding=iso-8859-1")));
            send(s, TestSupport.frame(msg, StandardCharsets.ISO_8859_1));
            assertArrayEquals((TestSupport.ack("AA", "MSG00001") + "NTE|Müller\r").getBytes(StandardCharsets.ISO_8859_1),
                    TestSupport.readFrame(s.getInputStream()));
            assertEquals(msg, ctx.received.poll(5, TimeUnit.SECONDS).body());
            assertEquals(1, ch.stats().connections());
        }
        assertFalse(ch.reconfigure(TestSupport.config("ch1", "mllp://0.0.0.0:2575")));
        assertEquals("mllp://0.0.0.0:0?encoding=iso-8859-1", ch.config().address().raw());
    }

    @Test
    void messagesPerMinSpacesDispatches() throws Exception {
        Hl7Channel ch = start("mllp://0.0.0.0:0?messagesPerMin=240", ackingServer); // 250 ms apart
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            byte[] a = TestSupport.frame(TestSupport.adt("1"), StandardCharsets.UTF_8);
            byte[] b = TestSupport.frame(TestSupport.adt("2"), StandardCharsets.UTF_8);
            byte[] both = new byte[a.length + b.length];
            System.arraycopy(a, 0, both, 0, a.length);
            System.arraycopy(b, 0, both, a.length, b.length);
            long t0 = System.nanoTime();
            send(s, both);
            TestSupport.readFrame(s.getInputStream());
            TestSupport.readFrame(s.getInputStream());
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 200, "two messages took only " + ms + " ms");
        }
    }

    @Test
    void bindFailureNamesThePort() throws Exception {
        Hl7Channel first = start("mllp://0.0.0.0:0", ackingServer);
        int port = first.boundPort();
        Hl7Channel second = (Hl7Channel) factory.create(TestSupport.config("ch2", "mllp://0.0.0.0:" + port), ackingServer);
        ChannelException e = assertThrows(ChannelException.class, second::start);
        assertTrue(e.getMessage().startsWith("Unable to bind port " + port + ": "), e.getMessage());
        assertEquals(ChannelState.FAILED, second.stats().state());
    }

    @Test
    void stopClosesConnectionsAndIsIdempotent() throws Exception {
        Hl7Channel ch = start("mllp://0.0.0.0:0", ackingServer);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            TestSupport.readFrame(s.getInputStream());
            ch.stop();
            assertEquals(-1, s.getInputStream().read());
            ch.stop();
            assertEquals(ChannelState.STOPPED, ch.stats().state());
            assertEquals(0, ch.stats().connections());
        }
    }

    @Test
    void factoryDeactivateStopsItsChannels() throws Exception {
        Hl7ChannelFactory f = new Hl7ChannelFactory();
        Hl7Channel ch = (Hl7Channel) f.create(TestSupport.config("x", "mllp://0.0.0.0:0"), ackingServer);
        ch.start();
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            send(s, TestSupport.frame(TestSupport.ADT, StandardCharsets.UTF_8));
            TestSupport.readFrame(s.getInputStream()); // the connection is registered
            f.deactivate();
            assertEquals(-1, s.getInputStream().read());
            assertEquals(ChannelState.STOPPED, ch.stats().state());
        }
    }

    @Test
    void validationUsesMedplumTexts() {
        List<ConfigIssue> issues = factory.validate(TestSupport.config("v",
                "mllp://0.0.0.0:2575?enhanced=false&appLevelAck=CA&messagesPerMin=twenty&encoding=klingon&maxFrameBytes=-1"));
        assertEquals(List.of(
                ConfigIssue.error("Invalid encoding 'klingon': unknown character set"),
                ConfigIssue.warning("Invalid enhanced value 'false'; expected 'true' or 'aa'. Using standard mode (enhanced mode disabled)."),
                ConfigIssue.warning("Invalid appLevelAck value 'CA'; expected one of AL, ER, NE, SU. Using AL."),
                ConfigIssue.warning("Invalid messagesPerMin: 'twenty'; must be a valid integer. Creating channel without a set messagesPerMin..."),
                ConfigIssue.warning("Invalid maxFrameBytes value '-1'; expected a positive integer. Using 16777216.")), issues);
        assertTrue(factory.validate(TestSupport.config("v",
                "mllp://0.0.0.0:2575?enhanced=AA&appLevelAck=su&messagesPerMin=60abc&encoding=latin1&maxFrameBytes=1024")).isEmpty());
        Hl7Params p = Hl7Params.from(TestSupport.config("v", "mllp://0.0.0.0:2575?messagesPerMin=60abc&enhanced=TRUE"));
        assertEquals(60, p.messagesPerMin);
        assertEquals(Hl7Params.Enhanced.STANDARD, p.enhanced);
        assertEquals(Hl7Params.DEFAULT_MAX_FRAME_BYTES, Hl7Params.from(TestSupport.config("v", "mllp://h:1")).maxFrameBytes);
    }

    @Test
    void appLevelAckGating() {
        Hl7Params ne = Hl7Params.from(TestSupport.config("v", "mllp://h:1?enhanced=true&appLevelAck=NE"));
        Hl7Params su = Hl7Params.from(TestSupport.config("v", "mllp://h:1?enhanced=true&appLevelAck=SU"));
        Hl7Params aa = Hl7Params.from(TestSupport.config("v", "mllp://h:1?enhanced=aa"));
        Hl7Params off = Hl7Params.from(TestSupport.config("v", "mllp://h:1?appLevelAck=NE"));
        assertFalse(ne.forwardsAppAck("AA"));
        assertTrue(su.forwardsAppAck("AA"));
        assertFalse(su.forwardsAppAck("AE"));
        assertFalse(aa.forwardsAppAck("AR"));
        assertTrue(off.forwardsAppAck("AA"));
    }
}
