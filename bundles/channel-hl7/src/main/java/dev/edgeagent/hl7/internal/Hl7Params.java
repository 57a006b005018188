package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ConfigIssue;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The Endpoint URL parameters of an HL7 channel, parsed once per (re)configuration. Invalid values fall back
 * to defaults exactly as Medplum does and are reported through {@link #issues()} with Medplum's texts.
 */
final class Hl7Params {
    static final int DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
    static final int DEFAULT_MAX_CONNECTIONS = 1000;
    /** An hour: long enough for devices that keep a quiet link open between shifts, short enough to reap dead peers. */
    static final int DEFAULT_IDLE_TIMEOUT_SECS = 3600;

    enum Enhanced { OFF, STANDARD, AA }

    enum AppLevelAck { AL, ER, NE, SU }

    /** The {@code encoding} parameter, or null: then each message is decoded by its MSH-18, else UTF-8. */
    final Charset charset;
    final Enhanced enhanced;
    final AppLevelAck appLevelAck;
    /** 0 = unthrottled; otherwise messages per minute per connection. */
    final int messagesPerMin;
    final int maxFrameBytes;
    /** Medplum {@code assignSeqNo}: write a per-channel counter into MSH-13. */
    final boolean assignSeqNo;
    /**
     * Our extension (default true): answer AR/AE (CR/CE in enhanced mode) with an ERR segment where the
     * Medplum Agent stays silent (no MSH, no MSH-10, server error, no server answer). {@code false} restores
     * Medplum's silence.
     */
    final boolean nakOnError;
    /** Our extension: open device connections allowed per channel; more are accepted and closed at once. */
    final int maxConnections;
    /** Our extension: close a connection silent for this long (0 = never), unless a message is in flight. */
    final int idleTimeoutSecs;
    /**
     * Our extension (default false): parse and validate every inbound message with HAPI ({@link Hl7Validator})
     * and answer AR/CR instead of forwarding one that fails.
     */
    final boolean validate;
    private final List<ConfigIssue> issues;

    private Hl7Params(Charset charset, Enhanced enhanced, AppLevelAck appLevelAck, int messagesPerMin,
                      int maxFrameBytes, boolean assignSeqNo, boolean nakOnError, int maxConnections,
                      int idleTimeoutSecs, boolean validate, List<ConfigIssue> issues) {
        this.charset = charset;
        this.enhanced = enhanced;
        this.appLevelAck = appLevelAck;
        this.messagesPerMin = messagesPerMin;
        this.maxFrameBytes = maxFrameBytes;
        this.assignSeqNo = assignSeqNo;
        this.nakOnError = nakOnError;
        this.maxConnections = maxConnections;
        this.idleTimeoutSecs = idleTimeoutSecs;
        this.validate = validate;
        this.issues = List.copyOf(issues);
    }

    static Hl7Params defaults() {
        return new Hl7Params(null, Enhanced.OFF, AppLevelAck.AL, 0, DEFAULT_MAX_FRAME_BYTES, false, true,
                DEFAULT_MAX_CONNECTIONS, DEFAULT_IDLE_TIMEOUT_SECS, false, List.of());
    }

    /** The charset of a frame: the {@code encoding} parameter, else the frame's MSH-18, else UTF-8. */
    Charset charsetFor(io.netty.buffer.ByteBuf frame) {
        if (charset != null) return charset;
        Charset c = Charsets.fromMsh18(frame);
        return c != null ? c : StandardCharsets.UTF_8;
    }

    /** The charset for answers when no message told us better. */
    Charset defaultCharset() {
        return charset != null ? charset : StandardCharsets.UTF_8;
    }

    static Hl7Params from(ChannelConfig config) {
        List<ConfigIssue> issues = new ArrayList<>();

        Charset charset = null;
        String enc = present(config.param("encoding"));
        if (enc != null) {
            Charset c = Charsets.resolve(enc);
            if (c == null) {
                issues.add(ConfigIssue.error("Invalid encoding '" + enc + "': unknown character set"));
            } else {
                charset = c;
            }
        }

        Enhanced enhanced = Enhanced.OFF;
        String enh = present(config.param("enhanced"));
        if (enh != null) {
            if (enh.equalsIgnoreCase("true")) {
                enhanced = Enhanced.STANDARD;
            } else if (enh.equalsIgnoreCase("aa")) {
                enhanced = Enhanced.AA;
            } else {
                issues.add(ConfigIssue.warning("Invalid enhanced value '" + enh
                        + "'; expected 'true' or 'aa'. Using standard mode (enhanced mode disabled)."));
            }
        }

        AppLevelAck appLevelAck = AppLevelAck.AL;
        String ala = present(config.param("appLevelAck"));
        if (ala != null) {
            try {
                appLevelAck = AppLevelAck.valueOf(ala.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                issues.add(ConfigIssue.warning("Invalid appLevelAck value '" + ala
                        + "'; expected one of AL, ER, NE, SU. Using AL."));
            }
        }

        int messagesPerMin = 0;
        String mpm = present(config.param("messagesPerMin"));
        if (mpm != null) {
            Integer n = jsParseInt(mpm);
            if (n == null || n <= 0) {
                issues.add(ConfigIssue.warning("Invalid messagesPerMin: '" + mpm
                        + "'; must be a valid integer. Creating channel without a set messagesPerMin..."));
            } else {
                messagesPerMin = n;
            }
        }

        int maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
        String mfb = present(config.param("maxFrameBytes"));
        if (mfb != null) {
            Integer n = null;
            try {
                n = Integer.parseInt(mfb.trim());
            } catch (NumberFormatException ignored) {
                // reported below
            }
            if (n == null || n <= 0) {
                issues.add(ConfigIssue.warning("Invalid maxFrameBytes value '" + mfb
                        + "'; expected a positive integer. Using " + DEFAULT_MAX_FRAME_BYTES + "."));
            } else {
                maxFrameBytes = n;
            }
        }
        boolean assignSeqNo = "true".equalsIgnoreCase(config.param("assignSeqNo")); // anything else: off, silently

        boolean nakOnError = true;
        String nak = present(config.param("nakOnError"));
        if (nak != null) {
            if (nak.equalsIgnoreCase("false")) {
                nakOnError = false;
            } else if (!nak.equalsIgnoreCase("true")) {
                issues.add(ConfigIssue.warning("Invalid nakOnError value '" + nak + "'; expected 'true' or 'false'. Using true."));
            }
        }
        int maxConnections = positiveInt(config, "maxConnections", DEFAULT_MAX_CONNECTIONS, false, issues);
        int idleTimeoutSecs = positiveInt(config, "idleTimeoutSecs", DEFAULT_IDLE_TIMEOUT_SECS, true, issues);
        boolean validate = false;
        String val = present(config.param("validate"));
        if (val != null) {
            if (val.equalsIgnoreCase("true")) {
                validate = true;
            } else if (!val.equalsIgnoreCase("false")) {
                issues.add(ConfigIssue.warning("Invalid validate value '" + val
                        + "'; expected 'true' or 'false'. Validation disabled."));
            }
        }
        return new Hl7Params(charset, enhanced, appLevelAck, messagesPerMin, maxFrameBytes, assignSeqNo, nakOnError,
                maxConnections, idleTimeoutSecs, validate, issues);
    }

    private static int positiveInt(ChannelConfig config, String name, int dflt, boolean zeroAllowed,
                                   List<ConfigIssue> issues) {
        String v = present(config.param(name));
        if (v == null) return dflt;
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0 || (zeroAllowed && n == 0)) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        issues.add(ConfigIssue.warning("Invalid " + name + " value '" + v + "'; expected a "
                + (zeroAllowed ? "non-negative" : "positive") + " integer. Using " + dflt + "."));
        return dflt;
    }

    List<ConfigIssue> issues() {
        return issues;
    }

    /**
     * Whether an application-level ACK (AA/AE/AR) from the server is forwarded to the device (Medplum
     * {@code shouldSendAppLevelAck}); every other reply is always forwarded.
     */
    boolean forwardsAppAck(String code) {
        switch (enhanced) {
            case OFF:
                return true;
            case AA:
                return false;
            default:
                switch (appLevelAck) {
                    case NE: return false;
                    case ER: return !"AA".equals(code);
                    case SU: return "AA".equals(code);
                    default: return true;
                }
        }
    }

    private static String present(String v) {
        return v == null || v.isEmpty() ? null : v;
    }

    /** JavaScript {@code Number.parseInt(v, 10)}: leading whitespace, optional sign, the leading digits. */
    static Integer jsParseInt(String v) {
        String s = v.stripLeading();
        int i = 0;
        boolean neg = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            neg = s.charAt(i) == '-';
            i++;
        }
        int start = i;
        long n = 0;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            n = n * 10 + (s.charAt(i) - '0');
            if (n > Integer.MAX_VALUE) return null;
            i++;
        }
        if (i == start) return null;
        return (int) (neg ? -n : n);
    }
}
