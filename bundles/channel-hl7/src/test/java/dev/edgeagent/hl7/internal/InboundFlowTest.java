package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ConfigIssue;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import dev.edgeagent.api.message.ContentTypes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.edgeagent.hl7.internal.TestSupport.assertNothingArrives;
import static dev.edgeagent.hl7.internal.TestSupport.field;
import static dev.edgeagent.hl7.internal.TestSupport.read;
import static dev.edgeagent.hl7.internal.TestSupport.sendText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inbound flow: commit ACKs, gating, NAKs, assignSeqNo, pacing, RTT stats (checklist C 37–53). */
class InboundFlowTest {
    private final Hl7ChannelFactory factory = new Hl7ChannelFactory();

    @AfterEach
    void tearDown() {
        factory.deactivate();
    }

    private Hl7Channel start(String name, String address, TestSupport.Context ctx) throws ChannelException {
        return TestSupport.start(factory, TestSupport.config(name, address), ctx);
    }

    private Hl7Channel start(String query, TestSupport.Context ctx) throws ChannelException {
        return start("ch1", TestSupport.anyPort(query), ctx);
    }

    @Test
    void commitAckIsSentOnlyWhenTheRuntimeAcceptedTheMessage() throws Exception {
        CompletableFuture<Void> accepted = new CompletableFuture<>();
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        ctx.accepted = m -> accepted;
        Hl7Channel ch = start("enhanced=true", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            ctx.next();
            assertNothingArrives(s); // the server already answered, but nothing may precede the commit ACK
            accepted.complete(null);
            String ca = read(s);
            assertEquals("CA", Er7.ackCode(ca));
            assertEquals("Commit Accept", field(ca, "MSA", 3));
            assertEquals("AA", Er7.ackCode(read(s))); // appLevelAck defaults to AL
        }
    }

    @Test
    void commitFailureAnswersCeWithTheReason() throws Exception {
        TestSupport.Context ctx = new TestSupport.Context(m -> CompletableFuture.failedFuture(
                new IllegalStateException("link buffer full")));
        ctx.accepted = m -> CompletableFuture.failedFuture(new IllegalStateException("link buffer full"));
        Hl7Channel ch = start("enhanced=true", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ce = read(s);
            assertEquals("CE", Er7.ackCode(ce));
            assertEquals("MSG00001", Er7.ackedControlId(ce));
            assertEquals("link buffer full", field(ce, "MSA", 3));
            assertEquals("207^Application internal error^HL70357", field(ce, "ERR", 3));
            assertEquals("E", field(ce, "ERR", 4));
            assertEquals("link buffer full", field(ce, "ERR", 8));
            assertNothingArrives(s); // one answer only, although the reply stage failed too
        }
        assertTrue(ch.stats().lastError().contains("MSG00001") && ch.stats().lastError().contains("link buffer full"));
        assertEquals(0, ((Map<?, ?>) ch.stats().detail().get("rtt")).get("pendingCount"));
    }

    @Test
    void commitFailureInAaModeAnswersAe() throws Exception {
        TestSupport.Context ctx = new TestSupport.Context(m -> new CompletableFuture<>());
        ctx.accepted = m -> CompletableFuture.failedFuture(new IllegalStateException("disk full"));
        Hl7Channel ch = start("enhanced=aa", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            assertEquals("AE", Er7.ackCode(read(s)));
        }
    }

