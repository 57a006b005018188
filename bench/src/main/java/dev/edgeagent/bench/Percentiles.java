package dev.edgeagent.bench;

import java.util.Arrays;

/** Latency summary over raw nanosecond samples (nearest-rank percentiles, no interpolation or bucketing). */
public final class Percentiles {
    public final long count;
    public final long p50Nanos;
    public final long p95Nanos;
    public final long p99Nanos;
    public final long maxNanos;
    public final double meanNanos;

    private Percentiles(long count, long p50, long p95, long p99, long max, double mean) {
        this.count = count;
        this.p50Nanos = p50;
        this.p95Nanos = p95;
        this.p99Nanos = p99;
        this.maxNanos = max;
        this.meanNanos = mean;
    }

    /** Sorts {@code samples[0..n)} in place and summarises them. */
    public static Percentiles of(long[] samples, int n) {
        if (n <= 0) {
            return new Percentiles(0, 0, 0, 0, 0, 0);
        }
        Arrays.sort(samples, 0, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += samples[i];
        }
        return new Percentiles(n, rank(samples, n, 50), rank(samples, n, 95), rank(samples, n, 99), samples[n - 1], sum / n);
    }

    /**
     * Nearest-rank percentile of sorted data: the smallest sample such that at least p% of the samples are
     * less than or equal to it. Reported values are therefore always real observations.
     */
    static long rank(long[] sorted, int n, double p) {
        if (p <= 0) {
            return sorted[0];
        }
        int idx = (int) Math.ceil(p / 100.0 * n) - 1;
        return sorted[Math.max(0, Math.min(n - 1, idx))];
    }

    static String micros(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.1f", nanos / 1000.0);
    }
}
