package dev.edgeagent.itests.interop;

import static dev.edgeagent.itests.interop.InteropSupport.show;
import static dev.edgeagent.itests.support.MllpIo.field;
import static dev.edgeagent.itests.support.MllpIo.frame;
import static dev.edgeagent.itests.support.MllpIo.readFrame;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import dev.edgeagent.hub.Hub;
import dev.edgeagent.hub.HubOptions;
import dev.edgeagent.hub.ReceivedMessage;
import dev.edgeagent.itests.support.AgentProcess;
import dev.edgeagent.itests.support.HubSeed;
import dev.edgeagent.itests.support.MllpIo;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Retransmitted MSH-10s through the real agent and its durable queue (spec §8 intake): a refused copy is answered
 * CR (AR in aa mode), an id reused for different content AR, and neither reaches the hub; an identical copy under
 * the default {@code idempotent} gets CA and the stored answer again, also with {@code assignSeqNo=true}.
 */
public class DuplicateIT {
    private static final String AGENT_ID = "duplicate-agent";
    private static final int TIMEOUT_MS = 20_000;

    private static Hub hub;
    private static AgentProcess agent;
    private static int rejectPort;
    private static int rejectAaPort;
    private static int idempotentPort;
    private static int sequencedPort;

    @BeforeClass
    public static void startHubAndAgent() throws Exception {
        rejectPort = MllpIo.freePort();
        rejectAaPort = MllpIo.freePort();
        idempotentPort = MllpIo.freePort();
        sequencedPort = MllpIo.freePort();
        hub = Hub.start(HubOptions.defaults().host("127.0.0.1").port(0).heartbeatMs(5_000).seedJson(seed()));
        String tarball = System.getProperty("edge.assembly");
        assertNotNull("system property edge.assembly (the assembly tarball) is not set; run through the itests pom", tarball);
        agent = AgentProcess.extract(Path.of(tarball),
                Path.of(System.getProperty("edge.target", "target")).resolve("duplicate-agent").toAbsolutePath());
        agent.configure(hub.port(), AGENT_ID);
        agent.start();
        agent.awaitPorts(90_000, rejectPort, rejectAaPort, idempotentPort, sequencedPort);
    }

    @AfterClass
    public static void stopAgentAndHub() throws Exception {
        try {
            if (agent != null) {
                agent.close();
            }
        } finally {
            if (hub != null) {
                hub.stop();
            }
        }
    }

    private static String seed() {
        return HubSeed.agent(AGENT_ID, "duplicates")
                .channel("dup-reject", "mllp://0.0.0.0:" + rejectPort + "?enhanced=true&duplicateBehavior=reject")
                .channel("dup-reject-aa", "mllp://0.0.0.0:" + rejectAaPort + "?enhanced=aa&duplicateBehavior=reject")
                .channel("dup-idempotent", "mllp://0.0.0.0:" + idempotentPort + "?enhanced=true")
                .channel("dup-sequenced", "mllp://0.0.0.0:" + sequencedPort + "?enhanced=true&assignSeqNo=true")
                .json();
    }

    private static String message(String controlId, String patient) {
        return "MSH|^~\\&|DUPTEST|LAB|EDGE|HOSP|20250101120000||ADT^A01^ADT_A01|" + controlId + "|P|2.5\r"
                + "EVN|A01|20250101120000\r"
                + "PID|1||" + patient + "^^^MCM^MR||Doe^John||19700101|M\r";
    }

    /** One device connection: sends a message and reads the agent's answers in order. */
    private static final class Device implements AutoCloseable {
        private final Socket socket = new Socket();

