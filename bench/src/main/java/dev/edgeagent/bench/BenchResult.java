package dev.edgeagent.bench;

import java.util.List;
import java.util.Locale;

/** Figures of one measured phase, printed as a table or one JSON line. */
public final class BenchResult {
    final String label;
    final String target;
    final int connections;
    final Expect expect;
    long warmupOk;
    long warmupErrors;
    double warmupSeconds;
    long ok;
    long errors;
    long timeouts;
    int deadConnections;
    double seconds;
    Percentiles latency;
    Percentiles firstAnswer;
    /** CA-then-next: seconds from the start to the last commit ACK (the intake side of the run). */
    double commitSeconds;
    long rssBeforeKb = -1;
    long rssPeakKb = -1;
    /** Median RSS over the measured phase (warm-up excluded). */
    long rssMedianKb = -1;
    long rssAfterKb = -1;
    long hwmKb = -1;
    String rssFailure;

    BenchResult(BenchConfig cfg) {
        label = cfg.label;
        target = cfg.host + ":" + cfg.port;
        connections = cfg.connections;
        expect = cfg.expect;
    }

    void fill(LoadRunner.Phase m) {
        ok = m.ok.get();
        errors = m.errors.get();
        timeouts = m.timeouts.get();
        seconds = (m.endNanos - m.startNanos) / 1e9;
        latency = merge(m.latencies);
        firstAnswer = merge(m.firstAnswer);
        commitSeconds = m.lastCommitNanos.get() > 0 ? (m.lastCommitNanos.get() - m.startNanos) / 1e9 : 0;
    }

    /** CA-then-next: messages committed per second (AAs may still have been on their way). */
    public double commitThroughput() {
        return commitSeconds > 0 ? firstAnswer.count / commitSeconds : 0;
    }

    private static Percentiles merge(List<LoadRunner.Samples> parts) {
        int n = parts.stream().mapToInt(s -> s.n).sum();
        long[] all = new long[n];
        int at = 0;
        for (LoadRunner.Samples s : parts) {
            System.arraycopy(s.a, 0, all, at, s.n);
            at += s.n;
        }
        return Percentiles.of(all, n);
    }

    public boolean failed() {
        return errors > 0 || timeouts > 0 || warmupErrors > 0 || deadConnections > 0 || ok == 0;
    }

    public double throughput() {
        return seconds > 0 ? ok / seconds : 0;
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }

    private static String mib(long kb) {
        return kb < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", kb / 1024.0);
    }

    public String table() {
        StringBuilder b = new StringBuilder();
        String f = "%-16s %s%n";
        if (!label.isEmpty()) {
            b.append(String.format(Locale.ROOT, f, "run", label));
        }
        b.append(String.format(Locale.ROOT, f, "target", target + " (expect " + expect.label() + ")"));
        b.append(String.format(Locale.ROOT, f, "connections", connections));
        b.append(String.format(Locale.ROOT, f, "warm-up", warmupOk + " messages in " + String.format(Locale.ROOT, "%.2f", warmupSeconds) + " s (discarded)"
                + (warmupErrors > 0 ? ", " + warmupErrors + " ERRORS" : "")));
        b.append(String.format(Locale.ROOT, f, "messages", ok + " ok, " + errors + " errors, " + timeouts + " timeouts"
                + (deadConnections > 0 ? ", " + deadConnections + " connections lost" : "")));
        b.append(String.format(Locale.ROOT, f, "duration", String.format(Locale.ROOT, "%.3f s", seconds)));
        b.append(String.format(Locale.ROOT, f, "throughput", String.format(Locale.ROOT, "%.0f msg/s", throughput())));
        b.append(String.format(Locale.ROOT, f, "latency ms", "p50 " + ms(latency.p50Nanos) + "  p95 " + ms(latency.p95Nanos)
                + "  p99 " + ms(latency.p99Nanos) + "  max " + ms(latency.maxNanos) + "  mean " + ms((long) latency.meanNanos)));
        if (expect == Expect.CA_NEXT) {
            b.append(String.format(Locale.ROOT, f, "commit ACKs", String.format(Locale.ROOT,
                    "%.0f msg/s until the last CA (throughput above counts until the last AA)", commitThroughput())));
        }
        if (expect == Expect.CA_AA || expect == Expect.CA_NEXT) {
            b.append(String.format(Locale.ROOT, f, "1st answer ms", "p50 " + ms(firstAnswer.p50Nanos) + "  p95 " + ms(firstAnswer.p95Nanos)
                    + "  p99 " + ms(firstAnswer.p99Nanos) + "  max " + ms(firstAnswer.maxNanos) + "  (commit ACK)"));
        }
        if (rssBeforeKb >= 0 || rssFailure != null) {
            b.append(String.format(Locale.ROOT, f, "RSS MiB", "before " + mib(rssBeforeKb) + "  peak " + mib(rssPeakKb) + "  median under load " + mib(rssMedianKb)
                    + "  after " + mib(rssAfterKb)
                    + "  VmHWM " + mib(hwmKb) + (rssFailure != null ? "  (" + rssFailure + ")" : "")));
        }
        b.append(String.format(Locale.ROOT, f, "result", failed() ? "FAILED" : "OK"));
        return b.toString();
    }

    public String json() {
        StringBuilder b = new StringBuilder("{");
        kv(b, "label", label);
        kv(b, "target", target);
        kv(b, "expect", expect.label());
        num(b, "connections", connections);
        num(b, "warmupMessages", warmupOk);
        num(b, "messages", ok);
        num(b, "errors", errors + warmupErrors);
        num(b, "timeouts", timeouts);
        num(b, "lostConnections", deadConnections);
        dbl(b, "seconds", seconds);
        dbl(b, "msgPerSec", throughput());
        dbl(b, "p50Us", latency.p50Nanos / 1e3);
        dbl(b, "p95Us", latency.p95Nanos / 1e3);
        dbl(b, "p99Us", latency.p99Nanos / 1e3);
        dbl(b, "maxUs", latency.maxNanos / 1e3);
        dbl(b, "meanUs", latency.meanNanos / 1e3);
        if (expect == Expect.CA_NEXT) {
            dbl(b, "caPerSec", commitThroughput());
        }
        if (expect == Expect.CA_AA || expect == Expect.CA_NEXT) {
            dbl(b, "firstAnswerP50Us", firstAnswer.p50Nanos / 1e3);
            dbl(b, "firstAnswerP99Us", firstAnswer.p99Nanos / 1e3);
        }
        if (rssBeforeKb >= 0) {
            num(b, "rssBeforeKb", rssBeforeKb);
            num(b, "rssPeakKb", rssPeakKb);
            num(b, "rssMedianKb", rssMedianKb);
            num(b, "rssAfterKb", rssAfterKb);
            num(b, "vmHwmKb", hwmKb);
        }
        if (rssFailure != null) {
            kv(b, "rssError", rssFailure);
        }
        b.append("\"ok\":").append(!failed()).append('}');
        return b.toString();
    }

    private static void kv(StringBuilder b, String k, String v) {
        b.append('"').append(k).append("\":\"");
        for (char c : v.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        b.append("\",");
    }

    private static void num(StringBuilder b, String k, long v) {
        b.append('"').append(k).append("\":").append(v).append(',');
    }

    private static void dbl(StringBuilder b, String k, double v) {
        b.append('"').append(k).append("\":").append(String.format(Locale.ROOT, "%.1f", v)).append(',');
    }
}
