package dev.edgeagent.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Closed loop: one platform thread per connection, each sending a message and blocking until its answers
 * are checked before sending the next. Connections are opened once and kept across warm-up and measurement,
 * as a device would. After a wrong answer or a timeout the connection's stream position is unknown, so it
 * is reconnected; the error is counted and the run fails at the end.
 */
public final class LoadRunner {
    private static final int MAX_ERRORS_LOGGED = 20;

    private final BenchConfig cfg;
    private final Hl7Generator gen;
    private final AtomicLong seq = new AtomicLong();
    private final AtomicInteger errorsLogged = new AtomicInteger();
    private final Consumer<String> errorLog;

    public LoadRunner(BenchConfig cfg, Consumer<String> errorLog) {
        this.cfg = cfg;
        this.gen = new Hl7Generator();
        this.errorLog = errorLog;
    }

    /** Per-phase tallies, merged over connections after the phase ends. */
    static final class Phase {
        final long budget;          // messages for all connections; Long.MAX_VALUE when time-bound
        final long deadlineNanos;
        final AtomicLong claimed = new AtomicLong();
        final AtomicLong ok = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong timeouts = new AtomicLong();
        final List<Samples> latencies = new ArrayList<>();
        final List<Samples> firstAnswer = new ArrayList<>();
        /** CA-then-next: when the last commit ACK came (the intake rate ends there, the AAs may trail). */
        final AtomicLong lastCommitNanos = new AtomicLong();
        long startNanos;
        long endNanos;

        Phase(long budget, long deadlineNanos) {
            this.budget = budget;
            this.deadlineNanos = deadlineNanos;
        }

        boolean claim() {
            return System.nanoTime() < deadlineNanos && claimed.incrementAndGet() <= budget;
        }
    }

    /** Growable primitive array: boxing a Long per sample would put the generator's GC into the figures. */
    static final class Samples {
        long[] a = new long[1 << 14];
        int n;

        void add(long v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }
    }

    final class Conn {
        final int index;
        Socket socket;
        OutputStream out;
        Mllp.Reader in;
        boolean dead;

        Conn(int index) {
            this.index = index;
        }

        void open() throws IOException {
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(cfg.host, cfg.port), cfg.timeoutMs);
            s.setSoTimeout(cfg.timeoutMs);
            socket = s;
            out = s.getOutputStream(); // Mllp.write builds the whole frame and writes it once
            in = new Mllp.Reader(s.getInputStream());
        }

        void closeQuietly() {
            try {
                if (socket != null) {
                    socket.close();
                }
            } catch (IOException ignored) {
                // already broken
            }
        }

        void run(Phase p) {
            Samples lat = new Samples();
            Samples first = new Samples();
            if (cfg.expect == Expect.CA_NEXT) {
                runCommitThenNext(p, lat, first);
            } else {
                runOneAtATime(p, lat, first);
            }
            synchronized (p) {
                p.latencies.add(lat);
                p.firstAnswer.add(first);
            }
        }

        private void runOneAtATime(Phase p, Samples lat, Samples first) {
            long[] firstAt = new long[1];
            while (!dead && p.claim()) {
                String id = gen.controlId(seq.incrementAndGet());
                byte[] msg = gen.message(id);
                long t0 = System.nanoTime();
                try {
                    Mllp.write(out, msg);
                    cfg.expect.await(in, id, cfg.maxFrameBytes, firstAt);
                    long t1 = System.nanoTime();
                    lat.add(t1 - t0);
                    first.add(firstAt[0] - t0);
                    p.ok.incrementAndGet();
                } catch (Expect.BadAnswer e) {
                    p.errors.incrementAndGet();
                    fail("connection " + index + ": " + e.getMessage());
                } catch (SocketTimeoutException e) {
                    p.timeouts.incrementAndGet();
                    fail("connection " + index + ": message " + id + ": no complete answer within " + cfg.timeoutMs + " ms");
                } catch (IOException e) {
                    p.errors.incrementAndGet();
                    fail("connection " + index + ": message " + id + ": " + e);
                }
            }
        }

        /**
         * Sends the next message once the current one's CA arrived; AAs of earlier messages are read as they come
         * (between CAs) and matched by MSA-2. Once the phase's budget is used up, the connection waits for every
         * outstanding AA, so the phase ends only when all messages were answered by the server. A message whose
         * AA never came (timeout, broken connection) is an error: nothing is silently left unverified.
         */
        private void runCommitThenNext(Phase p, Samples lat, Samples first) {
            Map<String, Long> awaiting = new HashMap<>(); // MSH-10 -> send time
            while (!dead && p.claim()) {
                String id = gen.controlId(seq.incrementAndGet());
                byte[] msg = gen.message(id);
                long t0 = System.nanoTime();
                try {
                    Mllp.write(out, msg);
                    awaiting.put(id, t0);
                    while (true) {
                        Answer a = readAnswer();
                        long t = System.nanoTime();
                        if (a.isCommit()) {
                            if (!id.equals(a.controlId()) || !"CA".equals(a.code())) {
                                throw new Expect.BadAnswer("message " + id + ": commit ACK " + a.code() + " for '"
                                        + a.controlId() + "'" + textOf(a));
                            }
                            first.add(t - t0);
                            p.lastCommitNanos.accumulateAndGet(t, Math::max);
                            break;
                        }
                        applicationAck(a, t, awaiting, lat, p);
                    }
                } catch (Expect.BadAnswer e) {
                    p.errors.incrementAndGet();
                    lost(awaiting, p, "connection " + index + ": " + e.getMessage());
                } catch (SocketTimeoutException e) {
                    p.timeouts.incrementAndGet();
                    lost(awaiting, p, "connection " + index + ": message " + id + ": no commit ACK within " + cfg.timeoutMs + " ms");
                } catch (IOException e) {
                    p.errors.incrementAndGet();
                    lost(awaiting, p, "connection " + index + ": message " + id + ": " + e);
                }
            }
            while (!dead && !awaiting.isEmpty()) {
                try {
                    Answer a = readAnswer();
                    if (a.isCommit()) {
                        throw new Expect.BadAnswer("unexpected commit ACK " + a.code() + " for '" + a.controlId()
                                + "' while only application ACKs were awaited");
                    }
                    applicationAck(a, System.nanoTime(), awaiting, lat, p);
                } catch (Expect.BadAnswer e) {
                    p.errors.incrementAndGet();
                    lost(awaiting, p, "connection " + index + ": " + e.getMessage());
                } catch (SocketTimeoutException e) {
                    p.timeouts.incrementAndGet();
                    lost(awaiting, p, "connection " + index + ": no application ACK within " + cfg.timeoutMs + " ms");
                } catch (IOException e) {
                    p.errors.incrementAndGet();
                    lost(awaiting, p, "connection " + index + ": " + e);
                }
            }
        }

