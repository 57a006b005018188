package dev.edgeagent.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples VmRSS/VmHWM of another process from /proc/PID/status (Linux) on a daemon thread. Besides the peak it keeps
 * the samples taken since {@link #markMeasured()}, whose median is the steady RSS under load: the peak also catches
 * transients (a JIT compile's arena in the target JVM) that last a fraction of a second.
 */
public final class RssSampler implements AutoCloseable {
    private final Path status;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long peakRssKb = -1;
    private volatile String failure;
    private final List<Long> measured = new ArrayList<>();
    private boolean measuring;

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
        if (rss >= 0) {
            synchronized (measured) {
                if (measuring) {
                    measured.add(rss);
                }
            }
        }
    }

    /** From now on samples count towards {@link #medianMeasuredKb()}. */
    public void markMeasured() {
        synchronized (measured) {
            measured.clear();
            measuring = true;
        }
    }

    /** Median of the samples since {@link #markMeasured()}; -1 without any. */
    public long medianMeasuredKb() {
        synchronized (measured) {
            if (measured.isEmpty()) {
                return -1;
            }
            List<Long> sorted = new ArrayList<>(measured);
            sorted.sort(null);
            return sorted.get((sorted.size() - 1) / 2);
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
