package dev.edgeagent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PercentilesTest {
    @Test
    void nearestRankOnOneToHundred() {
        long[] s = new long[100];
        for (int i = 0; i < 100; i++) {
            s[i] = 100 - i; // unsorted on purpose: of() must sort
        }
        Percentiles p = Percentiles.of(s, 100);
        assertEquals(50, p.p50Nanos);
        assertEquals(95, p.p95Nanos);
        assertEquals(99, p.p99Nanos);
        assertEquals(100, p.maxNanos);
        assertEquals(50.5, p.meanNanos, 1e-9);
        assertEquals(100, p.count);
    }

    @Test
    void smallSamplesPickRealObservations() {
        long[] s = {30, 10, 20};
        Percentiles p = Percentiles.of(s, 3);
        assertEquals(20, p.p50Nanos);  // ceil(1.5)=2nd
        assertEquals(30, p.p95Nanos);
        assertEquals(30, p.p99Nanos);
        long[] one = {7};
        assertEquals(7, Percentiles.of(one, 1).p99Nanos);
    }

    @Test
    void onlyTheFirstNSamplesCount() {
        long[] s = {5, 1, 3, 999, 999};
        Percentiles p = Percentiles.of(s, 3);
        assertEquals(5, p.maxNanos);
        assertEquals(3, p.p50Nanos);
    }

    @Test
    void emptyIsZero() {
        Percentiles p = Percentiles.of(new long[0], 0);
        assertEquals(0, p.count);
        assertEquals(0, p.p99Nanos);
    }

    @Test
    void p99OfThousandIgnoresTopTen() {
        long[] s = new long[1000];
        for (int i = 0; i < 1000; i++) {
            s[i] = i < 990 ? 1 : 1_000_000;
        }
        assertEquals(1, Percentiles.of(s, 1000).p99Nanos);
        s[989] = 2;
        assertEquals(2, Percentiles.of(s, 1000).p99Nanos);
    }
}
