package dev.edgeagent.transport.internal;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Reconnect delays of the Medplum ReconnectingWebSocket (spec §2.2): retry n (n >= 1) waits
 * {@code minDelay * 1.3^(n-1)}, capped; the retry counter resets only when the previous connection stayed
 * up for {@code minUptime}, so a server that accepts and immediately drops us is not hammered. Pure logic,
 * not thread-safe: the transport uses it from its event loop only.
 */
final class ReconnectBackoff {
    static final double GROWTH = 1.3;
    static final long DEFAULT_MAX_DELAY_MS = 10_000;
    static final long MIN_UPTIME_MS = 5_000;

    /** Chosen once per process so that a fleet of agents restarted together spreads its reconnects. */
    static final long PROCESS_MIN_DELAY_MS = ThreadLocalRandom.current().nextLong(1000, 5000);

    private final long minDelayMs;
    private final long maxDelayMs;
    private final long minUptimeMs;
    private int retries;

    ReconnectBackoff(long minDelayMs, long maxDelayMs, long minUptimeMs) {
        if (minDelayMs < 0 || maxDelayMs < minDelayMs || minUptimeMs < 0) {
            throw new IllegalArgumentException("invalid backoff " + minDelayMs + "/" + maxDelayMs + "/" + minUptimeMs);
        }
        this.minDelayMs = minDelayMs;
        this.maxDelayMs = maxDelayMs;
        this.minUptimeMs = minUptimeMs;
    }

    /** The delay for retry number {@code n} (1-based). */
    long delayFor(int n) {
        if (n <= 0) {
            return 0;
        }
        double d = minDelayMs * Math.pow(GROWTH, n - 1);
        return d >= maxDelayMs ? maxDelayMs : (long) d;
    }

    /**
     * Called when a connection ended. {@code upSinceMs} is when it became live (or -1 if it never did);
     * a connection that lasted at least minUptime resets the retry counter.
     */
    void connectionEnded(long upSinceMs, long nowMs) {
        if (upSinceMs >= 0 && nowMs - upSinceMs >= minUptimeMs) {
            retries = 0;
        }
    }

    /** Counts one more retry and returns how long to wait before it. */
    long nextDelay() {
        if (retries < Integer.MAX_VALUE) {
            retries++;
        }
        return delayFor(retries);
    }

    int retries() {
        return retries;
    }
}
