package dev.edgeagent.itests.fault;

import static org.junit.Assert.assertNotNull;

import dev.edgeagent.hub.Hub;
import dev.edgeagent.hub.HubOptions;
import dev.edgeagent.hub.ReceivedMessage;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Shared pieces of the fault tests: the real agent as a process (extracted tarball, bin/start, kill -9), a
 * restartable in-process hub whose received messages survive its restarts, and MLLP senders that record which
 * messages got a commit ACK (CA) so the hub's arrivals can be checked against them.
 */
final class FaultSupport {
    static final String CLIENT_ID = "edge-agent";
    static final String CLIENT_SECRET = "edge-secret";
    private static final int MAX_FRAME_BYTES = 1 << 20;

    private FaultSupport() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static int intProp(String name, int dflt) {
        String v = System.getProperty(name);
        return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
    }

    /** A hub seed with one Agent whose channels are enhanced-mode HL7 listeners, all answered by the ACK bot. */
    static String seed(String agentId, Map<String, Integer> channelPorts) {
        StringBuilder channels = new StringBuilder();
        StringBuilder endpoints = new StringBuilder();
        for (Map.Entry<String, Integer> c : channelPorts.entrySet()) {
            if (channels.length() > 0) {
                channels.append(",\n");
            }
            channels.append("    {\"name\": \"").append(c.getKey()).append("\", \"endpoint\": {\"reference\": \"Endpoint/ep-")
                    .append(c.getKey()).append("\"}, \"targetReference\": {\"reference\": \"Bot/ack\"}}");
            endpoints.append(",\n  {\"resourceType\": \"Endpoint\", \"id\": \"ep-").append(c.getKey())
                    .append("\", \"status\": \"active\", \"address\": \"mllp://0.0.0.0:").append(c.getValue())
                    .append("?enhanced=true\"}");
        }
        return "{\n"
                + " \"clients\": [{\"clientId\": \"" + CLIENT_ID + "\", \"clientSecret\": \"" + CLIENT_SECRET + "\"}],\n"
                + " \"resources\": [\n"
                + "  {\"resourceType\": \"Agent\", \"id\": \"" + agentId + "\", \"name\": \"fault\", \"status\": \"active\",\n"
                + "   \"setting\": [],\n"
                + "   \"channel\": [\n" + channels + "]}"
                + endpoints + "\n ]\n}\n";
    }

    // ------------------------------------------------------------------ MLLP

    static byte[] frame(byte[] payload) {
        byte[] out = new byte[payload.length + 3];
        out[0] = 0x0b;
        System.arraycopy(payload, 0, out, 1, payload.length);
        out[out.length - 2] = 0x1c;
        out[out.length - 1] = 0x0d;
        return out;
    }

