package dev.edgeagent.itests.interop;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Helpers for {@link HapiAndPythonInteropIT}: raw-byte MLLP peers, the hub's $push over HTTP, the agent process. */
final class InteropSupport {
    static final String CLIENT_ID = "edge-agent";
    static final String CLIENT_SECRET = "edge-secret";
    /** Frames larger than this are a test failure, not something to buffer forever. */
    private static final int MAX_FRAME_BYTES = 1 << 20;

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private InteropSupport() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static byte[] frame(byte[] payload) {
        byte[] out = new byte[payload.length + 3];
        out[0] = 0x0b;
        System.arraycopy(payload, 0, out, 1, payload.length);
        out[out.length - 2] = 0x1c;
        out[out.length - 1] = 0x0d;
        return out;
    }

    /** Reads one VT … FS CR frame and returns the payload bytes untouched; null on EOF before a frame starts. */
    static byte[] readFrame(InputStream in) throws IOException {
        int b;
        while ((b = in.read()) != 0x0b) {
            if (b < 0) {
                return null;
            }
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
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

    /** Sends one message encoded in {@code charset} and returns the answer frame's raw bytes. */
    static byte[] sendAndReceive(int port, String message, Charset charset, int timeoutMs) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            OutputStream out = s.getOutputStream();
            out.write(frame(message.getBytes(charset)));
            out.flush();
            byte[] answer = readFrame(s.getInputStream());
            if (answer == null) {
                throw new IOException("port " + port + " closed the connection without answering " + firstLine(message));
            }
            return answer;
        }
    }

    /** HL7 text for an assertion message: segment separators made visible instead of overprinting lines. */
    static String show(String message) {
        return message == null ? "null" : message.replace("\r", "\\r").replace("\n", "\\n");
    }

    static String firstLine(String message) {
        int cr = message.indexOf('\r');
        return cr < 0 ? message : message.substring(0, cr);
    }

    /** Field of the first segment named {@code segment}; MSH fields are numbered as in the standard. */
    static String field(String message, String segment, int field) {
        for (String seg : message.split("[\r\n]+")) {
            if (seg.startsWith(segment + "|")) {
                String[] f = seg.split("\\|", -1);
                int idx = segment.equals("MSH") ? field - 1 : field;
                return idx < f.length ? f[idx] : null;
            }
        }
        return null;
    }

    /**
     * A device that records the raw bytes of every frame it receives and answers each with an AA ACK encoded
     * in {@code charset}; the ACK's MSA-3 carries {@code ackText} so the caller can check how it was decoded.
     */
    static final class RawDevice implements AutoCloseable {
        final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
        private final ServerSocket server;
        private final Charset charset;
        private final String ackText;
        private final List<Socket> connections = new ArrayList<>();

        RawDevice(int port, Charset charset, String ackText) throws IOException {
            this.charset = charset;
            this.ackText = ackText;
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            Thread t = new Thread(this::acceptLoop, "interop-raw-device-" + port);
            t.setDaemon(true);
            t.start();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    synchronized (connections) {
                        connections.add(s);
                    }
                    Thread t = new Thread(() -> serve(s), "interop-raw-device-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                byte[] msg;
                while ((msg = readFrame(s.getInputStream())) != null) {
                    received.add(msg);
                    String id = field(new String(msg, charset), "MSH", 10);
                    String ack = "MSH|^~\\&|DEVICE|LAB|EDGE|HOSP|20250101120000||ACK^O01|ACK" + id + "|P|2.5\r"
                            + "MSA|AA|" + id + "|" + ackText;
                    s.getOutputStream().write(frame(ack.getBytes(charset)));
                    s.getOutputStream().flush();
                }
            } catch (IOException e) {
                // The agent closed its pooled connection; nothing to answer any more.
            }
        }

        byte[] next(long timeoutMs) throws InterruptedException {
            return received.poll(timeoutMs, TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (connections) {
                for (Socket s : connections) {
                    s.close();
                }
            }
        }
    }

    // ---- hub HTTP ----

