package dev.edgeagent.hl7.internal;

import io.netty.bootstrap.Bootstrap;

import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The clients (connections) for one push target, keyed by the whole {@code remote} string (spec §4.8). The
 * limit bounds connections, not requests: at the limit, new requests are multiplexed round-robin over the
 * existing connections and correlated by MSA-2. The limit is read from the current settings on every use, so
 * a changed {@code maxClientsPerRemote} applies to existing pools at once.
 */
final class Hl7ClientPool {
    private final String remote;
    private final String host;
    private final int port;
    private final Charset charset;
    private final String statsKey;
    private final RttTracker rtt;
    private final Supplier<PushSettings> settings;
    private final Supplier<Bootstrap> bootstrap;
    private final List<Hl7Client> clients = new ArrayList<>(); // guarded by this
    private int next;
    private boolean closed;

    Hl7ClientPool(String remote, String host, int port, Charset charset, String statsKey, RttTracker rtt,
                  Supplier<PushSettings> settings, Supplier<Bootstrap> bootstrap) {
        this.remote = remote;
        this.host = host;
        this.port = port;
        this.charset = charset;
        this.statsKey = statsKey;
        this.rtt = rtt;
        this.settings = settings;
        this.bootstrap = bootstrap;
    }

    String remote() {
        return remote;
    }

    String host() {
        return host;
    }

    int port() {
        return port;
    }

    Charset charset() {
        return charset;
    }

    /** The {@code clientStats} key: {@code mllp://<host>:<port>?encoding=<encoding or utf-8>}. */
    String statsKey() {
        return statsKey;
    }

    RttTracker rtt() {
        return rtt;
    }

    PushSettings settings() {
        return settings.get();
    }

    Bootstrap bootstrap() {
        return bootstrap.get();
    }

    /**
     * A client reserved for one request with MSH-10 {@code controlId}: an open connection with nothing in
     * flight if there is one (Medplum opens a new one while below the limit even when one is idle; reusing it
     * saves a TCP handshake and device resources), else a new one below the limit, else the next existing one
     * in turn, skipping those already carrying a request with the same MSH-10 (spec Q11) when possible.
     */
    Hl7Client acquire(String controlId) {
        List<Hl7Client> excess = new ArrayList<>();
        try {
            return choose(controlId, excess);
        } finally {
            excess.forEach(Hl7Client::close);
        }
    }

    private synchronized Hl7Client choose(String controlId, List<Hl7Client> excess) {
        if (closed) throw new IllegalStateException("Client pool for remote '" + remote + "' is closed");
        clients.removeIf(Hl7Client::isClosed);
        // After the limit was lowered, idle clients beyond it go first so they are not picked below.
        for (int i = clients.size() - 1; i >= 0 && clients.size() > maxClients(); i--) {
            if (!clients.get(i).isBusy()) excess.add(clients.remove(i));
        }
        Hl7Client chosen = null;
        for (Hl7Client c : clients) {
            if (!c.isBusy() && c.isConnected()) {
                chosen = c;
                break;
            }
        }
        if (chosen == null && clients.size() < maxClients()) {
            chosen = new Hl7Client(this);
            clients.add(chosen);
        }
        if (chosen == null) {
            int n = clients.size();
            for (int i = 1; i <= n && chosen == null; i++) {
                Hl7Client c = clients.get((next + i) % n);
                if (!c.holds(controlId)) {
                    chosen = c;
                    next = (next + i) % n;
                }
            }
            if (chosen == null) { // every connection has this MSH-10 in flight: the client holds it back
                next = (next + 1) % n;
                chosen = clients.get(next);
            }
        }
        chosen.reserve(controlId);
        return chosen;
    }

    /**
     * Gives a client back after a request. A failed request force-closes its connection (Medplum); without
     * keepAlive a client that lost its connection is dropped at once; a client beyond a lowered limit is
     * closed once it has nothing in flight.
     */
    void release(Hl7Client client, String controlId, boolean failed) {
        client.unreserve(controlId);
        boolean drop;
        synchronized (this) {
            drop = failed || (!settings.get().keepAlive && !client.isConnected())
                    || (clients.size() > maxClients() && !client.isBusy());
            if (drop) clients.remove(client);
        }
        if (drop) client.close();
    }

    synchronized void clientClosed(Hl7Client client) {
        clients.remove(client);
    }

    /** Closes clients with nothing in flight for {@code idleMs}; returns how many were closed. */
    int closeIdle(long idleMs) {
        List<Hl7Client> idle = new ArrayList<>();
        synchronized (this) {
            long nanos = TimeUnit.MILLISECONDS.toNanos(idleMs);
            for (Hl7Client c : clients) {
                if (c.isIdleFor(nanos)) idle.add(c);
            }
            clients.removeAll(idle);
        }
        idle.forEach(Hl7Client::close);
        return idle.size();
    }

    synchronized int size() {
        clients.removeIf(Hl7Client::isClosed);
        return clients.size();
    }

    /** Requests handed out and not yet answered, across this pool's clients. */
    synchronized int pendingCount() {
        int n = 0;
        for (Hl7Client c : clients) n += c.inFlight();
        return n;
    }

    private int maxClients() {
        return Math.max(1, settings.get().maxClientsPerRemote);
    }

    void close() {
        List<Hl7Client> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(clients);
            clients.clear();
        }
        all.forEach(Hl7Client::close);
    }
}
