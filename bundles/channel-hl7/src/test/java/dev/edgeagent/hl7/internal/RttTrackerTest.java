package dev.edgeagent.hl7.internal;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The round-trip statistics of both directions (spec §9.1). */
class RttTrackerTest {
    private static long ms(long n) {
        return TimeUnit.MILLISECONDS.toNanos(n);
    }

    @Test
    void emptyTrackerReportsMinusOne() {
        Map<String, Object> s = new RttTracker().snapshot(2);
        assertEquals(Map.of("count", 0, "min", -1, "max", -1, "average", -1, "p50", -1, "p95", -1, "p99", -1,
                "pendingCount", 2), s);
    }

    @Test
    void nearestRankPercentiles() {
        RttTracker t = new RttTracker();
        for (int i = 100; i >= 1; i--) t.record(ms(i)); // order of arrival must not matter
        Map<String, Object> s = t.snapshot(0);
        assertEquals(100, s.get("count"));
        assertEquals(1.0, s.get("min"));
        assertEquals(100.0, s.get("max"));
        assertEquals(50.5, s.get("average"));
        assertEquals(50.0, s.get("p50"));
        assertEquals(95.0, s.get("p95"));
        assertEquals(99.0, s.get("p99"));
    }

    @Test
    void keepsTheLastThousandSamples() {
        RttTracker t = new RttTracker();
        for (int i = 0; i < 500; i++) t.record(ms(10_000)); // pushed out by the next 1000
        for (int i = 1; i <= 1000; i++) t.record(ms(i));
        Map<String, Object> s = t.snapshot(0);
        assertEquals(1000, s.get("count"));
        assertEquals(1000.0, s.get("max"));
        assertEquals(1.0, s.get("min"));
        assertEquals(500.0, s.get("p50"));
    }

    @Test
    void subMillisecondPrecision() {
        RttTracker t = new RttTracker();
        t.record(TimeUnit.MICROSECONDS.toNanos(1_234));
        assertEquals(1.234, t.snapshot(0).get("p50"));
    }

    @Test
    void rttTrackerPercentilesAndPurge() {
        RttTracker t = new RttTracker("[HL7:t] ");
        assertEquals(2.0, RttTracker.nearestRank(new double[]{1, 2, 3, 4}, 50));
        assertEquals(4.0, RttTracker.nearestRank(new double[]{1, 2, 3, 4}, 95));
        assertEquals(1.0, RttTracker.nearestRank(new double[]{1}, 99));
        for (int i = 0; i < 1500; i++) t.complete(t.start("M" + i));
        assertEquals(RttTracker.CAPACITY, t.snapshot().get("count"));
        RttTracker.Pending old = t.start("OLD");
        RttTracker.Pending young = t.start("NEW");
        assertEquals(2, t.pendingCount());
        t.purge(old.startNanos + RttTracker.PURGE_AFTER_NANOS + 1, true);
        assertEquals(young.startNanos > old.startNanos ? 1 : 0, t.pendingCount());
        t.complete(old); // completing a purged entry is ignored
        assertEquals(RttTracker.CAPACITY, t.snapshot().get("count"));
    }
}
