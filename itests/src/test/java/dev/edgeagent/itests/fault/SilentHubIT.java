package dev.edgeagent.itests.fault;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.edgeagent.itests.fault.FaultSupport.HubRunner;
import dev.edgeagent.itests.support.AgentProcess;
import dev.edgeagent.itests.support.MllpIo;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * A hub that keeps the WebSocket open but stops answering (POST /hub/admin/silence): the real agent, with its
 * default heartbeatSeconds (10) and linkSilenceSeconds (20), must give up on the socket within ~20 s and be connected
 * again after its first reconnect delay (Medplum's: 1-5 s, drawn once per process), and a message sent afterwards
 * must get the hub's ACK.
 */
public class SilentHubIT {
    private static final String AGENT_ID = "fault-silent";
    private static final String CHANNEL = "silent-a";
    /** The silence guard: linkSilenceSeconds (20 s) plus timer and log-polling slack. */
    private static final long GAVE_UP_LIMIT_MS = 22_000;
    /** The guard, the first retry's delay (at most 5 s: ReconnectBackoff.PROCESS_MIN_DELAY_MS), login and handshake. */
    private static final long LIMIT_MS = 27_000;
    /** Longer than detection plus reconnect, so the old socket is still silent when the agent replaces it. */
    private static final int SILENCE_SECONDS = 120;
    /** The transport's warning when its read-silence guard fires. */
    private static final String GAVE_UP = "nothing received from the server for";

    private static int port;
    private static HubRunner hub;
    private static AgentProcess agent;

    @BeforeClass
    public static void startHubAndAgent() throws Exception {
        port = MllpIo.freePort();
        // Standard (non-enhanced) mode: the device's ACK is the hub's answer, so an ACK proves the link works.
        String seed = FaultSupport.seed(AGENT_ID, Map.of(CHANNEL, port), "");
        hub = FaultSupport.startHub(seed, 1000);
        // No short heartbeat: this test is about the shipped defaults.
        agent = FaultSupport.startAgent("fault-silent-agent", hub, AGENT_ID, false, port);
    }

    @AfterClass
    public static void stopAgentAndHub() throws Exception {
        FaultSupport.stopAll(agent, hub);
    }

    @Test
    public void silentHubIsDetectedWithin20SecondsAndReplacedAfterTheFirstRetryDelay() throws Exception {
        awaitLive(60_000);
        assertAcked("SIL-BEFORE");
        long connectsBefore = hub.connectCount(AGENT_ID);
        long gaveUpBefore = gaveUpLines();

        long t0 = System.nanoTime();
        String answer = hub.silence(AGENT_ID, SILENCE_SECONDS);
        long reconnectedMs = -1;
        long gaveUpMs = -1;
        try {
            long deadline = t0 + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline) {
                long now = System.nanoTime();
                if (gaveUpMs < 0 && gaveUpLines() > gaveUpBefore) {
                    gaveUpMs = TimeUnit.NANOSECONDS.toMillis(now - t0);
                }
                if (hub.connectCount(AGENT_ID) > connectsBefore) {
                    reconnectedMs = TimeUnit.NANOSECONDS.toMillis(now - t0);
                    break;
                }
                Thread.sleep(50);
            }
        } finally {
            // Tidy: the old socket is gone by now anyway; this only matters when the agent never reconnected.
            hub.silence(AGENT_ID, 0);
        }
        System.out.println("FAULT silent: detectedAfterMs=" + reconnectedMs + " agentGaveUpAfterMs=" + gaveUpMs
                + " limitMs=" + LIMIT_MS + " silence=" + answer);
        assertTrue("the agent never reconnected within 90 s of the hub going silent; agent log WARN/ERROR:\n"
                + agent.problems(40), reconnectedMs >= 0);
        assertTrue("the agent's silence guard fired only after " + gaveUpMs + " ms (limit " + GAVE_UP_LIMIT_MS + " ms)",
                gaveUpMs >= 0 && gaveUpMs <= GAVE_UP_LIMIT_MS);
        assertTrue("the agent replaced the silent connection only after " + reconnectedMs + " ms (limit " + LIMIT_MS
                + " ms; its silence guard fired after " + gaveUpMs + " ms)\nAgent log tail:\n" + agent.logTail(30),
                reconnectedMs <= LIMIT_MS);

        awaitLive(30_000);
        assertAcked("SIL-AFTER");
    }

    /** LIVE as the hub sees it: the agent's connect request was accepted on a socket that is still open. */
    private static void awaitLive(long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!hub.connected(AGENT_ID)) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("agent " + AGENT_ID + " not connected to the hub within " + timeoutMs
                        + " ms; agent log tail:\n" + agent.logTail(40));
            }
            Thread.sleep(100);
        }
    }

    /** One HL7 message over MLLP; the answer must be the hub's AA for it, and the hub must have it. */
    private static void assertAcked(String controlId) throws Exception {
        String ack;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write(MllpIo.frame(
                    FaultSupport.message(controlId).getBytes(StandardCharsets.ISO_8859_1)));
            s.getOutputStream().flush();
            InputStream in = new BufferedInputStream(s.getInputStream());
            byte[] frame = MllpIo.readFrame(in);
            assertNotNull("the agent closed the device connection without answering " + controlId, frame);
            ack = new String(frame, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new AssertionError("no ACK for " + controlId + ": " + e + "\nAgent log WARN/ERROR:\n"
                    + agent.problems(40), e);
        }
        assertEquals("MSA-1 of the ACK for " + controlId + ": " + ack.replace('\r', '\n'), "AA",
                MllpIo.field(ack, "MSA", 1));
        assertEquals("MSA-2 of the ACK", controlId, MllpIo.field(ack, "MSA", 2));
        assertTrue("the hub did not record " + controlId,
                hub.all().stream().anyMatch(a -> controlId.equals(a.controlId())));
    }

    private static long gaveUpLines() {
        try (Stream<String> lines = Files.lines(agent.log(), StandardCharsets.UTF_8)) {
            return lines.filter(l -> l.contains(GAVE_UP)).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0;
        }
    }
}
