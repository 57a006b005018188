package dev.edgeagent.hl7.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Round-trip times of one channel (spec §9.1): from a device message's arrival to the moment its answer is
 * relayed (or a NAK is sent instead). Keeps the last {@value #CAPACITY} samples; percentiles are nearest-rank
 * on the sorted samples; every figure is -1 while there is none.
 * <p>
 * Medplum keys pending entries by MSH-10, so two in-flight messages with the same id overwrite each other;
 * here each message has its own {@link Pending} handle, and the id is kept only for the purge warning.
 * The hot path is a set insert/remove and a short synchronized ring write; sorting happens on snapshot.
 */
final class RttTracker {
    static final int CAPACITY = 1000;
    static final long PURGE_AFTER_NANOS = TimeUnit.MINUTES.toNanos(5);
    private static final long PURGE_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    private static final Logger LOG = LoggerFactory.getLogger(RttTracker.class);

    /** One message waiting for its answer. */
    static final class Pending {
        final String messageId;
        final long startNanos;

        Pending(String messageId, long startNanos) {
            this.messageId = messageId;
            this.startNanos = startNanos;
        }
    }

    private final String logPrefix;
    private final Set<Pending> pending = ConcurrentHashMap.newKeySet();
    private final double[] ring = new double[CAPACITY]; // guarded by this
    private int next; // guarded by this
    private int size; // guarded by this
    private volatile long lastPurgeNanos = System.nanoTime();

    RttTracker(String logPrefix) {
        this.logPrefix = logPrefix;
    }

    Pending start(String messageId) {
        Pending p = new Pending(messageId, System.nanoTime());
        pending.add(p);
        return p;
    }

    /** Records the sample; a second call for the same handle (or after a purge) is ignored. */
    void complete(Pending p) {
        if (p == null || !pending.remove(p)) return;
        double ms = (System.nanoTime() - p.startNanos) / 1_000_000.0;
        synchronized (this) {
            ring[next] = ms;
            next = (next + 1) % CAPACITY;
            if (size < CAPACITY) size++;
        }
    }

    /** Drops entries older than five minutes, at most once a minute unless {@code force}. */
    void purge(long nowNanos, boolean force) {
        if (!force && nowNanos - lastPurgeNanos < PURGE_EVERY_NANOS) return;
        lastPurgeNanos = nowNanos;
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (nowNanos - p.startNanos > PURGE_AFTER_NANOS) {
                it.remove();
                LOG.warn("{}Cleaning up pending message; never got response for message with ID '{}'", logPrefix,
                        p.messageId == null ? "not provided" : p.messageId);
            }
        }
    }

    int pendingCount() {
        return pending.size();
    }

    /** {@code {count,min,max,average,p50,p95,p99,pendingCount}}, times in milliseconds. */
    Map<String, Object> snapshot() {
        double[] samples;
        synchronized (this) {
            samples = Arrays.copyOf(ring, size);
        }
        Arrays.sort(samples);
        Map<String, Object> m = new LinkedHashMap<>();
        int n = samples.length;
        m.put("count", n);
        if (n == 0) {
            m.put("min", -1);
            m.put("max", -1);
            m.put("average", -1);
            m.put("p50", -1);
            m.put("p95", -1);
            m.put("p99", -1);
        } else {
            double sum = 0;
            for (double d : samples) sum += d;
            m.put("min", round(samples[0]));
            m.put("max", round(samples[n - 1]));
            m.put("average", round(sum / n));
            m.put("p50", round(nearestRank(samples, 50)));
            m.put("p95", round(nearestRank(samples, 95)));
            m.put("p99", round(nearestRank(samples, 99)));
        }
        m.put("pendingCount", pending.size());
        return m;
    }

    /** Nearest-rank percentile of sorted, non-empty samples. */
    static double nearestRank(double[] sorted, int percentile) {
        int rank = (int) Math.ceil(percentile / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** Microsecond resolution: loopback RTTs are well below a millisecond. */
    private static double round(double ms) {
        return Math.round(ms * 1000.0) / 1000.0;
    }
}
