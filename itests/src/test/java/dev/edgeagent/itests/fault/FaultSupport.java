package dev.edgeagent.itests.fault;

import static dev.edgeagent.itests.support.MllpIo.field;
import static dev.edgeagent.itests.support.MllpIo.frame;
import static dev.edgeagent.itests.support.MllpIo.freePort;
import static dev.edgeagent.itests.support.MllpIo.readFrame;
import static org.junit.Assert.assertNotNull;

import dev.edgeagent.hub.Hub;
import dev.edgeagent.hub.HubOptions;
import dev.edgeagent.hub.ReceivedMessage;
import dev.edgeagent.itests.support.AgentProcess;
import dev.edgeagent.itests.support.HubHttp;
import dev.edgeagent.itests.support.HubSeed;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Shared pieces of the fault tests: the real agent as a process (extracted tarball, bin/start, kill -9; see
 * {@link AgentProcess}), a restartable in-process hub whose received messages survive its restarts, and MLLP senders
 * that record which messages got a commit ACK (CA) so the hub's arrivals can be checked against them.
 */
final class FaultSupport {
    private FaultSupport() {}


    static int intProp(String name, int dflt) {
        String v = System.getProperty(name);
        return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
    }

    /** A hub seed with one Agent whose channels are enhanced-mode HL7 listeners, all answered by the ACK bot. */
    static String seed(String agentId, Map<String, Integer> channelPorts) {
        return seed(agentId, channelPorts, "?enhanced=true");
    }

    /** As {@link #seed(String, Map)}, each Endpoint address ending in {@code query} ("" for standard mode). */
    static String seed(String agentId, Map<String, Integer> channelPorts, String query) {
        HubSeed seed = HubSeed.agent(agentId, "fault");
        channelPorts.forEach((channel, port) -> seed.channel(channel, "mllp://0.0.0.0:" + port + query));
        return seed.json();
    }

    // ------------------------------------------------------------------ MLLP

    static String message(String controlId) {
        return "MSH|^~\\&|FAULT|LAB|EDGE|HOSP|20250101120000||ADT^A01^ADT_A01|" + controlId + "|P|2.5\r"
                + "EVN|A01|20250101120000\r"
                + "PID|1||P-" + controlId + "^^^MCM^MR||Doe^John||19700101|M\r"
                + "PV1|1|I|2000^2012^01\r";
    }

    /**
     * One device connection sending messages back to back, each after the previous one's commit answer. The
     * connection is reopened whenever it fails (the agent was killed), so a sender keeps going across restarts.
     * A message counts as acknowledged only on {@code MSA-1=CA} with {@code MSA-2} equal to its MSH-10; application
     * ACKs relayed later on the same connection (appLevelAck=AL) are skipped.
     */
    static final class Sender implements Runnable {
        final String channel;
        final String prefix;
        private final int port;
        private final int ackTimeoutMs;
        private final long limit;
        /** CA'd MSH-10s in the order their CAs arrived; only this sender's thread writes, readers wait for join. */
        final List<String> acked = new ArrayList<>();
        final AtomicLong sent = new AtomicLong();
        final AtomicLong negative = new AtomicLong();
        final AtomicLong noAnswer = new AtomicLong();
        final AtomicLong appAcks = new AtomicLong();
        volatile String lastNegative;
        private volatile boolean stop;
        private Thread thread;

        /** @param limit messages to send at most (Long.MAX_VALUE = until stopped) */
        Sender(String channel, int port, String prefix, int ackTimeoutMs, long limit) {
            this.channel = channel;
            this.port = port;
            this.prefix = prefix;
            this.ackTimeoutMs = ackTimeoutMs;
            this.limit = limit;
        }

        Sender start() {
            thread = new Thread(this, "fault-sender-" + prefix);
            thread.setDaemon(true);
            thread.start();
            return this;
        }

        void stop() {
            stop = true;
        }

        void join(long timeoutMs) throws InterruptedException {
            thread.join(timeoutMs);
            if (thread.isAlive()) {
                throw new AssertionError("sender " + prefix + " did not stop within " + timeoutMs + " ms");
            }
        }

        boolean done() {
            return !thread.isAlive();
        }

