package dev.edgeagent.hl7.internal;

/**
 * Outbound (push) settings: the connector's component configuration plus the agent settings
 * {@code keepAlive} and {@code maxClientsPerRemote}. Immutable; replaced as a whole on change.
 */
final class PushSettings {
    static final int DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
    static final long DEFAULT_RESPONSE_TIMEOUT_MS = 60_000;
    static final long DEFAULT_IDLE_RELEASE_MS = 10_000;
    static final int DEFAULT_MAX_CLIENTS = 5;

    final int connectTimeoutMs;
    final long responseTimeoutMs;
    final long idleReleaseMs;
    final int maxFrameBytes;
    final boolean keepAlive;
    final int maxClientsPerRemote;

    PushSettings(int connectTimeoutMs, long responseTimeoutMs, long idleReleaseMs, int maxFrameBytes,
                 boolean keepAlive, int maxClientsPerRemote) {
        this.connectTimeoutMs = connectTimeoutMs;
        this.responseTimeoutMs = responseTimeoutMs;
        this.idleReleaseMs = idleReleaseMs;
        this.maxFrameBytes = maxFrameBytes;
        this.keepAlive = keepAlive;
        this.maxClientsPerRemote = maxClientsPerRemote;
    }

    static PushSettings defaults() {
        return new PushSettings(DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, DEFAULT_IDLE_RELEASE_MS,
                Hl7Params.DEFAULT_MAX_FRAME_BYTES, false, DEFAULT_MAX_CLIENTS);
    }

    PushSettings withTimeouts(int connectMs, long responseMs, long idleMs, int maxFrame) {
        return new PushSettings(connectMs, responseMs, idleMs, maxFrame, keepAlive, maxClientsPerRemote);
    }

    PushSettings withAgentSettings(boolean keepAlive, int maxClients) {
        return new PushSettings(connectTimeoutMs, responseTimeoutMs, idleReleaseMs, maxFrameBytes, keepAlive, maxClients);
    }
}
