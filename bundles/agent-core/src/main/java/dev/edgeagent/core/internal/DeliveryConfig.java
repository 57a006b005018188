package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.ChannelConfig;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * How the durable queue delivers one channel's messages (spec §3.3, §4.1, §8): Endpoint parameters override the
 * Agent settings, which override the built-in defaults. An invalid value is reported as a warning and ignored.
 *
 * @param retry            retry policy
 * @param maxWorkers       messages in flight at once (1–500)
 * @param key              partition key; null = one partition (FIFO send order, pipelined when maxWorkers &gt; 1)
 * @param rejectDuplicates {@code duplicateBehavior=reject}
 */
record DeliveryConfig(RetryPolicy retry, int maxWorkers, LogicalKey key, boolean rejectDuplicates) {
    static final int MAX_WORKERS_LIMIT = 500;

    static final String RETRY_MODE = "channelRetryMode";
    static final String BASE_DELAY = "channelAutoRetryBaseDelayMs";
    static final String MAX_DELAY = "channelAutoRetryMaxDelayMs";
    static final String MAX_ATTEMPTS = "channelAutoRetryMaxAttempts";
    static final String MULTIPLIER = "channelAutoRetryBackoffMultiplier";
    static final String MAX_WORKERS = "channelMaxWorkers";
    static final String KEY = "channelLogicalChannelKey";

    static final DeliveryConfig DEFAULT = of(null, AgentSettings.EMPTY, w -> { }, w -> { });

    /**
     * Reads a channel's configuration, or only the Agent settings when the channel is not configured (any more);
     * warnings are not reported here (see {@link #check}).
     */
    static DeliveryConfig of(ChannelConfig c, AgentSettings settings) {
        return of(c, c != null ? c.settings() : settings, w -> { }, w -> { });
    }

    /**
     * Reports invalid Agent settings to {@code agentWarnings} and invalid Endpoint parameters of {@code c} (may
     * be null) to {@code channelWarnings}.
     */
    static void check(AgentSettings s, ChannelConfig c, Consumer<String> agentWarnings, Consumer<String> channelWarnings) {
        of(c, s, agentWarnings, channelWarnings);
    }

    private static DeliveryConfig of(ChannelConfig c, AgentSettings s, Consumer<String> aw, Consumer<String> cw) {
        // Agent settings first, then the Endpoint parameter where it is given and valid.
        RetryMode mode = retryMode(s.get(RETRY_MODE), RETRY_MODE, true, aw, RetryMode.GUARANTEED);
        mode = retryMode(param(c, "retryMode"), "retryMode", false, cw, mode);
        long base = wholeNumber(s.get(BASE_DELAY), BASE_DELAY, true, aw, 1000);
        base = wholeNumber(param(c, "autoRetryBaseDelayMs"), "autoRetryBaseDelayMs", false, cw, base);
        long max = wholeNumber(s.get(MAX_DELAY), MAX_DELAY, true, aw, 60_000);
        max = wholeNumber(param(c, "autoRetryMaxDelayMs"), "autoRetryMaxDelayMs", false, cw, max);
        long attempts = wholeNumber(s.get(MAX_ATTEMPTS), MAX_ATTEMPTS, true, aw, -1);
        attempts = wholeNumber(param(c, "autoRetryMaxAttempts"), "autoRetryMaxAttempts", false, cw, attempts);
        if (attempts < 0) attempts = mode == RetryMode.NORMAL ? 10 : 0;
        double mult = multiplier(s.get(MULTIPLIER), MULTIPLIER, true, aw, 2);
        mult = multiplier(param(c, "autoRetryBackoffMultiplier"), "autoRetryBackoffMultiplier", false, cw, mult);
        int workers = workers(s.get(MAX_WORKERS), MAX_WORKERS, true, aw, 1);
        workers = workers(param(c, "maxWorkers"), "maxWorkers", false, cw, workers);
        LogicalKey key = key(s.get(KEY), KEY, true, aw, null);
        key = key(param(c, "logicalChannelKey"), "logicalChannelKey", false, cw, key);
        boolean reject = false;
        Object dup = param(c, "duplicateBehavior");
        if (dup != null) {
            String d = dup.toString().trim().toLowerCase(Locale.ROOT);
            if (d.equals("reject")) {
                reject = true;
            } else if (!d.equals("idempotent")) {
                cw.accept("Invalid duplicateBehavior value '" + dup + "'; expected 'idempotent' or 'reject'. Using idempotent.");
            }
        }
        return new DeliveryConfig(new RetryPolicy(mode, base, max, (int) Math.min(attempts, Integer.MAX_VALUE), mult),
                workers, key, reject);
    }

