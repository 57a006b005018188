package dev.edgeagent.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code logicalChannelKey}: comma-separated HL7 field paths {@code SEG-field[.component]} (e.g.
 * {@code PID-3.1,PID-3.4}) whose values, joined, partition a channel's messages for parallel dispatch.
 * <p>
 * A tiny ER7 reader of its own because the core must not depend on a protocol bundle: the first segment of that
 * name, the first repetition of the field, the component (or the whole field). MSH counts its fields as HL7
 * does (MSH-1 is the field separator itself). Anything missing, or a body that is not ER7, reads as empty, so
 * such messages share one key and keep their order.
 */
final class LogicalKey {
    private static final Pattern PATH = Pattern.compile("([A-Z][A-Z0-9]{2})-([1-9][0-9]{0,2})(?:\\.([1-9][0-9]{0,2}))?");
    /** Joins the values; cannot occur in an ER7 field. */
    private static final char JOIN = '\r';

    private record Path(String segment, int field, int component) {
    }

    private final String spec;
    private final List<Path> paths;

    private LogicalKey(String spec, List<Path> paths) {
        this.spec = spec;
        this.paths = paths;
    }

    /** @throws IllegalArgumentException when the text is not a list of field paths */
    static LogicalKey parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty");
        List<Path> paths = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            Matcher m = PATH.matcher(part.trim().toUpperCase(Locale.ROOT));
            if (!m.matches()) throw new IllegalArgumentException("'" + part.trim() + "' is not a field path");
            paths.add(new Path(m.group(1), Integer.parseInt(m.group(2)), m.group(3) == null ? 0 : Integer.parseInt(m.group(3))));
        }
        return new LogicalKey(text.trim(), List.copyOf(paths));
    }

    String spec() {
        return spec;
    }

    /** The partition key of a message body. */
    String of(String body) {
        if (paths.size() == 1) return value(body, paths.get(0));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < paths.size(); i++) {
            if (i > 0) sb.append(JOIN);
            sb.append(value(body, paths.get(i)));
        }
        return sb.toString();
    }

    private static String value(String body, Path p) {
        if (body == null || body.length() < 8 || !body.startsWith("MSH")) return "";
        char fieldSep = body.charAt(3);
        char componentSep = body.charAt(4);
        char repetitionSep = body.charAt(5);
        int start = segmentStart(body, p.segment);
        if (start < 0) return "";
        int end = start;
        while (end < body.length() && body.charAt(end) != '\r' && body.charAt(end) != '\n') end++;
        // Position after the segment name is field 1's separator; MSH-1 is that separator itself.
        int fieldIndex = "MSH".equals(p.segment) ? p.field - 1 : p.field;
        if (fieldIndex == 0) return String.valueOf(fieldSep);
        int pos = start + 3;
        for (int f = 0; f < fieldIndex; f++) {
            if (pos >= end || body.charAt(pos) != fieldSep) return "";
            pos++;
            if (f < fieldIndex - 1) {
                while (pos < end && body.charAt(pos) != fieldSep) pos++;
            }
        }
        int fieldEnd = pos;
        while (fieldEnd < end && body.charAt(fieldEnd) != fieldSep && body.charAt(fieldEnd) != repetitionSep) fieldEnd++;
        // MSH-2 holds the separators themselves: taken whole.
        if ("MSH".equals(p.segment) && p.field == 2) {
            int e = pos;
            while (e < end && body.charAt(e) != fieldSep) e++;
            return body.substring(pos, e);
        }
        if (p.component == 0) return body.substring(pos, fieldEnd);
        int c = 1;
        int cs = pos;
        for (int i = pos; i < fieldEnd && c < p.component; i++) {
            if (body.charAt(i) == componentSep) {
                c++;
                cs = i + 1;
            }
        }
        if (c < p.component) return "";
        int ce = cs;
        while (ce < fieldEnd && body.charAt(ce) != componentSep) ce++;
        return body.substring(cs, ce);
    }

    private static int segmentStart(String body, String name) {
        int i = 0;
        while (i < body.length()) {
            if (body.startsWith(name, i) && i + 3 <= body.length()
                    && (i + 3 == body.length() || !Character.isLetterOrDigit(body.charAt(i + 3)))) {
                return i;
            }
            while (i < body.length() && body.charAt(i) != '\r' && body.charAt(i) != '\n') i++;
            while (i < body.length() && (body.charAt(i) == '\r' || body.charAt(i) == '\n')) i++;
        }
        return -1;
    }

    @Override
    public String toString() {
        return spec;
    }
}
