package dev.edgeagent.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Samples VmRSS/VmHWM of another process from /proc/PID/status (Linux) on a daemon thread. */
public final class RssSampler implements AutoCloseable {
    private final Path status;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long peakRssKb = -1;
    private volatile String failure;

    public RssSampler(long pid, long intervalMs) {
        status = Path.of("/proc", Long.toString(pid), "status");
        thread = new Thread(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(intervalMs);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rss-sampler");
        thread.setDaemon(true);
    }

    public RssSampler start() {
        sample(); // fail fast: a wrong --pid shows up before the load runs
        thread.start();
        return this;
    }

    private void sample() {
        long rss = readKb(status, "VmRSS:");
        if (rss > peakRssKb) {
            peakRssKb = rss;
        }
    }

    /** Reads one "Key:   N kB" line; -1 (and the reason remembered) when the process or line is gone. */
    long readKb(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    return parseKb(line.substring(key.length()));
                }
            }
            failure = key + " missing in " + file;
        } catch (IOException e) {
            failure = "cannot read " + file + ": " + e;
        }
        return -1;
    }

    static long parseKb(String rest) {
        String v = rest.trim();
        int sp = v.indexOf(' ');
        return Long.parseLong(sp < 0 ? v : v.substring(0, sp));
    }

    public long currentRssKb() {
        return readKb(status, "VmRSS:");
    }

    public long hwmKb() {
        return readKb(status, "VmHWM:");
    }

    public long peakRssKb() {
        return peakRssKb;
    }

    public String failure() {
        return failure;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