    private static String param(ChannelConfig c, String name) {
        return c == null ? null : c.param(name);
    }

    private static String invalid(String name, boolean setting, Object v, String expected) {
        return "Invalid " + name + (setting ? " setting '" : " value '") + v + "'; expected " + expected + ". Ignoring.";
    }

    private static RetryMode retryMode(Object v, String name, boolean setting, Consumer<String> warn, RetryMode dflt) {
        if (v == null) return dflt;
        try {
            return RetryMode.valueOf(v.toString().trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            warn.accept(invalid(name, setting, v, "one of none, normal, guaranteed"));
            return dflt;
        }
    }

    /** Settings arrive as JSON numbers, Endpoint parameters as text. */
    private static Double number(Object v) {
        if (v instanceof Number n) return n.doubleValue();
        if (v instanceof String str) {
            try {
                return Double.parseDouble(str.trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    private static long wholeNumber(Object v, String name, boolean setting, Consumer<String> warn, long dflt) {
        if (v == null) return dflt;
        Double d = number(v);
        if (d == null || d < 0 || d != Math.rint(d) || d > Integer.MAX_VALUE) {
            warn.accept(invalid(name, setting, v, "a non-negative integer"));
            return dflt;
        }
        return d.longValue();
    }

    private static double multiplier(Object v, String name, boolean setting, Consumer<String> warn, double dflt) {
        if (v == null) return dflt;
        Double d = number(v);
        if (d == null || !(d > 0) || d.isInfinite()) {
            warn.accept(invalid(name, setting, v, "a number greater than 0"));
            return dflt;
        }
        return d;
    }

    private static int workers(Object v, String name, boolean setting, Consumer<String> warn, int dflt) {
        if (v == null) return dflt;
        Double d = number(v);
        if (d == null || d < 1 || d > MAX_WORKERS_LIMIT || d != Math.rint(d)) {
            warn.accept(invalid(name, setting, v, "an integer from 1 to " + MAX_WORKERS_LIMIT));
            return dflt;
        }
        return d.intValue();
    }

    private static LogicalKey key(Object v, String name, boolean setting, Consumer<String> warn, LogicalKey dflt) {
        if (v == null) return dflt;
        try {
            return LogicalKey.parse(v.toString());
        } catch (IllegalArgumentException e) {
            warn.accept(invalid(name, setting, v, "comma-separated HL7 field paths such as PID-3.1,PID-3.4 ("
                    + e.getMessage() + ")"));
            return dflt;
        }
    }

    // ------------------------------------------------------------------ retry policy

    enum RetryMode { NONE, NORMAL, GUARANTEED }

    record RetryPolicy(RetryMode mode, long baseMs, long maxMs, int maxAttempts, double multiplier) {
        /** Whether another attempt follows the failed attempt number {@code attempt}. */
        boolean retries(int attempt) {
            if (mode == RetryMode.NONE) return false;
            return maxAttempts <= 0 || attempt < maxAttempts;
        }

        /** base × multiplier^(attempt-1), capped, with "equal jitter" (half fixed, half random). */
        long delayMs(int attempt) {
            double d = baseMs * Math.pow(multiplier, Math.max(0, attempt - 1));
            long capped = (long) Math.min(d, maxMs);
            long half = capped / 2;
            return capped - half + (half > 0 ? ThreadLocalRandom.current().nextLong(half + 1) : 0);
        }
    }
}
