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
 * existing connections and correlated by MSA-2.
 */
final class Hl7ClientPool {
    private final String remote;
    private final String host;
    private final int port;
    private final Charset charset;
    private final Supplier<PushSettings> settings;
    private final Supplier<Bootstrap> bootstrap;
    private final List<Hl7Client> clients = new ArrayList<>(); // guarded by this
    private int next;
    private boolean closed;

    Hl7ClientPool(String remote, String host, int port, Charset charset, Supplier<PushSettings> settings,
                  Supplier<Bootstrap> bootstrap) {
        this.remote = remote;
        this.host = host;
        this.port = port;
        this.charset = charset;
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

    PushSettings settings() {
        return settings.get();
    }

    Bootstrap bootstrap() {
        return bootstrap.get();
    }

    /**
     * A client to send with, reserved for one request: an open connection with nothing in flight if there is
     * one (Medplum would open a new one while below the limit), else a new one below the limit, else the next
     * existing one in turn.
     */
    synchronized Hl7Client acquire() {
        if (closed) throw new IllegalStateException("Client pool for remote '" + remote + "' is closed");
        clients.removeIf(Hl7Client::isClosed);
        Hl7Client chosen = null;
        for (Hl7Client c : clients) {
            if (!c.isBusy() && c.isConnected()) {
                chosen = c;
                break;
            }
        }
        int max = Math.max(1, settings.get().maxClientsPerRemote);
        if (chosen == null && clients.size() < max) {
            chosen = new Hl7Client(this);
            clients.add(chosen);
        }
        if (chosen == null) {
            next = (next + 1) % clients.size();
            chosen = clients.get(next);
        }
        chosen.reserve();
        return chosen;
    }

    /** Gives a client back after a request; a failed request force-closes its connection (Medplum). */
    void release(Hl7Client client, boolean failed) {
        client.unreserve();
        boolean drop = failed || (!settings.get().keepAlive && !client.isConnected());
        if (drop) {
            synchronized (this) {
                clients.remove(client);
            }
            client.close();
        }
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
