package dev.edgeagent.hub;

import java.time.Instant;

/**
 * One {@code agent:transmit:request} frame the hub accepted from an agent (access token masked).
 *
 * @param receivedAt when the hub read the frame
 * @param agentId the Agent id the sending socket connected as
 * @param channel the {@code channel} field
 * @param remote the {@code remote} field (device address as the agent reported it)
 * @param contentType the {@code contentType} field
 * @param body the {@code body} field; shortened when the ring's memory budget is exhausted
 * @param callback the {@code callback} field, or null
 * @param bodyTruncated true when {@code body} was shortened to bound memory
 * @param frameJson the whole frame as JSON text, with {@code accessToken} masked
 */
public record ReceivedMessage(Instant receivedAt, String agentId, String channel, String remote,
        String contentType, String body, String callback, boolean bodyTruncated, String frameJson) {
}