    @Test
    void aaModeSendsAaAsCommitAck() throws Exception {
        Hl7Channel ch = start("enhanced=AA", TestSupport.Context.acking("AA"));
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String aa = read(s);
            assertEquals("AA", Er7.ackCode(aa));
            assertEquals("OK", field(aa, "MSA", 3));
            assertNothingArrives(s); // the server's AA is dropped in aa mode (48)
        }
    }

    /** Checklist 46–50 on the wire: which application ACKs from the server reach the device. */
    @Test
    void appLevelAckGatingOnTheWire() throws Exception {
        assertForwarded("enhanced=true&appLevelAck=NE", "AA", false);
        assertForwarded("appLevelAck=NE", "AA", true); // enhanced off: appLevelAck ignored (47)
        assertForwarded("enhanced=false&appLevelAck=NE", "AA", true); // invalid enhanced = off
        assertForwarded("enhanced=aa", "AE", false);
        assertForwarded("enhanced=aa", "AR", false);
        assertForwarded("enhanced=true&appLevelAck=ER", "AA", false);
        assertForwarded("enhanced=true&appLevelAck=ER", "AE", true);
        assertForwarded("enhanced=true&appLevelAck=er", "AR", true);
        assertForwarded("enhanced=true&appLevelAck=SU", "AA", true);
        assertForwarded("enhanced=true&appLevelAck=SU", "AE", false);
        assertForwarded("enhanced=true&appLevelAck=AL", "AR", true);
        assertForwarded("appLevelAck=SU", "AE", true);
        assertForwarded("enhanced=true&appLevelAck=NE", "CE", true); // commit codes are always forwarded
    }

    private void assertForwarded(String query, String serverCode, boolean expected) throws Exception {
        Hl7Channel ch = start("g", "mllp://0.0.0.0:0?" + query, TestSupport.Context.acking(serverCode));
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            if (query.contains("enhanced=true") || query.contains("enhanced=aa")) {
                String commit = read(s);
                assertTrue(List.of("CA", "AA").contains(Er7.ackCode(commit)), commit);
            }
            if (expected) {
                assertEquals(serverCode, Er7.ackCode(read(s)), query);
            } else {
                assertNothingArrives(s);
            }
        } finally {
            ch.stop();
        }
    }

    @Test
    void frameWithoutMshIsRejectedWithArFromAMinimalMsh() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, "PID|1||X\r");
            String ar = read(s);
            assertTrue(ar.startsWith("MSH|^~\\&|||||"), ar);
            assertEquals("ACK", field(ar, "MSH", 9));
            assertEquals("AR", Er7.ackCode(ar));
            assertEquals("", field(ar, "MSA", 2));
            assertEquals("100^Segment sequence error^HL70357", field(ar, "ERR", 3));
            assertEquals("Message does not start with an MSH segment", field(ar, "ERR", 8));
            assertNull(ctx.received.poll());
            assertTrue(ch.stats().lastError().startsWith("Invalid HL7 message from 127.0.0.1:"));
            assertEquals(1L, ch.stats().detail().get("naksSent"));
        }
        Hl7Channel enh = start("e", "mllp://0.0.0.0:0?enhanced=true", ctx);
        try (Socket s = TestSupport.connect(enh.boundPort())) {
            sendText(s, "garbage");
            assertEquals("CR", Er7.ackCode(read(s)));
        }
    }

    @Test
    void missingControlIdIsRejectedAndNotForwarded() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("", ctx);
        String noId = TestSupport.ADT.replace("|MSG00001|", "||");
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, noId);
            String ar = read(s);
            assertEquals("AR", Er7.ackCode(ar));
            assertEquals("ACK^A01^ACK", field(ar, "MSH", 9));
            assertEquals("MSH^1^10", field(ar, "ERR", 2));
            assertEquals("101^Required field missing^HL70357", field(ar, "ERR", 3));
            assertEquals("MSH-10 (message control id) is missing", field(ar, "ERR", 8));
            assertNull(ctx.received.poll(200, TimeUnit.MILLISECONDS));
        }
        Hl7Channel enh = start("e", "mllp://0.0.0.0:0?enhanced=true", ctx);
        try (Socket s = TestSupport.connect(enh.boundPort())) {
            sendText(s, noId);
            assertEquals("CR", Er7.ackCode(read(s)));
        }
        // Medplum mode forwards it (the server's answer reaches the device)
        Hl7Channel medplum = start("m", "mllp://0.0.0.0:0?nakOnError=false", ctx);
        try (Socket s = TestSupport.connect(medplum.boundPort())) {
            sendText(s, noId);
            assertNull(ctx.next().messageId());
            assertEquals("AA", Er7.ackCode(read(s)));
        }
    }

    @Test
    void serverErrorIsAnsweredAeWithTheBodyTruncatedAndEscaped() throws Exception {
        String body = "Bot failed: a|b^c&d~e\\f " + "x".repeat(300);
        TestSupport.Context ctx = TestSupport.Context.replying(500, ContentTypes.TEXT, body);
        Hl7Channel ch = start("", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ae = read(s);
            assertEquals("AE", Er7.ackCode(ae));
            assertEquals("MSG00001", Er7.ackedControlId(ae));
            String err8 = field(ae, "ERR", 8);
            assertTrue(err8.startsWith("Server error 500: Bot failed: a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f xxx"), err8);
            assertTrue(err8.length() < 260, "quoted body is truncated: " + err8.length());
            String msa3 = field(ae, "MSA", 3); // cut to 80 characters before escaping
            assertTrue(msa3.startsWith("Server error 500: Bot failed: a\\F\\b") && msa3.length() < err8.length(), msa3);
            assertEquals(3, ae.split("\r").length, ae); // MSH, MSA, ERR and nothing else
            String last = ch.stats().lastError();
            assertTrue(last.startsWith("Error during handling transmit request: Bot failed"), last);
        }
        // enhanced: CA first, then AE
        Hl7Channel enh = start("e", "mllp://0.0.0.0:0?enhanced=true", ctx);
        try (Socket s = TestSupport.connect(enh.boundPort())) {
            sendText(s, TestSupport.ADT);
            assertEquals("CA", Er7.ackCode(read(s)));
            assertEquals("AE", Er7.ackCode(read(s)));
        }
    }

    @Test
    void missingServerAnswerIsAnsweredAeNeverAa() throws Exception {
        TestSupport.Context ctx = new TestSupport.Context(m -> CompletableFuture.failedFuture(
                new java.util.concurrent.TimeoutException("no response within 30 s")));
        Hl7Channel ch = start("", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ae = read(s);
            assertEquals("AE", Er7.ackCode(ae));
            assertEquals("No answer from the server: no response within 30 s", field(ae, "ERR", 8));
        }
    }

    @Test
    void nonHl7ServerAnswerIsAnsweredAe() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.replying(200, ContentTypes.HL7_V2, "Bot execution logs:\nnothing");
        Hl7Channel ch = start("", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ae = read(s);
            assertEquals("AE", Er7.ackCode(ae));
            assertTrue(field(ae, "ERR", 8).contains("not an HL7 message"), ae);
        }
    }

    @Test
    void assignSeqNoCountsAcrossReconfigureAndRestartsForANewChannel() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("assignSeqNo=true", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            for (int i = 0; i < 3; i++) {
                sendText(s, TestSupport.adt("M" + i));
                read(s);
                assertEquals(String.valueOf(i), Er7.field(ctx.next().body(), "MSH", 13));
            }
            // a resend (same MSH-10 and text) keeps its number, so the durable queue sees an identical copy
            sendText(s, TestSupport.adt("M1"));
            read(s);
            assertEquals("1", Er7.field(ctx.next().body(), "MSH", 13));
            // same name and port, other parameters: the counter continues (42)
            assertTrue(ch.reconfigure(TestSupport.config("ch1", "mllp://0.0.0.0:0?assignSeqNo=TRUE&appLevelAck=AL")));
            for (int i = 3; i < 5; i++) {
                sendText(s, TestSupport.adt("M" + i));
                read(s);
                assertEquals(String.valueOf(i), Er7.field(ctx.next().body(), "MSH", 13));
            }
            // turning it off forwards unchanged and resets the counter
            assertTrue(ch.reconfigure(TestSupport.config("ch1", "mllp://0.0.0.0:0")));
            sendText(s, TestSupport.ADT);
            read(s);
            assertEquals(TestSupport.ADT, ctx.next().body());
            assertTrue(ch.reconfigure(TestSupport.config("ch1", "mllp://0.0.0.0:0?assignSeqNo=true")));
            sendText(s, TestSupport.ADT);
            read(s);
            assertEquals("0", Er7.field(ctx.next().body(), "MSH", 13));
        }
        // a renamed channel is a new instance: starts at 0 (43)
        Hl7Channel renamed = start("ch2", "mllp://0.0.0.0:0?assignSeqNo=true", ctx);
        try (Socket s = TestSupport.connect(renamed.boundPort())) {
            sendText(s, TestSupport.ADT.replace('\r', '\n'));
            read(s);
            String body = ctx.next().body();
            assertEquals("0", Er7.field(body, "MSH", 13));
            // modified messages are re-joined with CR (Q18)
            assertEquals(TestSupport.ADT.replace("|MSG00001|P|2.5.1", "|MSG00001|P|2.5.1|0"), body);
        }
    }

    @Test
    void withMsh13ReplacesOrPads() {
        assertEquals("MSH|^~\\&|a|||||||ID|P|2.5|7|x\rPID|1",
                Er7.withMsh13("MSH|^~\\&|a|||||||ID|P|2.5|old|x\nPID|1", "7"));
        assertEquals("MSH|^~\\&|a|||||||ID|P||7\r", Er7.withMsh13("MSH|^~\\&|a|||||||ID|P\r\n", "7"));
        assertEquals("MSH|^~\\&|a|||||||ID|P|2.5|3", Er7.withMsh13("MSH|^~\\&|a|||||||ID|P|2.5|", "3"));
    }

    @Test
    void messagesPerMin60SpacesTwoMessagesByASecond() throws Exception {
        Hl7Channel ch = start("messagesPerMin=60abc", TestSupport.Context.acking("AA")); // parseInt: 60
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            long t0 = System.nanoTime();
            sendText(s, TestSupport.adt("1"));
            sendText(s, TestSupport.adt("2"));
            read(s);
            read(s);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms > 800, "two messages took only " + ms + " ms");
        }
    }

    @Test
    void pacingAlsoDelaysTheCommitAck() throws Exception {
        Hl7Channel ch = start("enhanced=true&appLevelAck=NE&messagesPerMin=150", TestSupport.Context.acking("AA"));
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.adt("1"));
            sendText(s, TestSupport.adt("2"));
            read(s);
            long t0 = System.nanoTime();
            String second = read(s);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals("2", Er7.ackedControlId(second));
            assertTrue(ms >= 300, "second commit ACK after only " + ms + " ms (400 ms spacing)");
        }
    }

    @Test
    void pacingIsAppliedLiveToAnOpenConnection() throws Exception {
        Hl7Channel ch = start("", TestSupport.Context.acking("AA"));
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.adt("1"));
            read(s);
            assertTrue(ch.reconfigure(TestSupport.config("ch1", "mllp://0.0.0.0:0?messagesPerMin=120")));
            long t0 = System.nanoTime();
            sendText(s, TestSupport.adt("2"));
            sendText(s, TestSupport.adt("3"));
            read(s);
            read(s);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 400, "paced messages took only " + ms + " ms");
        }
    }

    @Test
    void rttStatsTrackPendingAndSamplesAcrossReconfigure() throws Exception {
        CompletableFuture<DeviceReply> answer = new CompletableFuture<>();
        TestSupport.Context ctx = new TestSupport.Context(m -> answer);
        Hl7Channel ch = start("", ctx);
        Map<?, ?> empty = (Map<?, ?>) ch.stats().detail().get("rtt");
        assertEquals(Map.of("count", 0, "min", -1, "max", -1, "average", -1, "p50", -1, "p95", -1, "p99", -1,
                "pendingCount", 0), empty);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            ctx.next();
            Map<?, ?> rtt = (Map<?, ?>) ch.stats().detail().get("rtt");
            assertEquals(1, rtt.get("pendingCount"));
            assertEquals(0, rtt.get("count"));
            answer.complete(new DeviceReply(200, ContentTypes.HL7_V2, TestSupport.ack("AA", "MSG00001")));
            read(s);
            TestSupport.await(() -> ((Map<?, ?>) ch.stats().detail().get("rtt")).get("count").equals(1), "an RTT sample");
            rtt = (Map<?, ?>) ch.stats().detail().get("rtt");
            assertEquals(0, rtt.get("pendingCount"));
            assertTrue((Double) rtt.get("p99") >= 0);
            assertTrue(ch.reconfigure(TestSupport.config("ch1", "mllp://0.0.0.0:0?enhanced=true")));
            assertEquals(1, ((Map<?, ?>) ch.stats().detail().get("rtt")).get("count")); // (45)
            assertEquals(1, ch.stats().detail().get("hl7ConnectionsOpen"));
        }
    }

    @Test
    void commitAckAndSequenceLogTexts() {
        assertEquals("[Sent Commit ACK (CA) -- ID: MSG00001]", Hl7Channel.commitAckLogText("CA", "MSG00001"));
        assertEquals("[Sent Commit ACK (CA) -- ID: not provided]", Hl7Channel.commitAckLogText("CA", null));
        assertEquals("[Sent App ACK (AA) -- ID: X]", Hl7Channel.commitAckLogText("AA", "X"));
        assertEquals("Setting sequence number for message control ID 'MSG1': 0", Hl7Channel.sequenceLogText("MSG1", 0));
    }

    /** Checklist 51, 52 and the parameters this channel adds. */
    @Test
    void parameterParsing() {
        assertEquals(Hl7Params.AppLevelAck.NE, params("appLevelAck=ne").appLevelAck);
        assertEquals(Hl7Params.AppLevelAck.SU, params("appLevelAck=Su").appLevelAck);
        assertEquals(Hl7Params.AppLevelAck.AL, params("").appLevelAck);
        assertTrue(params("").issues().isEmpty());
        Hl7Params bad = params("appLevelAck=CA");
        assertEquals(Hl7Params.AppLevelAck.AL, bad.appLevelAck);
        assertEquals(List.of(ConfigIssue.warning("Invalid appLevelAck value 'CA'; expected one of AL, ER, NE, SU. Using AL.")),
                bad.issues());
        assertEquals(Hl7Params.Enhanced.STANDARD, params("enhanced=true").enhanced);
        assertEquals(Hl7Params.Enhanced.STANDARD, params("enhanced=TRUE").enhanced);
        assertEquals(Hl7Params.Enhanced.AA, params("enhanced=aa").enhanced);
        assertEquals(Hl7Params.Enhanced.AA, params("enhanced=AA").enhanced);
        assertEquals(Hl7Params.Enhanced.OFF, params("").enhanced);
        Hl7Params inv = params("enhanced=invalid");
        assertEquals(Hl7Params.Enhanced.OFF, inv.enhanced);
        assertEquals(List.of(ConfigIssue.warning(
                "Invalid enhanced value 'invalid'; expected 'true' or 'aa'. Using standard mode (enhanced mode disabled).")),
                inv.issues());
        assertTrue(params("assignSeqNo=True").assignSeqNo);
        assertFalse(params("assignSeqNo=yes").assignSeqNo);
        assertTrue(params("assignSeqNo=yes").issues().isEmpty());
        assertEquals(0, params("messagesPerMin=twenty").messagesPerMin);
        assertEquals(List.of(ConfigIssue.warning(
                "Invalid messagesPerMin: 'twenty'; must be a valid integer. Creating channel without a set messagesPerMin...")),
                params("messagesPerMin=twenty").issues());
        Hl7Params d = params("");
        assertTrue(d.nakOnError);
        assertNull(d.charset);
        assertEquals(Hl7Params.DEFAULT_MAX_CONNECTIONS, d.maxConnections);
        assertEquals(Hl7Params.DEFAULT_IDLE_TIMEOUT_SECS, d.idleTimeoutSecs);
        assertFalse(params("nakOnError=false").nakOnError);
        assertEquals(0, params("idleTimeoutSecs=0").idleTimeoutSecs);
        assertEquals(100, params("maxConnections=100").maxConnections);
        assertEquals(List.of(
                ConfigIssue.warning("Invalid nakOnError value 'maybe'; expected 'true' or 'false'. Using true."),
                ConfigIssue.warning("Invalid maxConnections value '0'; expected a positive integer. Using 1000."),
                ConfigIssue.warning("Invalid idleTimeoutSecs value '-5'; expected a non-negative integer. Using 3600.")),
                params("nakOnError=maybe&maxConnections=0&idleTimeoutSecs=-5").issues());
    }

    private static Hl7Params params(String query) {
        return Hl7Params.from(TestSupport.config("p", "mllp://0.0.0.0:2575" + (query.isEmpty() ? "" : "?" + query)));
    }

    @Test
    void messageReachesTheServerAsSent() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ack = read(s);
            assertEquals("ACK", Er7.firstComponent(field(ack, "MSH", 9), '^')); // (37)
            InboundMessage m = ctx.next();
            assertEquals(TestSupport.ADT, m.body());
            assertEquals(ContentTypes.HL7_V2, m.contentType());
        }
    }
}
