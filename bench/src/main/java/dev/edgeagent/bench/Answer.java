package dev.edgeagent.bench;

import java.nio.charset.StandardCharsets;

/** The parts of an HL7 acknowledgement the benchmark checks: MSA-1 (code) and MSA-2 (control id). */
public record Answer(String code, String controlId, String text) {

    /** Parses an ACK; throws {@link IllegalArgumentException} naming what is missing. */
    public static Answer parse(byte[] payload) {
        String s = new String(payload, StandardCharsets.ISO_8859_1);
        if (!s.startsWith("MSH") || s.length() < 8) {
            throw new IllegalArgumentException("answer does not start with an MSH segment: " + excerpt(s));
        }
        char fs = s.charAt(3);
        String msa = null;
        String err = null;
        for (String seg : s.split("[\r\n]+")) {
            if (msa == null && seg.startsWith("MSA" + fs)) {
                msa = seg;
            } else if (err == null && seg.startsWith("ERR" + fs)) {
                err = seg;
            }
        }
        if (msa == null) {
            throw new IllegalArgumentException("answer has no MSA segment: " + excerpt(s));
        }
        String[] f = msa.split(java.util.regex.Pattern.quote(String.valueOf(fs)), -1);
        String code = f.length > 1 ? f[1] : "";
        String id = f.length > 2 ? f[2] : "";
        String text = f.length > 3 ? f[3] : "";
        if (err != null) {
            text = text.isEmpty() ? err : text + " / " + err;
        }
        return new Answer(code, id, text);
    }

    /** The whole answer for a log line, control characters made visible, cut to 300 chars. */
    static String excerpt(String s) {
        String v = s.replace("\r", "<CR>").replace("\n", "<LF>");
        return v.length() > 300 ? v.substring(0, 300) + "..." : v;
    }

    boolean isCommit() {
        return code.length() == 2 && code.charAt(0) == 'C';
    }
}
