package dev.edgeagent.bench;

import java.util.Locale;

/** Command-line options of the load generator. */
public final class BenchConfig {
    String host = "127.0.0.1";
    int port = 2575;
    int connections = 1;
    long messages = 20_000;
    double durationSeconds; // > 0: run for this long instead of a message count
    long warmupMessages = 2_000;
    double warmupSeconds = 5;
    Expect expect = Expect.AA;
    long pid = -1;
    boolean json;
    int timeoutMs = 10_000;
    int maxFrameBytes = 1 << 20;
    String label = "";
    // --responder mode
    int responderPort = -1;
    boolean responderCommitFirst;

    static final String USAGE = String.join("\n",
        "Closed-loop MLLP benchmark: C connections, one message (1.5 KB ADT^A01, unique MSH-10) in flight on each.",
        "usage: java -jar bench.jar [options]",
        "  --host H            target host (default 127.0.0.1)",
        "  --port P            target MLLP port (default 2575)",
        "  --connections C     concurrent connections (default 1)",
        "  --messages N        measured messages, all connections together (default 20000)",
        "  --duration S        measure for S seconds instead of --messages",
        "  --warmup N          warm-up messages, discarded (default 2000; 0 = none)",
        "  --warmup-seconds S  warm-up stops after S seconds even if N is not reached (default 5)",
        "  --expect E          AA (default, one answer), CA+AA (commit then application ACK, enhanced=true), ANY,",
        "                      CA-then-next (enhanced=true: next message right after the CA, every AA still checked;",
        "                      throughput counts until the last AA, the CA-only rate is shown apart)",
        "  --timeout MS        per-answer read timeout (default 10000)",
        "  --pid PID           sample VmRSS/VmHWM of this process (/proc/PID/status) during and after the run",
        "  --label TEXT        free text copied into the result (e.g. 'std-1')",
        "  --json              print one JSON line instead of the table",
        "  --responder PORT    run a do-nothing MLLP ACK responder on PORT (0 = ephemeral) until killed",
        "  --responder-acks A  AA (default) or CA+AA: what the responder answers",
        "Exit status: 0 all answers correct, 1 any error or timeout, 2 bad usage.");

    static BenchConfig parse(String[] args) {
        BenchConfig c = new BenchConfig();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--json")) {
                c.json = true;
                continue;
            }
            if (a.equals("--help") || a.equals("-h")) {
                throw new IllegalArgumentException("");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--host": c.host = v; break;
                case "--port": c.port = intIn(a, v, 1, 65535); break;
                case "--connections": c.connections = intIn(a, v, 1, 10_000); break;
                case "--messages": c.messages = longMin(a, v, 1); break;
                case "--duration": c.durationSeconds = positive(a, v); break;
                case "--warmup": c.warmupMessages = longMin(a, v, 0); break;
                case "--warmup-seconds": c.warmupSeconds = positive(a, v); break;
                case "--expect": c.expect = Expect.parse(v); break;
                case "--timeout": c.timeoutMs = intIn(a, v, 1, 3_600_000); break;
                case "--pid": c.pid = longMin(a, v, 1); break;
                case "--label": c.label = v; break;
                case "--responder": c.responderPort = intIn(a, v, 0, 65535); break;
                case "--responder-acks": c.responderCommitFirst = Expect.parse(v) == Expect.CA_AA; break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }
        return c;
    }

    private static int intIn(String opt, String v, int min, int max) {
        long n = longMin(opt, v, min);
        if (n > max) {
            throw new IllegalArgumentException(opt + " must be at most " + max + ", not " + v);
        }
        return (int) n;
    }

    private static long longMin(String opt, String v, long min) {
        long n;
        try {
            n = Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + " needs an integer, not '" + v + "'");
        }
        if (n < min) {
            throw new IllegalArgumentException(opt + " must be at least " + min + ", not " + v);
        }
        return n;
    }

    private static double positive(String opt, String v) {
        try {
            double d = Double.parseDouble(v.toLowerCase(Locale.ROOT).replaceAll("s$", ""));
            if (d > 0) {
                return d;
            }
        } catch (NumberFormatException e) {
            // fall through to the message below
        }
        throw new IllegalArgumentException(opt + " needs a positive number of seconds, not '" + v + "'");
    }
}
