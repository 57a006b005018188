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
 * Round-trip times for spec §9.1, shared by both directions. Inbound, one per channel: from a device message's
 * arrival to the moment its answer is relayed (or a NAK is sent instead), tracked through {@link #start} and
 * {@link #complete}. Outbound, one per remote ({@code clientStats}): the pool measures each push itself and
 * hands the time to {@link #record}, and reports its own pending count to {@link #snapshot(int)}.
 * <p>
 * Keeps the last {@value #CAPACITY} samples; percentiles are nearest-rank on the sorted samples; every figure
 * is -1 while there is none. Times are milliseconds with microsecond precision (Medplum reports whole
 * milliseconds, which reads 0 for every message on a LAN).
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
    private final double[] ringNanos = new double[CAPACITY]; // guarded by this
    private int next; // guarded by this
    private int size; // guarded by this
    private volatile long lastPurgeNanos = System.nanoTime();

    /** For callers that only {@link #record} (nothing pending here, so nothing to purge or log). */
    RttTracker() {
        this("");
    }

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
        record(System.nanoTime() - p.startNanos);
    }

    /** Records one round trip measured by the caller; negative times count as 0. */
    synchronized void record(long nanos) {
        ringNanos[next] = Math.max(0, nanos);
        next = (next + 1) % CAPACITY;
        if (size < CAPACITY) size++;
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

    /** {@link #snapshot(int)} with the messages {@link #start started} here and not yet completed as pending. */
    Map<String, Object> snapshot() {
        return snapshot(pending.size());
    }

    /** {@code {count,min,max,average,p50,p95,p99,pendingCount}}, times in milliseconds. */
    Map<String, Object> snapshot(int pendingCount) {
        double[] sorted;
        synchronized (this) {
            sorted = Arrays.copyOf(ringNanos, size);
        }
        Arrays.sort(sorted);
        Map<String, Object> m = new LinkedHashMap<>();
        int n = sorted.length;
        m.put("count", n);
        if (n == 0) {
            for (String k : new String[] {"min", "max", "average", "p50", "p95", "p99"}) m.put(k, -1);
        } else {
            double sum = 0;
            for (double d : sorted) sum += d;
            m.put("min", millis(sorted[0]));
            m.put("max", millis(sorted[n - 1]));
            m.put("average", millis(sum / n));
            m.put("p50", millis(nearestRank(sorted, 50)));
            m.put("p95", millis(nearestRank(sorted, 95)));
            m.put("p99", millis(nearestRank(sorted, 99)));
        }
        m.put("pendingCount", pendingCount);
        return m;
    }

    /** Nearest-rank percentile of sorted, non-empty samples. */
    static double nearestRank(double[] sorted, int percentile) {
        int rank = (int) Math.ceil(percentile / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** Nanoseconds to milliseconds, rounded to the microsecond: loopback RTTs are well below a millisecond. */
    private static double millis(double nanos) {
        return Math.round(nanos / TimeUnit.MICROSECONDS.toNanos(1)) / 1000.0;
    }
}
