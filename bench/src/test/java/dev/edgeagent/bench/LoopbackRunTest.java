package dev.edgeagent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class LoopbackRunTest {
    private static BenchConfig cfg(int port, int conns, long messages, Expect e) {
        BenchConfig c = BenchConfig.parse(new String[] {"--host", "127.0.0.1", "--port", String.valueOf(port),
            "--connections", String.valueOf(conns), "--messages", String.valueOf(messages), "--warmup", "200",
            "--timeout", "2000", "--pid", String.valueOf(ProcessHandle.current().pid())});
        c.expect = e;
        return c;
    }

    @Test
    void standardRunAgainstTheResponder() throws Exception {
        try (Responder r = new Responder("127.0.0.1", 0, false)) {
            List<String> errors = new CopyOnWriteArrayList<>();
            BenchResult res = new LoadRunner(cfg(r.port(), 4, 2000, Expect.AA), errors::add).run();
            assertTrue(errors.isEmpty(), errors.toString());
            assertFalse(res.failed(), res.table());
            assertEquals(2000, res.ok);
            assertEquals(200, res.warmupOk);
            assertEquals(2200, r.answered());
            assertEquals(2000, res.latency.count);
            assertTrue(res.latency.p50Nanos > 0 && res.latency.p50Nanos <= res.latency.p99Nanos);
            assertTrue(res.rssPeakKb > 0 && res.hwmKb >= res.rssPeakKb / 2, res.table());
            assertTrue(res.json().contains("\"messages\":2000") && res.json().contains("\"ok\":true"), res.json());
        }
    }

    @Test
    void enhancedRunReadsBothAnswers() throws Exception {
        try (Responder r = new Responder("127.0.0.1", 0, true)) {
            List<String> errors = new CopyOnWriteArrayList<>();
            BenchResult res = new LoadRunner(cfg(r.port(), 2, 500, Expect.CA_AA), errors::add).run();
            assertTrue(errors.isEmpty(), errors.toString());
            assertFalse(res.failed(), res.table());
            assertEquals(500, res.ok);
            assertTrue(res.firstAnswer.p50Nanos <= res.latency.p50Nanos);
        }
    }

    @Test
    void commitThenNextAwaitsEveryApplicationAck() throws Exception {
        try (Responder r = new Responder("127.0.0.1", 0, true)) {
            List<String> errors = new CopyOnWriteArrayList<>();
            BenchResult res = new LoadRunner(cfg(r.port(), 3, 600, Expect.parse("CA-then-next")), errors::add).run();
            assertTrue(errors.isEmpty(), errors.toString());
            assertFalse(res.failed(), res.table());
            assertEquals(600, res.ok);
            assertEquals(600, res.latency.count);
            assertEquals(600, res.firstAnswer.count);
            assertTrue(res.commitThroughput() > 0 && res.json().contains("\"caPerSec\""), res.json());
            assertTrue(res.json().contains("\"expect\":\"CA-then-next\""), res.json());
        }
    }

    @Test
    void commitThenNextCountsAnApplicationAckThatNeverComes() throws Exception {
        // A peer that commits every message but never answers for the application: each lost AA is an error.
        try (ServerSocket peer = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (Socket s = peer.accept()) {
                    Mllp.Reader in = new Mllp.Reader(s.getInputStream());
                    OutputStream out = s.getOutputStream();
                    byte[] m;
                    while ((m = in.read(1 << 20)) != null) Mllp.write(out, Responder.ack("CA", Responder.controlId(m)));
                } catch (IOException ignored) {
                    // closed by the test
                }
            });
            t.setDaemon(true);
            t.start();
            BenchConfig c = cfg(peer.getLocalPort(), 1, 3, Expect.CA_NEXT);
            c.warmupMessages = 0;
            c.timeoutMs = 300;
            List<String> errors = new CopyOnWriteArrayList<>();
            BenchResult res = new LoadRunner(c, errors::add).run();
            assertEquals(0, res.ok);
            assertEquals(1, res.timeouts);
            assertEquals(3, res.errors);
            assertTrue(res.failed());
            assertTrue(errors.get(0).contains("no application ACK within 300 ms"), errors.get(0));
        }
    }

    @Test
    void expectingAaFromAnEnhancedPeerFailsLoudly() throws Exception {
        try (Responder r = new Responder("127.0.0.1", 0, true)) {
            List<String> errors = new CopyOnWriteArrayList<>();
            BenchResult res = new LoadRunner(cfg(r.port(), 1, 50, Expect.AA), errors::add).run();
            assertTrue(res.failed());
            assertTrue(res.errors + res.warmupErrors > 0);
            assertTrue(errors.get(0).contains("expected AA, got CA"), errors.get(0));
        }
    }

    @Test
    void aSilentPeerIsCountedAsTimeouts() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = silent.accept(); // accept and never answer
                        s.getInputStream();
                    }
                } catch (IOException ignored) {
                    // closed by the test
                }
            });
            t.setDaemon(true);
            t.start();
            BenchConfig c = cfg(silent.getLocalPort(), 1, 2, Expect.AA);
            c.warmupMessages = 0;
            c.timeoutMs = 200;
            List<String> errors = new CopyOnWriteArrayList<>();
            BenchResult res = new LoadRunner(c, errors::add).run();
            assertEquals(2, res.timeouts);
            assertEquals(0, res.ok);
            assertTrue(res.failed());
            assertTrue(errors.get(0).contains("no complete answer within 200 ms"), errors.get(0));
        }
    }

    @Test
    void responderAnswersWithTheControlId() throws Exception {
        try (Responder r = new Responder("127.0.0.1", 0, false); Socket s = new Socket("127.0.0.1", r.port())) {
            OutputStream out = s.getOutputStream();
            Mllp.write(out, "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|CTRL-9|P|2.5.1\rPID|1\r".getBytes(StandardCharsets.US_ASCII));
            Answer a = Answer.parse(new Mllp.Reader(s.getInputStream()).read(4096));
            assertEquals("AA", a.code());
            assertEquals("CTRL-9", a.controlId());
        }
    }

    @Test
    void usageErrorsNameTheOption() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> BenchConfig.parse(new String[] {"--connections", "zero"}));
        assertTrue(e.getMessage().contains("--connections"));
        assertThrows(() -> BenchConfig.parse(new String[] {"--bogus", "1"}));
        assertThrows(() -> BenchConfig.parse(new String[] {"--port"}));
    }

    private static void assertThrows(Runnable r) {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, r::run);
    }
}
