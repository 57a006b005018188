package dev.edgeagent.bench;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class RssSamplerTest {
    @Test
    void medianCountsOnlySamplesAfterTheMark() throws Exception {
        try (RssSampler s = new RssSampler(ProcessHandle.current().pid(), 5).start()) {
            Thread.sleep(30);
            assertEquals(-1, s.medianMeasuredKb(), "nothing measured before the mark");
            s.markMeasured();
            Thread.sleep(60);
            long median = s.medianMeasuredKb();
            assertTrue(median > 0, "median " + median);
            assertTrue(median <= s.peakRssKb(), median + " <= peak " + s.peakRssKb());
            assertNull(s.failure());
        }
    }

    @Test
    void aGoneProcessGivesNoMedian() {
        try (RssSampler s = new RssSampler(Long.MAX_VALUE, 5)) {
            s.markMeasured();
            assertEquals(-1, s.currentRssKb());
            assertEquals(-1, s.medianMeasuredKb());
            assertNotNull(s.failure());
        }
    }
}
