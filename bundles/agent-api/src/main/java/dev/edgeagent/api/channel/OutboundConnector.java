package dev.edgeagent.api.channel;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Registered as an OSGi service by a protocol bundle that can send to devices (pushes). The core picks the
 * connector whose scheme prefixes the request's {@code remote}.
 */
public interface OutboundConnector {
    /** Address prefixes served, e.g. {@code mllp}. */
    Set<String> schemes();

    /**
     * Sends and waits for the device's answer.
     * The stage completes normally with a {@link DeviceReply} for every outcome that Medplum reports as an
     * {@code agent:transmit:response} (success, and 400 errors such as an invalid returnAck or a refused
     * connection); it completes exceptionally for outcomes Medplum reports as {@code agent:error}, and the
     * exception message is then used verbatim as the error body.
     */
    CompletionStage<DeviceReply> send(OutboundRequest request);

    /** Agent-wide settings (keepAlive, maxClientsPerRemote, …), applied on every configuration load. */
    default void applySettings(AgentSettings settings) {}

    /** Figures for {@code $stats} (e.g. {@code hl7ClientCount}, {@code clientStats}); JSON-compatible values. */
    default Map<String, Object> stats() {
        return Map.of();
    }
}