    /** One VT … FS CR frame's payload; null on EOF before a frame starts. */
    static byte[] readFrame(InputStream in) throws IOException {
        int b;
        while ((b = in.read()) != 0x0b) {
            if (b < 0) {
                return null;
            }
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
        while ((b = in.read()) >= 0) {
            if (b == 0x1c) {
                int cr = in.read();
                if (cr != 0x0d) {
                    throw new IOException("MLLP frame ended with FS followed by " + cr + " instead of CR");
                }
                return buf.toByteArray();
            }
            if (buf.size() >= MAX_FRAME_BYTES) {
                throw new IOException("MLLP frame longer than " + MAX_FRAME_BYTES + " bytes");
            }
            buf.write(b);
        }
        throw new IOException("connection closed inside an MLLP frame after " + buf.size() + " bytes");
    }

    /** Field of the first segment named {@code segment}; MSH fields are numbered as in the standard. */
    static String field(String message, String segment, int field) {
        int start = 0;
        while (start < message.length()) {
            int end = message.indexOf('\r', start);
            if (end < 0) {
                end = message.length();
            }
            if (message.startsWith(segment + "|", start)) {
                String[] f = message.substring(start, end).split("\\|", -1);
                int idx = segment.equals("MSH") ? field - 1 : field;
                return idx < f.length ? f[idx] : null;
            }
            start = end + 1;
        }
        return null;
    }

    static String message(String controlId) {
        return "MSH|^~\\&|FAULT|LAB|EDGE|HOSP|20250101120000||ADT^A01^ADT_A01|" + controlId + "|P|2.5\r"
                + "EVN|A01|20250101120000\r"
                + "PID|1||P-" + controlId + "^^^MCM^MR||Doe^John||19700101|M\r"
                + "PV1|1|I|2000^2012^01\r";
    }

    static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
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
            java.net.http.HttpResponse<String> tok = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(base + "oauth2/token")).header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("grant_type=client_credentials&client_id="
                            + CLIENT_ID + "&client_secret=" + CLIENT_SECRET)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            java.util.regex.Matcher m = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"").matcher(tok.body());
            if (tok.statusCode() != 200 || !m.find()) {
                throw new IllegalStateException("hub token request failed: " + tok.statusCode() + " " + tok.body());
            }
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                    base + "hub/admin/silence?agent=" + agentId + "&seconds=" + seconds)).header("Authorization", "Bearer "
                    + m.group(1)).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
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

    /** The extracted assembly, run as an operator runs it: bin/start, bin/stop, and here also kill -9. */
    static final class AgentProcess implements AutoCloseable {
        final Path home;
        private final Thread shutdownHook = new Thread(this::killNow, "fault-agent-kill");
        private boolean hooked;

        private AgentProcess(Path home) {
            this.home = home;
        }

        static AgentProcess extract(String name) throws Exception {
            String tarball = System.getProperty("edge.assembly");
            assertNotNull("system property edge.assembly (the assembly tarball) is not set; run through the itests pom", tarball);
            if (!Files.isRegularFile(Path.of(tarball))) {
                throw new IllegalStateException("Assembly tarball " + tarball + " does not exist; build karaf-assembly first");
            }
            Path home = Path.of(System.getProperty("edge.target", "target")).resolve(name).toAbsolutePath();
            deleteTree(home);
            Files.createDirectories(home);
            run(home, 120, "tar", "xzf", Path.of(tarball).toAbsolutePath().toString(), "--strip-components=1", "-C",
                    home.toString());
            return new AgentProcess(home);
        }

        /** Sets (or adds) {@code key = value} in an etc/*.cfg file. */
        void setConfig(String file, String key, String value) throws IOException {
            Path cfg = home.resolve("etc").resolve(file);
            List<String> lines = new ArrayList<>(Files.readAllLines(cfg, StandardCharsets.ISO_8859_1));
            Pattern p = Pattern.compile("^\\s*" + Pattern.quote(key) + "\\s*[=:].*$");
            boolean replaced = false;
            for (int i = 0; i < lines.size(); i++) {
                if (p.matcher(lines.get(i)).matches()) {
                    lines.set(i, key + " = " + value);
                    replaced = true;
                }
            }
            if (!replaced) {
                lines.add(key + " = " + value);
            }
            Files.write(cfg, lines, StandardCharsets.ISO_8859_1);
        }

        void configure(int hubPort, String agentId) throws IOException {
            setConfig("dev.edgeagent.cfg", "baseUrl", "http://127.0.0.1:" + hubPort + "/");
            setConfig("dev.edgeagent.cfg", "agentId", agentId);
            setConfig("dev.edgeagent.cfg", "heartbeatSeconds", "2");
        }

        void start() throws Exception {
            if (!hooked) {
                // Covers a test JVM that dies before @AfterClass: never leave a Karaf behind.
                Runtime.getRuntime().addShutdownHook(shutdownHook);
                hooked = true;
            }
            run(home, 60, home.resolve("bin/start").toString());
        }

        /** The Karaf JVM; waits briefly for karaf.pid to name a live process. */
        ProcessHandle karaf(long timeoutMs) throws InterruptedException {
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (true) {
                ProcessHandle k = karafNow();
                if (k != null && k.isAlive()) {
                    return k;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError("no live Karaf process named by " + home.resolve("karaf.pid") + "; log tail:\n"
                            + logTail(40));
                }
                Thread.sleep(100);
            }
        }

        private ProcessHandle karafNow() {
            try {
                Path pidFile = home.resolve("karaf.pid");
                if (!Files.exists(pidFile)) {
                    return null;
                }
                String text = Files.readString(pidFile).trim();
                return text.isEmpty() ? null : ProcessHandle.of(Long.parseLong(text)).orElse(null);
            } catch (IOException | NumberFormatException e) {
                return null;
            }
        }

        /** SIGKILL to the Karaf JVM (ProcessHandle.destroyForcibly is kill -9 on Linux); waits until it is gone. */
        long kill9() throws Exception {
            ProcessHandle k = karaf(10_000);
            long pid = k.pid();
            k.destroyForcibly();
            if (k.onExit().completeOnTimeout(k, 20, TimeUnit.SECONDS).get().isAlive()) {
                throw new AssertionError("Karaf pid " + pid + " survived kill -9 for 20 s");
            }
            return pid;
        }

        /** bin/stop, then kill -9 if the JVM is still there after 30 s. */
        void stop() throws Exception {
            ProcessHandle k = karafNow();
            if (k == null || !k.isAlive()) {
                return;
            }
            try {
                run(home, 30, home.resolve("bin/stop").toString());
            } catch (Exception e) {
                // The forcible kill below still ends the process.
            }
            if (k.onExit().completeOnTimeout(k, 30, TimeUnit.SECONDS).get().isAlive()) {
                k.destroyForcibly();
                k.onExit().completeOnTimeout(k, 10, TimeUnit.SECONDS).get();
            }
        }

        /** Resident set size of the Karaf JVM in KiB, from /proc/<pid>/status. */
        long rssKib() throws Exception {
            ProcessHandle k = karaf(5_000);
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(k.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            throw new IllegalStateException("no VmRSS in /proc/" + k.pid() + "/status");
        }

        Path log() {
            return home.resolve("data/log/karaf.log");
        }

        String logTail(int lines) {
            try {
                List<String> all = Files.readAllLines(log(), StandardCharsets.UTF_8);
                return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
            } catch (IOException e) {
                return "(no log at " + log() + ": " + e + ")";
            }
        }

        /** Log lines at WARN or ERROR, for the report of a failing test. */
        String problems(int max) {
            try (Stream<String> s = Files.lines(log(), StandardCharsets.UTF_8)) {
                return s.filter(l -> l.contains("| WARN ") || l.contains("| ERROR")).limit(max)
                        .collect(Collectors.joining("\n"));
            } catch (IOException | java.io.UncheckedIOException e) {
                return "(cannot read " + log() + ": " + e + ")";
            }
        }

        void awaitPorts(long timeoutMs, int... ports) throws Exception {
            long deadline = System.currentTimeMillis() + timeoutMs;
            for (int port : ports) {
                while (!accepts(port)) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new AssertionError("The agent did not open channel port " + port + " within " + timeoutMs
                                + " ms. Tail of " + log() + ":\n" + logTail(60));
                    }
                    Thread.sleep(100);
                }
            }
        }

        private void killNow() {
            ProcessHandle k = karafNow();
            if (k != null && k.isAlive()) {
                k.descendants().forEach(ProcessHandle::destroyForcibly);
                k.destroyForcibly();
            }
        }

        @Override
        public void close() throws Exception {
            try {
                stop();
            } finally {
                killNow();
                if (hooked) {
                    try {
                        Runtime.getRuntime().removeShutdownHook(shutdownHook);
                    } catch (IllegalStateException e) {
                        // JVM already shutting down; the hook runs anyway.
                    }
                }
            }
        }
    }

    /** Runs a short command with JAVA_HOME of this JVM; fails with its output on a non-zero exit or timeout. */
    static String run(Path dir, int timeoutSeconds, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Path out = Files.createTempFile("fault-cmd-", ".log");
        try {
            pb.redirectOutput(out.toFile());
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s:\n"
                        + Files.readString(out, StandardCharsets.UTF_8));
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + text);
            }
            return text;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