    static String token(int hubPort) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hubPort + "/oauth2/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials&client_id=" + CLIENT_ID
                        + "&client_secret=" + CLIENT_SECRET))
                .build();
        HttpResponse<String> res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"").matcher(res.body());
        if (res.statusCode() != 200 || !m.find()) {
            throw new IllegalStateException("Token request failed: " + res.statusCode() + " " + res.body());
        }
        return m.group(1);
    }

    /** Status and UTF-8 body of an Agent $push with waitForResponse=true. */
    record PushAnswer(int status, String body) {}

    static PushAnswer push(int hubPort, String agentId, String deviceRef, String hl7, int waitTimeoutMs) throws Exception {
        String json = "{\"destination\":\"" + deviceRef + "\",\"contentType\":\"x-application/hl7-v2+er7\",\"body\":\""
                + jsonEscape(hl7) + "\",\"waitForResponse\":true,\"waitTimeout\":" + waitTimeoutMs + "}";
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hubPort + "/fhir/R4/Agent/" + agentId + "/$push"))
                .header("Authorization", "Bearer " + token(hubPort))
                .header("Content-Type", "application/fhir+json")
                .timeout(Duration.ofMillis(waitTimeoutMs + 10_000L))
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8))
                .build();
        HttpResponse<byte[]> res = HTTP.send(req, HttpResponse.BodyHandlers.ofByteArray());
        // The hub always writes UTF-8; decode explicitly so a missing charset parameter cannot hide a bug.
        return new PushAnswer(res.statusCode(), new String(res.body(), StandardCharsets.UTF_8));
    }

    static String jsonEscape(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }

    // ---- the agent as a user runs it ----

    /** The extracted assembly, started with bin/start and stopped with bin/stop. */
    static final class AgentProcess implements AutoCloseable {
        final Path home;
        private Thread shutdownHook;

        AgentProcess(Path home) {
            this.home = home;
        }

        static AgentProcess extract(Path tarball, Path home) throws Exception {
            if (!Files.isRegularFile(tarball)) {
                throw new IllegalStateException("Assembly tarball " + tarball + " does not exist; build karaf-assembly first");
            }
            deleteTree(home);
            Files.createDirectories(home);
            run(home, 120, "tar", "xzf", tarball.toAbsolutePath().toString(), "--strip-components=1", "-C", home.toString());
            return new AgentProcess(home);
        }

        /** Sets (or adds) {@code key = value} in an etc/*.cfg file, as an operator editing it would. */
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

        void start() throws Exception {
            shutdownHook = new Thread(this::killLeftovers, "interop-agent-kill");
            // Covers a test JVM that dies before @AfterClass: never leave a Karaf behind.
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            run(home, 60, home.resolve("bin/start").toString());
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

        /** Polls until every port accepts a TCP connection; fails with the log tail after the timeout. */
        void awaitPorts(long timeoutMs, int... ports) throws Exception {
            long deadline = System.currentTimeMillis() + timeoutMs;
            for (int port : ports) {
                while (!accepts(port)) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new AssertionError("The agent did not open channel port " + port + " within " + timeoutMs
                                + " ms. Tail of " + log() + ":\n" + logTail(60));
                    }
                    Thread.sleep(200);
                }
            }
        }

        private static boolean accepts(int port) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                return true;
            } catch (IOException e) {
                return false;
            }
        }

        private ProcessHandle karaf() {
            try {
                Path pidFile = home.resolve("karaf.pid");
                if (!Files.exists(pidFile)) {
                    return null;
                }
                return ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).orElse(null);
            } catch (IOException | NumberFormatException e) {
                return null;
            }
        }

        private void killLeftovers() {
            ProcessHandle k = karaf();
            if (k != null && k.isAlive()) {
                k.descendants().forEach(ProcessHandle::destroyForcibly);
                k.destroyForcibly();
            }
        }

        @Override
        public void close() throws Exception {
            try {
                ProcessHandle k = karaf();
                if (k != null && k.isAlive()) {
                    try {
                        run(home, 30, home.resolve("bin/stop").toString());
                    } catch (Exception e) {
                        // Fall through: the forcible kill below still ends the process.
                    }
                    if (!k.onExit().completeOnTimeout(k, 20, TimeUnit.SECONDS).thenApply(ProcessHandle::isAlive).get()) {
                        return;
                    }
                }
                killLeftovers();
            } finally {
                if (shutdownHook != null) {
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
        Path out = Files.createTempFile("interop-cmd-", ".log");
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