        @Override
        public void run() {
            Socket s = null;
            InputStream in = null;
            long n = 0;
            try {
                while (!stop && n < limit) {
                    if (s == null) {
                        try {
                            s = new Socket();
                            s.setTcpNoDelay(true);
                            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
                            s.setSoTimeout(ackTimeoutMs);
                            in = new BufferedInputStream(s.getInputStream());
                        } catch (IOException e) {
                            close(s);
                            s = null;
                            sleep(100);
                            continue;
                        }
                    }
                    String id = prefix + "-" + n++;
                    sent.incrementAndGet();
                    try {
                        OutputStream out = s.getOutputStream();
                        out.write(frame(message(id).getBytes(StandardCharsets.UTF_8)));
                        out.flush();
                        if (!awaitCommitAck(in, id)) {
                            // Nothing was promised for this id: the next message goes on a fresh connection.
                            close(s);
                            s = null;
                        }
                    } catch (IOException e) {
                        noAnswer.incrementAndGet();
                        close(s);
                        s = null;
                    }
                }
            } finally {
                close(s);
            }
        }

        private boolean awaitCommitAck(InputStream in, String id) throws IOException {
            while (true) {
                byte[] f;
                try {
                    f = readFrame(in);
                } catch (SocketTimeoutException e) {
                    noAnswer.incrementAndGet();
                    return false;
                }
                if (f == null) {
                    noAnswer.incrementAndGet();
                    return false;
                }
                String ack = new String(f, StandardCharsets.UTF_8);
                String code = field(ack, "MSA", 1);
                String about = field(ack, "MSA", 2);
                if (!id.equals(about) || "AA".equals(code)) {
                    appAcks.incrementAndGet(); // the server's answer to this or an earlier message
                    continue;
                }
                if ("CA".equals(code)) {
                    acked.add(id);
                    return true;
                }
                negative.incrementAndGet();
                lastNegative = ack.replace('\r', '\n');
                return true;
            }
        }

