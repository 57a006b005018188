package dev.edgeagent.itests.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The extracted assembly tarball, run as an operator runs it: edit etc/*.cfg, bin/start, bin/stop, and for the
 * fault tests also kill -9. Shared by the interop and fault tests (not by AgentIT, which runs under Pax Exam).
 */
public final class AgentProcess implements AutoCloseable {
    public final Path home;
    private final Thread shutdownHook = new Thread(this::killNow, "itest-agent-kill");
    private boolean hooked;

    private AgentProcess(Path home) {
        this.home = home;
    }

    /** Extracts {@code tarball} into a fresh {@code home}. */
    public static AgentProcess extract(Path tarball, Path home) throws Exception {
        if (!Files.isRegularFile(tarball)) {
            throw new IllegalStateException("Assembly tarball " + tarball + " does not exist; build karaf-assembly first");
        }
        deleteTree(home);
        Files.createDirectories(home);
        run(home, 120, "tar", "xzf", tarball.toAbsolutePath().toString(), "--strip-components=1", "-C", home.toString());
        return new AgentProcess(home);
    }

    /** Sets (or adds) {@code key = value} in an etc/*.cfg file, as an operator editing it would. */
    public void setConfig(String file, String key, String value) throws IOException {
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

    /** Points the agent at a local hub, keeping the shipped timing defaults. */
    public void connectTo(int hubPort, String agentId) throws IOException {
        setConfig("dev.edgeagent.cfg", "baseUrl", "http://127.0.0.1:" + hubPort + "/");
        setConfig("dev.edgeagent.cfg", "agentId", agentId);
    }

    /** {@link #connectTo} plus a 2 s heartbeat, so the tests notice link changes quickly. */
    public void configure(int hubPort, String agentId) throws IOException {
        connectTo(hubPort, agentId);
        setConfig("dev.edgeagent.cfg", "heartbeatSeconds", "2");
    }

    public void start() throws Exception {
        if (!hooked) {
            // Covers a test JVM that dies before @AfterClass: never leave a Karaf behind.
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            hooked = true;
        }
        run(home, 60, home.resolve("bin/start").toString());
    }

    /** The Karaf JVM; waits briefly for karaf.pid to name a live process. */
    public ProcessHandle karaf(long timeoutMs) throws InterruptedException {
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
    public long kill9() throws Exception {
        ProcessHandle k = karaf(10_000);
        long pid = k.pid();
        k.destroyForcibly();
        if (k.onExit().completeOnTimeout(k, 20, TimeUnit.SECONDS).get().isAlive()) {
            throw new AssertionError("Karaf pid " + pid + " survived kill -9 for 20 s");
        }
        return pid;
    }

    /** bin/stop, then kill -9 if the JVM is still there after 30 s. */
    public void stop() throws Exception {
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
    public long rssKib() throws Exception {
        ProcessHandle k = karaf(5_000);
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(k.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/" + k.pid() + "/status");
    }

    public Path log() {
        return home.resolve("data/log/karaf.log");
    }

    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log(), StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log at " + log() + ": " + e + ")";
        }
    }

    /** Log lines at WARN or ERROR, for the report of a failing test. */
    public String problems(int max) {
        try (Stream<String> s = Files.lines(log(), StandardCharsets.UTF_8)) {
            return s.filter(l -> l.contains("| WARN ") || l.contains("| ERROR")).limit(max)
                    .collect(Collectors.joining("\n"));
        } catch (IOException | java.io.UncheckedIOException e) {
            return "(cannot read " + log() + ": " + e + ")";
        }
    }

    /** Polls until every port accepts a TCP connection; fails with the log tail after the timeout. */
    public void awaitPorts(long timeoutMs, int... ports) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (int port : ports) {
            while (!MllpIo.accepts(port)) {
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

    /** Runs a short command with JAVA_HOME of this JVM; fails with its output on a non-zero exit or timeout. */
    public static String run(Path dir, int timeoutSeconds, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Path out = Files.createTempFile("itest-cmd-", ".log");
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

    public static void deleteTree(Path root) throws IOException {
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
