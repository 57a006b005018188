package dev.edgeagent.hl7.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code assignSeqNo} counter of one channel instance (spec §4.6): 0, 1, 2, … in arrival order.
 *
 * <p>A retransmission, i.e. the same MSH-10 with the same text as one of the last {@link #REMEMBERED} numbered
 * messages, gets its original number again instead of a new one. HL7's sequence-number protocol expects a resent
 * message to carry its number, and the durable queue can then see the copy as identical (replayed answer, or CR
 * under {@code duplicateBehavior=reject}) rather than refuse it as a different message that reuses the id. Medplum's
 * durable path gets the same effect by numbering after its duplicate check, so that retransmits do not consume
 * numbers. The memory is bounded and lives with the counter: it is lost on restart, as the counter is.
 */
final class SequenceNumbers {
    /** Resends come within seconds or minutes, long before a device has sent a thousand other messages. */
    static final int REMEMBERED = 1024;

    private long next; // guarded by this
    private final Map<String, Numbered> recent = new LinkedHashMap<>(64, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Numbered> eldest) {
            return size() > REMEMBERED;
        }
    };

    /** The text's fingerprint, not the text, is kept; a collision can only renumber a copy the queue refuses anyway. */
    private record Numbered(long fingerprint, long number) {
    }

    /**
     * @param controlId MSH-10, or null (never matched as a retransmission)
     * @param text      the message as received, before MSH-13 is written
     */
    synchronized long assign(String controlId, String text) {
        long fingerprint = ((long) text.length() << 32) ^ (text.hashCode() & 0xffffffffL);
        if (controlId != null) {
            Numbered earlier = recent.get(controlId);
            if (earlier != null && earlier.fingerprint == fingerprint) {
                return earlier.number;
            }
        }
        long n = next++;
        if (controlId != null) {
            recent.put(controlId, new Numbered(fingerprint, n));
        }
        return n;
    }

    /** Medplum: turning {@code assignSeqNo} off restarts the numbering at 0. */
    synchronized void reset() {
        next = 0;
        recent.clear();
    }
}
