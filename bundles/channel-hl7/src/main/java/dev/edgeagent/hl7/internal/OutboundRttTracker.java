package dev.edgeagent.hl7.internal;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Round-trip times of pushes to one remote (spec §9.1 {@code clientStats}): the last {@value #CAPACITY} samples
 * in a ring, percentiles by nearest rank, every figure -1 when there is no sample. Times are milliseconds with
 * microsecond precision (Medplum reports whole milliseconds, which reads 0 for every push on a LAN).
 */
final class OutboundRttTracker {
    static final int CAPACITY = 1000;

    private final long[] samplesNanos = new long[CAPACITY]; // guarded by this
    private int count;
    private int next;

    synchronized void record(long nanos) {
        samplesNanos[next] = Math.max(0, nanos);
        next = (next + 1) % CAPACITY;
        if (count < CAPACITY) count++;
    }

    /** {@code count,min,max,average,p50,p95,p99,pendingCount} as in Medplum's stats. */
    Map<String, Object> snapshot(int pendingCount) {
        long[] sorted;
        synchronized (this) {
            sorted = Arrays.copyOf(samplesNanos, count);
        }
        Arrays.sort(sorted);
        Map<String, Object> m = new LinkedHashMap<>();
        int n = sorted.length;
        m.put("count", n);
        if (n == 0) {
            for (String k : new String[] {"min", "max", "average", "p50", "p95", "p99"}) m.put(k, -1);
        } else {
            long sum = 0;
            for (long s : sorted) sum += s;
            m.put("min", millis(sorted[0]));
            m.put("max", millis(sorted[n - 1]));
            m.put("average", millis((double) sum / n));
            m.put("p50", millis(nearestRank(sorted, 50)));
            m.put("p95", millis(nearestRank(sorted, 95)));
            m.put("p99", millis(nearestRank(sorted, 99)));
        }
        m.put("pendingCount", pendingCount);
        return m;
    }

    static long nearestRank(long[] sorted, int percentile) {
        int rank = (int) Math.ceil(percentile / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    private static double millis(double nanos) {
        return Math.round(nanos / TimeUnit.MICROSECONDS.toNanos(1)) / 1000.0;
    }
}
