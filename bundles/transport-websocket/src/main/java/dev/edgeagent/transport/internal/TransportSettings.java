package dev.edgeagent.transport.internal;

import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.api.config.ConfigException;
import java.util.Map;

/**
 * Validated settings of the transport: the shared bootstrap keys plus the transport's own keys (all
 * optional, in PID {@code dev.edgeagent}). Values may be numbers or strings (Config Admin .cfg files give
 * strings).
 */
record TransportSettings(BootstrapConfig bootstrap, int linkBufferFrames, long linkBufferBytes, long heartbeatMillis,
                         int connectTimeoutMs, long loginRetryMillis, long reconnectMinDelayMs,
                         long reconnectMaxDelayMs, long restTimeoutMillis, long linkSilenceMillis,
                         String linkSilenceWarning) {

    /** Frames waiting for the link (while down or congested). */
    static final String KEY_LINK_BUFFER_FRAMES = "linkBufferFrames";
    /** Upper bound of the same buffer in characters of JSON, so a few huge frames cannot exhaust the heap. */
    static final String KEY_LINK_BUFFER_BYTES = "linkBufferBytes";
    /** Heartbeat tick period in seconds (fractions allowed). */
    static final String KEY_HEARTBEAT_SECONDS = "heartbeatSeconds";
    /** TCP connect and WebSocket (incl. TLS) handshake timeout. */
    static final String KEY_CONNECT_TIMEOUT_MS = "connectTimeoutMs";
    /** Wait after a failed OAuth2 login. */
    static final String KEY_LOGIN_RETRY_SECONDS = "loginRetrySeconds";
    /** First reconnect delay; default is a random value in [1000, 5000) chosen once per process. */
    static final String KEY_RECONNECT_MIN_DELAY_MS = "reconnectMinDelayMs";
    /** Reconnect delay cap. */
    static final String KEY_RECONNECT_MAX_DELAY_MS = "reconnectMaxDelayMs";
    /** Timeout of one REST call (token, FHIR read); Binary uploads get ten times this. */
    static final String KEY_REST_TIMEOUT_SECONDS = "restTimeoutSeconds";
    /**
     * While the socket is open, this long without a single byte from the server means the link is dead even if
     * TCP still looks fine. Must exceed the heartbeat period, since an idle but healthy server may only speak when
     * answering a heartbeat. 20 s (two missed server heartbeats) plus the 1–5 s reconnect delay keeps the
     * replacement of a silent link within 25 s (issue 4).
     */
    static final String KEY_LINK_SILENCE_SECONDS = "linkSilenceSeconds";
    static final double DEFAULT_LINK_SILENCE_SECONDS = 20;
    /** Silence limit used when the configured one does not exceed the heartbeat period, as a multiple of it. */
    static final double SILENCE_PER_HEARTBEAT = 2.5;

    static TransportSettings parse(Map<String, ?> raw) throws ConfigException {
        BootstrapConfig boot = BootstrapConfig.parse(raw);
        int frames = (int) number(raw, KEY_LINK_BUFFER_FRAMES, 10_000, 1, Integer.MAX_VALUE);
        long bytes = (long) number(raw, KEY_LINK_BUFFER_BYTES, 32L * 1024 * 1024, 1024, Long.MAX_VALUE);
        double hb = number(raw, KEY_HEARTBEAT_SECONDS, 10, 0.01, 3600);
        int connect = (int) number(raw, KEY_CONNECT_TIMEOUT_MS, 4000, 100, 600_000);
        double loginRetry = number(raw, KEY_LOGIN_RETRY_SECONDS, 10, 0.01, 3600);
        long max = (long) number(raw, KEY_RECONNECT_MAX_DELAY_MS, ReconnectBackoff.DEFAULT_MAX_DELAY_MS, 1, 3_600_000);
        long min = (long) number(raw, KEY_RECONNECT_MIN_DELAY_MS,
                Math.min(ReconnectBackoff.PROCESS_MIN_DELAY_MS, max), 0, max);
        double rest = number(raw, KEY_REST_TIMEOUT_SECONDS, 60, 0.1, 3600);
        double silence = number(raw, KEY_LINK_SILENCE_SECONDS, DEFAULT_LINK_SILENCE_SECONDS, 0.01, 86_400);
        String warning = null;
        if (silence <= hb) {
            double used = Math.round(hb * SILENCE_PER_HEARTBEAT * 1000) / 1000.0;
            boolean explicit = raw.get(KEY_LINK_SILENCE_SECONDS) != null && !raw.get(KEY_LINK_SILENCE_SECONDS).toString().isBlank();
            warning = "Configuration key '" + KEY_LINK_SILENCE_SECONDS + "' (" + fmt(silence) + " s" + (explicit ? "" : ", the default")
                    + ") must be greater than '" + KEY_HEARTBEAT_SECONDS + "' (" + fmt(hb) + " s), or a healthy but idle server"
                    + " would be taken for a dead one; using " + fmt(used) + " s (" + fmt(SILENCE_PER_HEARTBEAT) + " heartbeats)";
            silence = used;
        }
        return new TransportSettings(boot, frames, bytes, Math.round(hb * 1000), connect,
                Math.round(loginRetry * 1000), min, max, Math.round(rest * 1000), Math.round(silence * 1000), warning);
    }

    private static double number(Map<String, ?> raw, String key, double dflt, double min, double max) throws ConfigException {
        Object v = raw.get(key);
        if (v == null || v.toString().isBlank()) {
            return dflt;
        }
        double d;
        try {
            d = v instanceof Number ? ((Number) v).doubleValue() : Double.parseDouble(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "must be a number, was '" + v + "'");
        }
        if (!(d >= min && d <= max)) {
            throw new ConfigException(key, "must be between " + fmt(min) + " and " + fmt(max) + ", was '" + v + "'");
        }
        return d;
    }

    /** Milliseconds as seconds for messages: 25000 → "25", 600 → "0.6". */
    static String seconds(long millis) {
        return fmt(millis / 1000.0);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
