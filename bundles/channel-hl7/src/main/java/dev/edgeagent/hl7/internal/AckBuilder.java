package dev.edgeagent.hl7.internal;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Builds acknowledgements the way Medplum's {@code Hl7Message.buildAck} does (spec §4.4): application and
 * facility swapped, {@code ACK^<trigger>^ACK}, MSH-10 = epoch milliseconds, MSH-11 {@code P}, MSH-12 copied
 * (default 2.5.1), the original's separators. Copied fields are taken as raw ER7 text, which keeps their
 * components and escapes intact because the ACK uses the original's encoding characters.
 * <p>
 * Built as plain text rather than through HAPI's model: an ACK is sent for every message in enhanced mode,
 * and a HAPI model build + encode costs tens of microseconds and several kilobytes of garbage per message.
 * Thread-safe and stateless.
 */
final class AckBuilder {
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");
    private static final String DEFAULT_ENCODING_CHARS = "^~\\&";
    /** MSA-3 is 80 characters in HL7 2.5; the full reason goes to ERR-8. */
    static final int MSA3_MAX = 80;

    /** HL7 table 0357 codes used in our ERR segments. */
    static final String ERR_SEGMENT_SEQUENCE = "100^Segment sequence error";
    static final String ERR_REQUIRED_FIELD_MISSING = "101^Required field missing";
    static final String ERR_DUPLICATE_KEY = "205^Duplicate key identifier";
    static final String ERR_INTERNAL = "207^Application internal error";

    /** MSA-3 text Medplum uses for each code. */
    static String textFor(String code) {
        switch (code) {
            case "AA": return "OK";
            case "AE": return "Application Error";
            case "AR": return "Application Reject";
            case "CA": return "Commit Accept";
            case "CE": return "Commit Error";
            case "CR": return "Commit Reject";
            default: return "";
        }
    }

    /**
     * @param original the acknowledged message (must start with MSH)
     * @param code     MSA-1, e.g. {@code CA}
     * @param text     MSA-3, or null for Medplum's default text of the code
     */
    String build(String original, String code, String text) {
        return build(original, code, text, null, null, null);
    }

    /**
     * An acknowledgement with an optional ERR segment (HL7 2.5 layout:
     * {@code ERR||<location>|<code>^<text>^HL70357|E||||<user message>}).
     *
     * @param errCode     {@code <code>^<text>} of table 0357, e.g. {@link #ERR_INTERNAL}; null for no ERR segment
     * @param errLocation ERR-2 as {@code SEG^sequence^field}, or null
     * @param errMessage  ERR-8, plain text (escaped here)
     */
    String build(String original, String code, String text, String errCode, String errLocation, String errMessage) {
        char fs = Er7.fieldSeparator(original);
        if (fs == 0 || fs == '\r' || fs == '\n') fs = '|';
        String enc = Er7.encodingCharacters(original);
        if (enc == null || enc.length() < 4) enc = DEFAULT_ENCODING_CHARS;
        char cs = enc.charAt(0);
        StringBuilder sb = new StringBuilder(256);
        sb.append("MSH").append(fs).append(enc);
        field(sb, fs, Er7.field(original, "MSH", 5));
        field(sb, fs, Er7.field(original, "MSH", 6));
        field(sb, fs, Er7.field(original, "MSH", 3));
        field(sb, fs, Er7.field(original, "MSH", 4));
        field(sb, fs, LocalDateTime.now().format(TS));
        field(sb, fs, null);
        field(sb, fs, ackType(original, cs));
        field(sb, fs, Long.toString(System.currentTimeMillis()));
        field(sb, fs, "P");
        String version = Er7.field(original, "MSH", 12);
        field(sb, fs, version == null || version.isEmpty() ? "2.5.1" : version);
        sb.append('\r');
        appendMsaAndErr(sb, fs, enc, code, Er7.messageControlId(original), text, errCode, errLocation, errMessage);
        return sb.toString();
    }

    /**
     * A negative acknowledgement for a frame that has no usable MSH, so nothing can be copied: a minimal
     * MSH of our own with standard separators, and MSA-2 empty.
     */
    String buildWithoutMsh(String code, String text, String errCode, String errMessage) {
        StringBuilder sb = new StringBuilder(256);
        sb.append("MSH|").append(DEFAULT_ENCODING_CHARS).append("|||||").append(LocalDateTime.now().format(TS))
                .append("||ACK|").append(System.currentTimeMillis()).append("|P|2.5.1\r");
        appendMsaAndErr(sb, '|', DEFAULT_ENCODING_CHARS, code, null, text, errCode, null, errMessage);
        return sb.toString();
    }

    private static void appendMsaAndErr(StringBuilder sb, char fs, String enc, String code, String controlId,
                                        String text, String errCode, String errLocation, String errMessage) {
        String msa3 = text != null ? text : textFor(code);
        if (msa3.length() > MSA3_MAX) msa3 = msa3.substring(0, MSA3_MAX);
        sb.append("MSA").append(fs).append(code).append(fs);
        if (controlId != null) sb.append(controlId); // raw ER7, already escaped by the sender
        sb.append(fs);
        escape(sb, msa3, fs, enc);
        sb.append('\r');
        if (errCode != null) {
            char cs = enc.charAt(0);
            sb.append("ERR").append(fs).append(fs);
            if (errLocation != null) sb.append(errLocation.replace('^', cs));
            sb.append(fs).append(errCode.replace('^', cs)).append(cs).append("HL70357").append(fs).append('E')
                    .append(fs).append(fs).append(fs).append(fs);
            if (errMessage != null) escape(sb, errMessage, fs, enc);
            sb.append('\r');
        }
    }

    private static void field(StringBuilder sb, char fs, String raw) {
        sb.append(fs);
        if (raw != null) sb.append(raw);
    }

    /** Appends plain text as ER7, escaping the separators and line breaks (HL7 §2.7). */
    static void escape(StringBuilder sb, String text, char fs, String enc) {
        char cs = enc.charAt(0);
        char rs = enc.charAt(1);
        char esc = enc.charAt(2);
        char ss = enc.charAt(3);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == esc) {
                sb.append(esc).append('E').append(esc);
            } else if (c == fs) {
                sb.append(esc).append('F').append(esc);
            } else if (c == cs) {
                sb.append(esc).append('S').append(esc);
            } else if (c == rs) {
                sb.append(esc).append('R').append(esc);
            } else if (c == ss) {
                sb.append(esc).append('T').append(esc);
            } else if (c == '\r') {
                sb.append(esc).append("X0D").append(esc);
            } else if (c == '\n') {
                sb.append(esc).append("X0A").append(esc);
            } else {
                sb.append(c);
            }
        }
    }

    /** {@code ACK^<trigger>^ACK}, {@code ACK^<trigger>} or {@code ACK}, from the original MSH-9. */
    private static String ackType(String original, char cs) {
        String msh9 = Er7.field(original, "MSH", 9);
        if (msh9 == null) return "ACK";
        int c1 = msh9.indexOf(cs);
        if (c1 < 0) return "ACK";
        int c2 = msh9.indexOf(cs, c1 + 1);
        String trigger = c2 < 0 ? msh9.substring(c1 + 1) : msh9.substring(c1 + 1, c2);
        int c3 = c2 < 0 ? -1 : msh9.indexOf(cs, c2 + 1);
        String structure = c2 < 0 ? "" : (c3 < 0 ? msh9.substring(c2 + 1) : msh9.substring(c2 + 1, c3));
        if (trigger.isEmpty()) return "ACK";
        return structure.isEmpty() ? "ACK" + cs + trigger : "ACK" + cs + trigger + cs + "ACK";
    }
}
