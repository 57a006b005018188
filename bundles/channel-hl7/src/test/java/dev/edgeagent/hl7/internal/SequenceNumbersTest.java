package dev.edgeagent.hl7.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SequenceNumbersTest {
    private static String msg(String id, String patient) {
        return "MSH|^~\\&|LAB|X|EDGE|Y|20250101||ADT^A01|" + id + "|P|2.5\rPID|1||" + patient + "\r";
    }

    @Test
    void countsFromZeroAndGivesAResendItsNumberAgain() {
        SequenceNumbers s = new SequenceNumbers();
        assertEquals(0, s.assign("A", msg("A", "P1")));
        assertEquals(1, s.assign("B", msg("B", "P1")));
        assertEquals(0, s.assign("A", msg("A", "P1")), "an identical resend keeps its number");
        assertEquals(2, s.assign("A", msg("A", "P2")), "a different message reusing the id is a new message");
        assertEquals(2, s.assign("A", msg("A", "P2")), "and its own resend keeps the new number");
        assertEquals(3, s.assign(null, msg("", "P1")));
        assertEquals(4, s.assign(null, msg("", "P1")), "without MSH-10 nothing can be recognised as a resend");
    }

    @Test
    void remembersABoundedNumberOfMessages() {
        SequenceNumbers s = new SequenceNumbers();
        assertEquals(0, s.assign("first", msg("first", "P")));
        for (int i = 1; i < SequenceNumbers.REMEMBERED; i++) {
            assertEquals(i, s.assign("m" + i, msg("m" + i, "P")));
        }
        assertEquals(0, s.assign("first", msg("first", "P")), "still among the last " + SequenceNumbers.REMEMBERED);
        s.assign("one-more", msg("one-more", "P"));
        assertEquals(SequenceNumbers.REMEMBERED + 1, s.assign("first", msg("first", "P")),
                "forgotten once that many newer messages came: numbered as new");
    }

    @Test
    void resetStartsAgainAtZeroAndForgets() {
        SequenceNumbers s = new SequenceNumbers();
        s.assign("A", msg("A", "P"));
        s.assign("B", msg("B", "P"));
        s.reset();
        assertEquals(0, s.assign("B", msg("B", "P")));
        assertEquals(1, s.assign("A", msg("A", "P")));
    }
}
