package dev.edgeagent.api.transport;

/**
 * A snapshot of the link.
 *
 * @param state          current state
 * @param serverUrl      the WebSocket URL in use (or null before configuration)
 * @param since          epoch millis of the last state change
 * @param pingMillis     last heartbeat round trip, -1 until measured
 * @param outstandingHeartbeats heartbeats sent and not yet answered
 * @param queuedFrames   frames waiting for the link
 * @param serverVersion  the version the server reported in its heartbeat response, or null
 * @param lastError      the last connection or login error, or null
 */
public record TransportStatus(LinkState state, String serverUrl, long since, long pingMillis,
                              int outstandingHeartbeats, int queuedFrames, String serverVersion, String lastError) {
}
