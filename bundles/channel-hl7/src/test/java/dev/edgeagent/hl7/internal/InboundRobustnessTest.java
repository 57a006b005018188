package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.message.ContentTypes;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.edgeagent.hl7.internal.TestSupport.assertNothingArrives;
import static dev.edgeagent.hl7.internal.TestSupport.closedByPeer;
import static dev.edgeagent.hl7.internal.TestSupport.read;
import static dev.edgeagent.hl7.internal.TestSupport.send;
import static dev.edgeagent.hl7.internal.TestSupport.sendText;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Charsets (issue 3 item 4) and hostile or sloppy input (item 5), over real loopback sockets. */
class InboundRobustnessTest {
    private final Hl7ChannelFactory factory = new Hl7ChannelFactory();
    private final List<Socket> sockets = new ArrayList<>();

    @AfterEach
    void tearDown() throws IOException {
        for (Socket s : sockets) s.close();
        factory.deactivate();
    }

    private Hl7Channel start(String query, TestSupport.Context ctx) throws ChannelException {
        return TestSupport.start(factory, TestSupport.config("ch1", TestSupport.anyPort(query)), ctx);
    }

    /** A server whose answer is an AA plus an NTE echoing the PID-5 of the message (non-ASCII round trip). */
    private static TestSupport.Context echoingName() {
        return TestSupport.Context.answering(
                m -> TestSupport.ack("AA", m.messageId()) + "NTE|1||" + Er7.field(m.body(), "PID", 5) + "\r");
    }

    private static String adtWithName(String msh18, String name) {
        String msh = "MSH|^~\\&|LAB|FAC|EA|FAC|20240101120000||ADT^A01^ADT_A01|C1|P|2.5.1" + (msh18 == null ? ""
                : "||||||" + msh18);
        return msh + "\rPID|1||123||" + name + "\r";
    }

    private void roundTrip(String query, String msh18, String name, Charset wire) throws Exception {
        TestSupport.Context ctx = echoingName();
        Hl7Channel ch = start(query, ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            String msg = adtWithName(msh18, name);
            send(s, TestSupport.frame(msg, wire));
            byte[] reply = TestSupport.readFrame(s.getInputStream());
            assertEquals(msg, ctx.next().body(), query + " " + msh18);
            String expected = "NTE|1||" + name + "\r";
            assertTrue(new String(reply, wire).endsWith(expected), new String(reply, wire));
            byte[] tail = expected.getBytes(wire);
            byte[] replyTail = java.util.Arrays.copyOfRange(reply, reply.length - tail.length, reply.length);
            assertArrayEquals(tail, replyTail, "the answer is encoded like the device's message");
        } finally {
            ch.stop();
        }
    }

    @Test
    void charsetsByParameterAndByMsh18() throws Exception {
        roundTrip("encoding=latin1", null, "Müller^Jürgen", StandardCharsets.ISO_8859_1);
        roundTrip("encoding=cp1252", null, "Euro€^Zoë", Charset.forName("windows-1252"));
        roundTrip("encoding=win1252", null, "Euro€", Charset.forName("windows-1252"));
        roundTrip("encoding=windows-1252", null, "Euro€", Charset.forName("windows-1252"));
        roundTrip("", "8859/1", "Müller", StandardCharsets.ISO_8859_1);
        roundTrip("", "8859/15", "Euro€", Charset.forName("ISO-8859-15"));
        roundTrip("", "UNICODE UTF-8", "Müller 中文", StandardCharsets.UTF_8);
        roundTrip("", null, "Müller 中文", StandardCharsets.UTF_8);
        // an explicit parameter wins over MSH-18
        roundTrip("encoding=latin1", "UNICODE UTF-8", "Müller", StandardCharsets.ISO_8859_1);
    }