        private Answer readAnswer() throws IOException, Expect.BadAnswer {
            byte[] payload = in.read(cfg.maxFrameBytes);
            if (payload == null) {
                throw new java.io.EOFException("connection closed by the peer while answers were awaited");
            }
            try {
                return Answer.parse(payload);
            } catch (IllegalArgumentException e) {
                throw new Expect.BadAnswer(e.getMessage());
            }
        }

        private void applicationAck(Answer a, long t, Map<String, Long> awaiting, Samples lat, Phase p)
                throws Expect.BadAnswer {
            Long t0 = awaiting.remove(a.controlId());
            if (t0 == null) {
                throw new Expect.BadAnswer("application ACK " + a.code() + " for '" + a.controlId()
                        + "', which is not awaited on this connection (unknown or answered twice)" + textOf(a));
            }
            if (!"AA".equals(a.code())) {
                throw new Expect.BadAnswer("message " + a.controlId() + ": expected AA, got " + a.code() + textOf(a));
            }
            lat.add(t - t0);
            p.ok.incrementAndGet();
        }

        /** The connection is reopened: AAs still owed on the old one can no longer arrive, each is an error. */
        private void lost(Map<String, Long> awaiting, Phase p, String what) {
            if (!awaiting.isEmpty()) {
                p.errors.addAndGet(awaiting.size());
                what += "; " + awaiting.size() + " application ACK(s) still owed on this connection are lost";
                awaiting.clear();
            }
            fail(what);
        }

        private void fail(String what) {
            log(what);
            closeQuietly();
            try {
                open();
            } catch (IOException e) {
                dead = true;
                log("connection " + index + ": reconnect to " + cfg.host + ":" + cfg.port + " failed (" + e + "); this connection stops");
            }
        }
    }

    private static String textOf(Answer a) {
        return a.text().isEmpty() ? "" : " (" + a.text() + ")";
    }

    private void log(String s) {
        int n = errorsLogged.incrementAndGet();
        if (n <= MAX_ERRORS_LOGGED) {
            errorLog.accept("ERROR " + s);
        } else if (n == MAX_ERRORS_LOGGED + 1) {
            errorLog.accept("ERROR (further errors are counted but not logged)");
        }
    }

    public BenchResult run() throws IOException, InterruptedException {
        List<Conn> conns = new ArrayList<>();
        try {
            for (int i = 0; i < cfg.connections; i++) {
                Conn c = new Conn(i);
                try {
                    c.open();
                } catch (IOException e) {
                    throw new IOException("cannot connect to " + cfg.host + ":" + cfg.port + " (connection " + i + "): " + e.getMessage(), e);
                }
                conns.add(c);
            }
            RssSampler rss = cfg.pid > 0 ? new RssSampler(cfg.pid, 100).start() : null;
            try {
                BenchResult r = new BenchResult(cfg);
                if (rss != null) {
                    r.rssBeforeKb = rss.currentRssKb();
                }
                if (cfg.warmupMessages > 0) {
                    Phase w = runPhase(conns, new Phase(cfg.warmupMessages, deadline(cfg.warmupSeconds)));
                    r.warmupOk = w.ok.get();
                    r.warmupErrors = w.errors.get() + w.timeouts.get();
                    r.warmupSeconds = (w.endNanos - w.startNanos) / 1e9;
                }
                if (rss != null) {
                    rss.markMeasured();
                }
                long budget = cfg.durationSeconds > 0 ? Long.MAX_VALUE : cfg.messages;
                long dl = cfg.durationSeconds > 0 ? deadline(cfg.durationSeconds) : Long.MAX_VALUE;
                Phase m = runPhase(conns, new Phase(budget, dl));
                r.fill(m);
                if (rss != null) {
                    r.rssPeakKb = rss.peakRssKb();
                    r.rssMedianKb = rss.medianMeasuredKb();
                    r.rssAfterKb = rss.currentRssKb();
                    r.hwmKb = rss.hwmKb();
                    r.rssFailure = rss.failure();
                    rss.close();
                }
                r.deadConnections = (int) conns.stream().filter(c -> c.dead).count();
                return r;
            } finally {
                if (rss != null) {
                    rss.close();
                }
            }
        } finally {
            conns.forEach(Conn::closeQuietly);
        }
    }

    private static long deadline(double seconds) {
        return System.nanoTime() + (long) (seconds * 1e9);
    }

    private Phase runPhase(List<Conn> conns, Phase p) throws InterruptedException {
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (Conn c : conns) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                c.run(p);
            }, "bench-conn-" + c.index);
            t.start();
            threads.add(t);
        }
        p.startNanos = System.nanoTime();
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        p.endNanos = System.nanoTime();
        return p;
    }
}
