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

    enum Enhanced { OFF, STANDARD, AA }

    enum AppLevelAck { AL, ER, NE, SU }

    final Charset charset;
    final Enhanced enhanced;
    final AppLevelAck appLevelAck;
    /** 0 = unthrottled; otherwise messages per minute per connection. */
    final int messagesPerMin;
    final int maxFrameBytes;
    private final List<ConfigIssue> issues;

    private Hl7Params(Charset charset, Enhanced enhanced, AppLevelAck appLevelAck, int messagesPerMin,
                      int maxFrameBytes, List<ConfigIssue> issues) {
        this.charset = charset;
        this.enhanced = enhanced;
        this.appLevelAck = appLevelAck;
        this.messagesPerMin = messagesPerMin;
        this.maxFrameBytes = maxFrameBytes;
        this.issues = List.copyOf(issues);
    }

    static Hl7Params defaults() {
        return new Hl7Params(StandardCharsets.UTF_8, Enhanced.OFF, AppLevelAck.AL, 0, DEFAULT_MAX_FRAME_BYTES, List.of());
    }

    static Hl7Params from(ChannelConfig config) {
        List<ConfigIssue> issues = new ArrayList<>();

        Charset charset = StandardCharsets.UTF_8;
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
        return new Hl7Params(charset, enhanced, appLevelAck, messagesPerMin, maxFrameBytes, issues);
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
