package dev.edgeagent.hl7.internal;

/**
 * Reads single fields from ER7 (pipe-delimited) text without building a message model, so the per-message
 * path stays a few string scans. HAPI's PreParser was considered but rejects messages without MSH-12 or with
 * a segment whose fourth character differs, which devices do send; the agent must still forward them.
 * Segments may be separated by CR, LF or CRLF (devices differ; the body is forwarded unchanged).
 */
final class Er7 {
    private Er7() {}

    /** Whether the text is an HL7 v2 message as Medplum accepts it: starts with {@code MSH}. */
    static boolean startsWithMsh(String text) {
        return text.length() >= 4 && text.startsWith("MSH");
    }

    /** MSH-1: the field separator, or 0 when the text is too short to say. */
    static char fieldSeparator(String text) {
        return text.length() > 3 ? text.charAt(3) : 0;
    }

    /** MSH-2 (encoding characters), or null. */
    static String encodingCharacters(String text) {
        return field(text, "MSH", 2);
    }

    /** The component separator declared in MSH-2 ({@code ^} when absent). */
    static char componentSeparator(String text) {
        return text.length() > 4 && !isSegmentEnd(text.charAt(4)) ? text.charAt(4) : '^';
    }

    /**
     * The raw text of field {@code n} of the first segment named {@code segment} (HL7 numbering: for MSH,
     * MSH-1 is the separator itself and MSH-2 the encoding characters). Null when the segment or the field
     * is absent; empty when present but empty.
     */
    static String field(String text, String segment, int n) {
        if (!startsWithMsh(text)) return null;
        char fs = text.charAt(3);
        int segStart = findSegment(text, segment, fs);
        if (segStart < 0) return null;
        int segEnd = segmentEnd(text, segStart);
        if ("MSH".equals(segment)) {
            if (n == 1) return String.valueOf(fs);
            // MSH-2 starts right after the separator, so MSH-n is the (n-1)th field after the segment name.
            n = n - 1;
        }
        int pos = segStart + 3; // at the separator after the segment name
        for (int i = 0; i < n; i++) {
            if (pos >= segEnd || text.charAt(pos) != fs) return null;
            int next = text.indexOf(fs, pos + 1);
            if (next < 0 || next > segEnd) next = segEnd;
            if (i == n - 1) return text.substring(pos + 1, next);
            pos = next;
        }
        return null;
    }

    /** The first component of a field (the part before the component separator). */
    static String firstComponent(String field, char componentSeparator) {
        if (field == null) return null;
        int i = field.indexOf(componentSeparator);
        return i < 0 ? field : field.substring(0, i);
    }

    /** MSH-10, or null when absent or empty. */
    static String messageControlId(String text) {
        String v = field(text, "MSH", 10);
        return v == null || v.isEmpty() ? null : v;
    }

    /** MSA-1 upper-cased, or null. */
    static String ackCode(String text) {
        String v = firstComponent(field(text, "MSA", 1), componentSeparator(text));
        return v == null || v.isEmpty() ? null : v.trim().toUpperCase(java.util.Locale.ROOT);
    }

    /** MSA-2 (the acknowledged message's control id), or null. */
    static String ackedControlId(String text) {
        String v = field(text, "MSA", 2);
        return v == null || v.isEmpty() ? null : v;
    }

    /** The MSH segment alone (all an acknowledgement needs), without its terminator. */
    static String mshSegment(String text) {
        int end = segmentEnd(text, 0);
        return end == text.length() ? text : text.substring(0, end);
    }

    /**
     * The message with MSH-13 (sequence number) set to {@code value}, segments re-joined with CR as Medplum
     * does once it modifies a message (Q18); a trailing segment terminator is kept as CR. Missing MSH
     * fields up to 13 are added empty.
     */
    static String withMsh13(String text, String value) {
        char fs = text.charAt(3);
        StringBuilder sb = new StringBuilder(text.length() + 16);
        int len = text.length();
        int mshEnd = segmentEnd(text, 0);
        // MSH-n (n >= 2) follows the (n-1)th separator counted from the one at index 3 (MSH-1).
        int seps = 0;
        int i = 3;
        int f13Start = -1;
        int f13End = -1;
        for (; i < mshEnd; i++) {
            if (text.charAt(i) == fs) {
                seps++;
                if (seps == 12) {
                    f13Start = i + 1;
                } else if (seps == 13) {
                    f13End = i;
                    break;
                }
            }
        }
        if (f13Start < 0) {
            sb.append(text, 0, mshEnd);
            for (int k = seps; k < 12; k++) sb.append(fs);
            sb.append(value);
        } else {
            sb.append(text, 0, f13Start).append(value);
            sb.append(text, f13End < 0 ? mshEnd : f13End, mshEnd);
        }
        int pos = mshEnd;
        while (pos < len) {
            while (pos < len && isSegmentEnd(text.charAt(pos))) pos++;
            if (pos >= len) {
                sb.append('\r');
                break;
            }
            int end = segmentEnd(text, pos);
            sb.append('\r').append(text, pos, end);
            pos = end;
        }
        return sb.toString();
    }

    private static int findSegment(String text, String segment, char fs) {
        int pos = 0;
        int len = text.length();
        while (pos < len) {
            if (text.startsWith(segment, pos) && pos + 3 < len && text.charAt(pos + 3) == fs) return pos;
            int end = segmentEnd(text, pos);
            pos = end;
            while (pos < len && isSegmentEnd(text.charAt(pos))) pos++;
        }
        return -1;
    }

    private static int segmentEnd(String text, int from) {
        int len = text.length();
        for (int i = from; i < len; i++) {
            if (isSegmentEnd(text.charAt(i))) return i;
        }
        return len;
    }

    private static boolean isSegmentEnd(char c) {
        return c == '\r' || c == '\n';
    }
}
