package dev.edgeagent.hl7.internal;

import java.nio.charset.Charset;
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

    private Charsets() {}

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