    @Test
    void msh18IsReadFromRawBytes() {
        assertEquals(StandardCharsets.ISO_8859_1, msh18("MSH|^~\\&|a||||||ADT^A01|1|P|2.5||||||8859/1\rPID|1"));
        assertEquals(StandardCharsets.UTF_8, msh18("MSH|^~\\&|a||||||ADT^A01|1|P|2.5||||||UNICODE UTF-8|DE\r"));
        assertEquals(StandardCharsets.US_ASCII, msh18("MSH|^~\\&|a||||||ADT^A01|1|P|2.5||||||ASCII~8859/1"));
        assertEquals(Charset.forName("windows-1252"), msh18("MSH|^~\\&|a||||||ADT^A01|1|P|2.5||||||cp1252"));
        assertNull(msh18("MSH|^~\\&|a||||||ADT^A01|1|P|2.5||||||\rPID|||||||||||||||||8859/1"));
        assertNull(msh18("MSH|^~\\&|a||||||ADT^A01|1|P|2.5\rPID|||||||||||||||||8859/1"));
        assertNull(msh18("MSH|^~\\&|a||||||ADT^A01|1|P|2.5||||||KLINGON"));
        assertNull(msh18("PID|1"));
    }

    private static Charset msh18(String text) {
        return Charsets.fromMsh18(Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void invalidUtf8PassesAsReplacementButSeparatorsAreKept() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("", ctx);
        String crlf = TestSupport.ADT.replace("\r", "\r\n");
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, crlf);
            read(s);
            assertEquals(crlf, ctx.next().body()); // byte-exact: CRLF separators unchanged
        }
    }

    @Test
    void largeOruWithEmbeddedPdfRoundTrips() throws Exception {
        byte[] pdf = new byte[110 * 1024];
        new Random(42).nextBytes(pdf);
        String b64 = Base64.getEncoder().encodeToString(pdf); // ~150 KB
        String oru = "MSH|^~\\&|LAB|FAC|EA|FAC|20240101120000||ORU^R01^ORU_R01|PDF1|P|2.5.1\r"
                + "PID|1||123||DOE^JOHN\rOBR|1||R1|PDF^Report\r"
                + "OBX|1|ED|PDF^Report||^application^pdf^Base64^" + b64 + "||||||F\r";
        assertTrue(oru.length() > 150_000);
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            byte[] frame = TestSupport.frame(oru, StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            for (int i = 0; i < frame.length; i += 7000) { // in many TCP writes
                out.write(frame, i, Math.min(7000, frame.length - i));
                out.flush();
            }
            assertEquals("PDF1", Er7.ackedControlId(read(s)));
            assertEquals(oru, ctx.next().body());
        }
    }

    @Test
    void endlessFrameIsCutOffAndTheChannelKeepsServing() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("maxFrameBytes=1048576", ctx);
        long sent = 0;
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) 'A');
            OutputStream out = s.getOutputStream();
            out.write(Mllp.VT);
            try {
                while (sent < 100L * 1024 * 1024) {
                    out.write(chunk);
                    sent += chunk.length;
                }
            } catch (IOException closedByAgent) {
                // expected: the agent closes the connection once the frame exceeds maxFrameBytes
            }
        }
        assertTrue(sent < 100L * 1024 * 1024, "the agent kept reading an endless frame: " + sent + " bytes");
        assertTrue(ch.stats().lastError().contains("exceeds maxFrameBytes=1048576"), ch.stats().lastError());
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            assertEquals("AA", Er7.ackCode(read(s)));
        }
    }

    @Test
    void connectionFloodIsCappedAndAProperClientIsStillServed() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("maxConnections=100", ctx);
        List<Socket> flood = new ArrayList<>();
        try {
            for (int i = 0; i < 2000; i++) {
                Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), ch.boundPort());
                flood.add(s);
            }
            TestSupport.await(() -> (Long) ch.stats().detail().get("connectionsRejected") >= 1900,
                    "1900 refused connections");
            assertEquals(100, ch.stats().connections());
            // a proper client gets in once the flood is gone, and the refused sockets were closed by the agent
            int closed = 0;
            for (int i = 1990; i < 2000; i++) {
                if (closedByPeer(flood.get(i))) closed++;
            }
            assertEquals(10, closed);
        } finally {
            for (Socket s : flood) s.close();
        }
        TestSupport.await(() -> ch.stats().connections() == 0, "the flood to be gone");
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            assertEquals("AA", Er7.ackCode(read(s)));
        }
    }

    @Test
    void slowClientDoesNotBlockOthers() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("", ctx);
        Socket slow = TestSupport.connect(ch.boundPort());
        sockets.add(slow);
        AtomicBoolean stop = new AtomicBoolean();
        byte[] frame = TestSupport.frame(TestSupport.adt("SLOW"), StandardCharsets.UTF_8);
        Thread trickle = new Thread(() -> {
            try {
                for (int i = 0; i < frame.length && !stop.get(); i++) {
                    slow.getOutputStream().write(frame[i]);
                    slow.getOutputStream().flush();
                    Thread.sleep(200);
                }
            } catch (IOException | InterruptedException e) {
                // test over
            }
        });
        trickle.setDaemon(true);
        trickle.start();
        try (Socket fast = TestSupport.connect(ch.boundPort())) {
            Thread.sleep(300); // the slow client is mid-frame
            long t0 = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                sendText(fast, TestSupport.adt("F" + i));
                assertEquals("F" + i, Er7.ackedControlId(read(fast)));
            }
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 2000);
        } finally {
            stop.set(true);
            trickle.join(2000);
        }
    }

    @Test
    void lfSeparatedSegmentsAndFsWithoutCrAreServed() throws Exception {
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        Hl7Channel ch = start("", ctx);
        String lf = TestSupport.adt("LF1").replace('\r', '\n');
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            byte[] noCr = TestSupport.frame(lf, StandardCharsets.UTF_8);
            send(s, java.util.Arrays.copyOf(noCr, noCr.length - 1)); // VT ... FS, no CR
            assertEquals("LF1", Er7.ackedControlId(read(s)));
            assertEquals(lf, ctx.next().body());
            // junk (CR LF NUL) before the next frame, and two frames pipelined in one write
            byte[] a = TestSupport.frame(TestSupport.adt("P1"), StandardCharsets.UTF_8);
            byte[] b = TestSupport.frame(TestSupport.adt("P2"), StandardCharsets.UTF_8);
            byte[] all = new byte[3 + a.length + b.length];
            all[0] = '\r';
            all[1] = '\n';
            all[2] = 0;
            System.arraycopy(a, 0, all, 3, a.length);
            System.arraycopy(b, 0, all, 3 + a.length, b.length);
            send(s, all);
            assertEquals("P1", Er7.ackedControlId(read(s)));
            assertEquals("P2", Er7.ackedControlId(read(s)));
        }
    }

    @Test
    void idleConnectionIsClosedButNeverWithAMessageInFlight() throws Exception {
        CompletableFuture<DeviceReply> held = new CompletableFuture<>();
        TestSupport.Context ctx = new TestSupport.Context(m -> "HOLD".equals(m.messageId()) ? held
                : CompletableFuture.completedFuture(new DeviceReply(200, ContentTypes.HL7_V2,
                TestSupport.ack("AA", m.messageId()))));
        Hl7Channel ch = start("idleTimeoutSecs=1", ctx);
        try (Socket idle = TestSupport.connect(ch.boundPort()); Socket busy = TestSupport.connect(ch.boundPort())) {
            sendText(busy, TestSupport.adt("HOLD"));
            ctx.next();
            assertTrue(closedByPeer(idle), "an idle connection is closed after idleTimeoutSecs");
            // the busy one waited well past the timeout for the server's answer and is still open
            Thread.sleep(1200);
            held.complete(new DeviceReply(200, ContentTypes.HL7_V2, TestSupport.ack("AA", "HOLD")));
            assertEquals("HOLD", Er7.ackedControlId(read(busy)));
            assertEquals(1L, ch.stats().detail().get("idleConnectionsClosed"));
            // once answered, it becomes idle and is closed in turn
            assertTrue(closedByPeer(busy));
        }
    }

    @Test
    void idleTimeoutZeroNeverCloses() throws Exception {
        Hl7Channel ch = start("idleTimeoutSecs=0", TestSupport.Context.acking("AA"));
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            Thread.sleep(1200);
            assertNothingArrives(s);
            sendText(s, TestSupport.ADT);
            assertEquals("AA", Er7.ackCode(read(s)));
            assertFalse(s.isClosed());
        }
    }
}