        Device(int port) throws IOException {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), TIMEOUT_MS);
            socket.setSoTimeout(TIMEOUT_MS);
        }

        void send(String message) throws IOException {
            socket.getOutputStream().write(frame(message.getBytes(UTF_8)));
            socket.getOutputStream().flush();
        }

        String next() throws IOException {
            byte[] f = readFrame(socket.getInputStream());
            assertNotNull("the agent closed the connection instead of answering", f);
            return new String(f, UTF_8);
        }

        /** Enhanced mode: the commit CA, then the server's AA, which is returned. */
        String committedAndAnswered(String message) throws IOException {
            send(message);
            assertEquals("CA", field(next(), "MSA", 1));
            String answer = next();
            assertEquals(show(answer), "AA", field(answer, "MSA", 1));
            return answer;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** The bodies the hub received from {@code channel} with this MSH-10. */
    private static List<String> hubBodies(String channel, String controlId) {
        return hub.receivedMessages().stream().filter(m -> channel.equals(m.channel()))
                .map(ReceivedMessage::body).filter(b -> b != null && controlId.equals(field(b, "MSH", 10))).toList();
    }

    private static long arrivals(String channel, String controlId) {
        return hubBodies(channel, controlId).size();
    }

    private static void awaitArrival(String channel, String controlId) throws InterruptedException {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (arrivals(channel, controlId) == 0) {
            assertTrue("the hub never received " + controlId + " from " + channel, System.currentTimeMillis() < deadline);
            Thread.sleep(20);
        }
    }

    /** An identical copy (idempotent): CA, then the stored AA replayed for it; the same id with other content: AR. */
    private static void assertReplayedThenReuseRefused(Device d, String controlId) throws IOException {
        String replay = d.committedAndAnswered(message(controlId, "P1"));
        assertEquals(show(replay), controlId, field(replay, "MSA", 2));
        d.send(message(controlId, "P2"));
        assertRefused(d.next(), "AR", controlId);
    }

    private static void assertRefused(String answer, String code, String controlId) {
        assertEquals(show(answer), code, field(answer, "MSA", 1));
        assertEquals(show(answer), controlId, field(answer, "MSA", 2));
        assertTrue(show(answer), field(answer, "ERR", 3).startsWith("205^"));
        assertTrue(show(answer), field(answer, "ERR", 8).contains("Duplicate message control id '" + controlId + "'"));
    }

    @Test
    public void rejectAnswersCrInEnhancedModeAndArInAaMode() throws Exception {
        try (Device d = new Device(rejectPort)) {
            d.committedAndAnswered(message("R1", "P1"));
            d.send(message("R1", "P1"));
            assertRefused(d.next(), "CR", "R1");
            d.send(message("R1", "P2"));
            String ar = d.next();
            assertRefused(ar, "AR", "R1"); // a reused id is AR in every mode
            assertEquals(show(ar), "Message control ID already used by a different message", field(ar, "MSA", 3));
        }
        try (Device d = new Device(rejectAaPort)) {
            d.send(message("R2", "P1"));
            assertEquals("AA", field(d.next(), "MSA", 1)); // aa mode: the commit ACK is AA, the server's is dropped
            d.send(message("R2", "P1"));
            assertRefused(d.next(), "AR", "R2");
            // The AA above is the agent's commit, given before the hub has the message: wait for a later message
            // to arrive, which the queue forwards after R2 and after anything wrongly queued for the refused copy.
            d.send(message("R2-after", "P3"));
            assertEquals("AA", field(d.next(), "MSA", 1));
            awaitArrival("dup-reject-aa", "R2-after");
        }
        try (Device d = new Device(rejectPort)) {
            d.committedAndAnswered(message("R1-after", "P3")); // the hub's AA: it has everything queued before
        }
        assertEquals("the refused copies must not reach the hub", 1, arrivals("dup-reject", "R1"));
        assertEquals("the refused copy must not reach the hub", 1, arrivals("dup-reject-aa", "R2"));
    }

    @Test
    public void idempotentReplaysIdenticalCopiesAndRejectsDifferentContent() throws Exception {
        try (Device d = new Device(idempotentPort)) {
            d.committedAndAnswered(message("I1", "P1"));
            assertReplayedThenReuseRefused(d, "I1");
        }
        assertEquals("an identical copy is answered from the store, not sent again", 1, arrivals("dup-idempotent", "I1"));
    }

    @Test
    public void aResendKeepsItsSequenceNumberSoTheStoreSeesAnIdenticalCopy() throws Exception {
        try (Device d = new Device(sequencedPort)) {
            d.committedAndAnswered(message("S1", "P1"));
            d.committedAndAnswered(message("S2", "P1"));
            assertReplayedThenReuseRefused(d, "S1");
        }
        List<String> s1 = hubBodies("dup-sequenced", "S1");
        assertEquals("the resend is answered from the store, not sent again", 1, s1.size());
        assertEquals(show(s1.get(0)), "0", field(s1.get(0), "MSH", 13));
    }
}
