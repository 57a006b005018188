package dev.edgeagent.hl7.internal;

import io.netty.buffer.ByteBuf;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves an {@code encoding} parameter to a Java charset. Configurations written for Medplum use iconv-lite
 * names, which iconv-lite matches after lower-casing and dropping everything but letters and digits; we try the
 * Java name first and then the same normalisation.
 */
final class Charsets {
    private static final Map<String, String> ALIASES = Map.ofEntries(
            Map.entry("utf8", "UTF-8"),
            Map.entry("latin1", "ISO-8859-1"),
            Map.entry("binary", "ISO-8859-1"),
            Map.entry("l1", "ISO-8859-1"),
            Map.entry("ascii", "US-ASCII"),
            Map.entry("usascii", "US-ASCII"),
            Map.entry("ucs2", "UTF-16LE"),
            Map.entry("utf16le", "UTF-16LE"),
            Map.entry("utf16be", "UTF-16BE"),
            Map.entry("utf16", "UTF-16"));
    private static final Pattern ISO8859 = Pattern.compile("iso8859(\\d{1,2})");
    private static final Pattern WINDOWS = Pattern.compile("(?:windows|win|cp)(\\d{3,4})");

    /** How far into a frame MSH-18 is looked for; MSH segments are a few hundred bytes. */
    private static final int MSH_SCAN_LIMIT = 2048;

    private Charsets() {}

    /**
     * The charset named by MSH-18 of a raw frame (HL7 table 0211; the first repetition is the message's
     * default character set), or null when absent or unknown. MSH itself is ASCII in every HL7 charset
     * except UTF-16/32, so the bytes are read before any decoding.
     */
    static Charset fromMsh18(ByteBuf frame) {
        int start = frame.readerIndex();
        int end = Math.min(frame.writerIndex(), start + MSH_SCAN_LIMIT);
        if (end - start < 4 || frame.getByte(start) != 'M' || frame.getByte(start + 1) != 'S'
                || frame.getByte(start + 2) != 'H') {
            return null;
        }
        byte fs = frame.getByte(start + 3);
        int seps = 1; // the separator right after "MSH" is MSH-1
        int fieldStart = -1;
        for (int i = start + 4; i < end; i++) {
            byte b = frame.getByte(i);
            if (b == '\r' || b == '\n') {
                return fieldStart < 0 ? null : fromMsh18(ascii(frame, fieldStart, i));
            }
            if (b == fs) {
                seps++;
                if (seps == 17) {
                    fieldStart = i + 1;
                } else if (seps == 18) {
                    return fromMsh18(ascii(frame, fieldStart, i));
                }
            }
        }
        return fieldStart < 0 || end < frame.writerIndex() ? null : fromMsh18(ascii(frame, fieldStart, end));
    }

    /** Maps an MSH-18 value (table 0211, or a charset name devices put there) to a charset, or null. */
    static Charset fromMsh18(String value) {
        if (value == null) return null;
        String v = value;
        // first repetition, first component: the default character set of the message
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '~' || c == '^') {
                v = v.substring(0, i);
                break;
            }
        }
        v = v.trim().toUpperCase(Locale.ROOT);
        if (v.isEmpty()) return null;
        switch (v) {
            case "ASCII": return StandardCharsets.US_ASCII;
            case "UNICODE":
            case "UNICODE UTF-8": return StandardCharsets.UTF_8;
            case "UNICODE UTF-16": return StandardCharsets.UTF_16;
            case "UNICODE UTF-32": return forName("UTF-32");
            case "GB 18030-2000": return forName("GB18030");
            case "KS X 1001": return forName("EUC-KR");
            case "BIG-5": return forName("Big5");
            case "ISO IR87": return forName("ISO-2022-JP");
            case "ISO IR14": return forName("JIS_X0201");
            default:
                break;
        }
        if (v.startsWith("8859/")) return forName("ISO-8859-" + v.substring(5));
        return resolve(v); // e.g. "UTF-8", "windows-1252" written by sloppy senders
    }

    private static String ascii(ByteBuf frame, int from, int to) {
        return frame.toString(from, to - from, StandardCharsets.US_ASCII);
    }

    private static Charset forName(String name) {
        try {
            return Charset.forName(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** @return the charset, or null when the name is unknown */
    static Charset resolve(String name) {
        if (name == null || name.isBlank()) return null;
        String n = name.trim();
        try {
            return Charset.forName(n);
        } catch (IllegalArgumentException notJava) {
            // fall through to the iconv-lite style names
        }
        String norm = n.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        String alias = ALIASES.get(norm);
        if (alias == null) {
            Matcher m = ISO8859.matcher(norm);
            if (m.matches()) alias = "ISO-8859-" + m.group(1);
            m = WINDOWS.matcher(norm);
            if (m.matches()) alias = "windows-" + m.group(1);
        }
        if (alias == null) return null;
        try {
            return Charset.forName(alias);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
