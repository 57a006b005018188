package dev.edgeagent.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReconnectBackoffTest {
    @Test
    void growsBy1point3FromTheMinimumAndCapsAt10s() {
        ReconnectBackoff b = new ReconnectBackoff(2000, 10_000, 5000);
        long[] expected = {2000, 2600, 3380, 4394, 5712, 7425, 9653, 10_000, 10_000};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], b.nextDelay(), "retry " + (i + 1));
        }
        assertEquals(9, b.retries());
        assertEquals(0, b.delayFor(0));
    }

    @Test
    void resetsOnlyAfterTheConnectionStayedUpForMinUptime() {
        ReconnectBackoff b = new ReconnectBackoff(1000, 10_000, 5000);
        b.nextDelay();
        b.nextDelay();
        assertEquals(2, b.retries());
        b.connectionEnded(10_000, 14_999); // up 4.999 s: flapping, keep growing
        assertEquals(1690, b.nextDelay());
        b.connectionEnded(-1, 20_000); // never live
        assertEquals(2197, b.nextDelay());
        b.connectionEnded(10_000, 15_000); // up 5 s: back to the minimum
        assertEquals(1000, b.nextDelay());
    }

    @Test
    void processMinimumIsInTheMedplumRange() {
        assertTrue(ReconnectBackoff.PROCESS_MIN_DELAY_MS >= 1000 && ReconnectBackoff.PROCESS_MIN_DELAY_MS < 5000);
        assertEquals(ReconnectBackoff.PROCESS_MIN_DELAY_MS, new ReconnectBackoff(ReconnectBackoff.PROCESS_MIN_DELAY_MS,
                10_000, 5000).nextDelay());
        assertThrows(IllegalArgumentException.class, () -> new ReconnectBackoff(5000, 1000, 0));
    }
}