        private static void close(Socket s) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // already gone
                }
            }
        }

        private static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------------ hub

    /** (channel, MSH-10) of one transmit request the hub accepted. */
    record Arrival(String channel, String controlId) {}

    /**
     * The hub, stoppable and restartable on the same port; what each instance received is kept across restarts.
     * The ring is sized so it never wraps in these tests, so nothing the agent delivered falls out of it.
     */
    static final class HubRunner implements AutoCloseable {
        private final String seed;
        private final int ringSize;
        private final int port;
        private final List<Arrival> earlier = new ArrayList<>();
        private Hub hub;

        HubRunner(String seed, int ringSize) throws IOException {
            this.seed = seed;
            this.ringSize = ringSize;
            this.port = freePort();
        }

        int port() {
            return port;
        }

        synchronized void start() throws Exception {
            long deadline = System.currentTimeMillis() + 15_000;
            while (true) {
                try {
                    hub = Hub.start(HubOptions.defaults().host("127.0.0.1").port(port).heartbeatMs(5_000)
                            .messageRingSize(ringSize).seedJson(seed));
                    return;
                } catch (IOException e) {
                    // The previous instance's socket may linger briefly after stop.
                    if (System.currentTimeMillis() > deadline) {
                        throw e;
                    }
                    Thread.sleep(200);
                }
            }
        }

        synchronized void stop() {
            if (hub != null) {
                // Read the ring only after the stop: the hub accepts and answers messages until it is down.
                hub.stop();
                earlier.addAll(arrivals(hub));
                hub = null;
            }
        }

        synchronized boolean connected(String agentId) {
            return hub != null && hub.isAgentConnected(agentId);
        }

        /** Everything received by every instance, in arrival order. */
        synchronized List<Arrival> all() {
            List<Arrival> out = new ArrayList<>(earlier);
            if (hub != null) {
                out.addAll(arrivals(hub));
            }
            return out;
        }

        /** Connect requests the running hub accepted from this agent (reconnects included); 0 when stopped. */
        synchronized long connectCount(String agentId) {
            return hub == null ? 0 : hub.connectCount(agentId);
        }

        /**
         * {@code POST /hub/admin/silence} over HTTP, as an operator would: the agent's current socket gets nothing
         * and is ignored for {@code seconds} (0 ends it). Returns the hub's JSON answer; fails on a non-200.
         */
        String silence(String agentId, int seconds) throws Exception {
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + port + "/";
            String token = HubHttp.token(port);
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                    base + "hub/admin/silence?agent=" + agentId + "&seconds=" + seconds)).header("Authorization", "Bearer "
                    + token).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("POST /hub/admin/silence failed: " + r.statusCode() + " " + r.body());
            }
            return r.body();
        }

        /** Cheap count, for polling before the full check. */
        synchronized long total() {
            return earlier.size() + (hub == null ? 0 : hub.totalReceived());
        }

        private static List<Arrival> arrivals(Hub h) {
            List<ReceivedMessage> msgs = h.receivedMessages();
            List<Arrival> out = new ArrayList<>(msgs.size());
            for (ReceivedMessage m : msgs) {
                out.add(new Arrival(m.channel(), m.body() == null ? null : field(m.body(), "MSH", 10)));
            }
            return out;
        }

        @Override
        public void close() {
            stop();
        }
    }

    /**
     * Waits until every CA'd id reached the hub (or the deadline) and returns the ids that did not: the lost ones.
     */
    static Set<String> awaitDelivered(HubRunner hub, Collection<String> acked, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        Set<String> missing = new LinkedHashSet<>(acked);
        while (true) {
            if (hub.total() >= acked.size()) {
                for (Arrival a : hub.all()) {
                    missing.remove(a.controlId());
                }
                if (missing.isEmpty()) {
                    return missing;
                }
                // Keep the full set for the next pass: a restarted count cannot be trusted incrementally.
                missing = new LinkedHashSet<>(acked);
            }
            if (System.currentTimeMillis() > deadline) {
                Set<String> got = hub.all().stream().map(Arrival::controlId).collect(Collectors.toSet());
                missing.removeIf(got::contains);
                return missing;
            }
            Thread.sleep(1000);
        }
    }

    /** Number of extra deliveries: arrivals beyond the first of the same (channel, MSH-10). */
    static long duplicates(List<Arrival> all) {
        Set<Arrival> seen = new HashSet<>();
        long dup = 0;
        for (Arrival a : all) {
            if (!seen.add(a)) {
                dup++;
            }
        }
        return dup;
    }

    /** First occurrence of each MSH-10 per channel, in hub arrival order. */
    static Map<String, List<String>> firstArrivals(List<Arrival> all) {
        Map<String, List<String>> out = new HashMap<>();
        Set<Arrival> seen = new HashSet<>();
        for (Arrival a : all) {
            if (seen.add(a)) {
                out.computeIfAbsent(a.channel(), k -> new ArrayList<>()).add(a.controlId());
            }
        }
        return out;
    }

    static String sample(Collection<String> ids) {
        return ids.stream().limit(20).collect(Collectors.joining(", ")) + (ids.size() > 20 ? ", …" : "");
    }

    // ------------------------------------------------------------------ the agent process

    /** A hub started on a fresh port with {@code seed}; see {@link HubRunner} for {@code ringSize}. */
    static HubRunner startHub(String seed, int ringSize) throws Exception {
        HubRunner hub = new HubRunner(seed, ringSize);
        hub.start();
        return hub;
    }

    /**
     * Extracts the assembly (system property {@code edge.assembly}) into {@code edge.target}/{@code name}, points it
     * at {@code hub} as {@code agentId}, starts it and waits up to 120 s until every channel port accepts.
     *
     * @param shortHeartbeat whether to use {@link AgentProcess#configure} (2 s heartbeat) rather than the shipped defaults
     */
    static AgentProcess startAgent(String name, HubRunner hub, String agentId, boolean shortHeartbeat, int... ports)
            throws Exception {
        String tarball = System.getProperty("edge.assembly");
        assertNotNull("system property edge.assembly (the assembly tarball) is not set; run through the itests pom", tarball);
        AgentProcess agent = AgentProcess.extract(Path.of(tarball),
                Path.of(System.getProperty("edge.target", "target")).resolve(name).toAbsolutePath());
        if (shortHeartbeat) {
            agent.configure(hub.port(), agentId);
        } else {
            agent.connectTo(hub.port(), agentId);
        }
        agent.start();
        agent.awaitPorts(120_000, ports);
        return agent;
    }

    /** The common @AfterClass: the agent first (it would otherwise reconnect), then the hub; either may be null. */
    static void stopAll(AgentProcess agent, HubRunner hub) throws Exception {
        try {
            if (agent != null) {
                agent.close();
            }
        } finally {
            if (hub != null) {
                hub.close();
            }
        }
    }
}
