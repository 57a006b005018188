package dev.edgeagent.hl7.internal;

/**
 * Outbound (push) settings: the connector's component configuration plus the agent settings
 * {@code keepAlive} and {@code maxClientsPerRemote}. Immutable; replaced as a whole on change, and read by
 * the pools on every use so a new limit applies to existing pools at once.
 */
final class PushSettings {
    static final int DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
    static final long DEFAULT_RESPONSE_TIMEOUT_MS = 60_000;
    /** Medplum's CLIENT_RELEASE_COUNTDOWN_MS. */
    static final long DEFAULT_IDLE_RELEASE_MS = 10_000;
    /** Medplum runs its idle check on the 10 s heartbeat tick. */
    static final long DEFAULT_IDLE_CHECK_INTERVAL_MS = 10_000;
    static final int DEFAULT_MAX_CLIENTS = 5;
    static final int DEFAULT_MAX_CLIENTS_KEEP_ALIVE = 1;

    final int connectTimeoutMs;
    final long responseTimeoutMs;
    final long idleReleaseMs;
    final long idleCheckIntervalMs;
    final int maxFrameBytes;
    final boolean keepAlive;
    final int maxClientsPerRemote;

    PushSettings(int connectTimeoutMs, long responseTimeoutMs, long idleReleaseMs, long idleCheckIntervalMs,
                 int maxFrameBytes, boolean keepAlive, int maxClientsPerRemote) {
        this.connectTimeoutMs = connectTimeoutMs;
        this.responseTimeoutMs = responseTimeoutMs;
        this.idleReleaseMs = idleReleaseMs;
        this.idleCheckIntervalMs = idleCheckIntervalMs;
        this.maxFrameBytes = maxFrameBytes;
        this.keepAlive = keepAlive;
        this.maxClientsPerRemote = maxClientsPerRemote;
    }

    static PushSettings defaults() {
        return new PushSettings(DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, DEFAULT_IDLE_RELEASE_MS,
                DEFAULT_IDLE_CHECK_INTERVAL_MS, Hl7Params.DEFAULT_MAX_FRAME_BYTES, false, DEFAULT_MAX_CLIENTS);
    }

    PushSettings withTimeouts(int connectMs, long responseMs, long idleMs, long idleCheckMs, int maxFrame) {
        return new PushSettings(connectMs, responseMs, idleMs, idleCheckMs, maxFrame, keepAlive, maxClientsPerRemote);
    }

    PushSettings withAgentSettings(boolean keepAlive, int maxClients) {
        return new PushSettings(connectTimeoutMs, responseTimeoutMs, idleReleaseMs, idleCheckIntervalMs, maxFrameBytes,
                keepAlive, maxClients);
    }
}
