package dev.edgeagent.bench;

/** Entry point: the load generator, or with --responder the calibration responder. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        BenchConfig cfg;
        try {
            cfg = BenchConfig.parse(args);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) {
                System.err.println("bench: " + e.getMessage());
            }
            System.err.println(BenchConfig.USAGE);
            System.exit(e.getMessage().isEmpty() ? 0 : 2);
            return;
        }
        if (cfg.responderPort >= 0) {
            Responder r = new Responder(cfg.host, cfg.responderPort, cfg.responderCommitFirst);
            System.out.println("Responder listening on " + cfg.host + ":" + r.port() + " (answers "
                    + (cfg.responderCommitFirst ? "CA then AA" : "AA") + ")");
            System.out.flush();
            Thread.currentThread().join(); // until killed
            return;
        }
        BenchResult r;
        try {
            r = new LoadRunner(cfg, System.err::println).run();
        } catch (java.io.IOException e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.print(cfg.json ? r.json() + System.lineSeparator() : r.table());
        if (r.failed()) {
            System.err.println("bench: FAILED: " + (r.errors + r.warmupErrors) + " errors, " + r.timeouts + " timeouts, "
                    + r.deadConnections + " connections lost against " + r.target);
            System.exit(1);
        }
    }
}
