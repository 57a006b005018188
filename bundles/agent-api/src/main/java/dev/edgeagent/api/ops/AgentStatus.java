package dev.edgeagent.api.ops;

import dev.edgeagent.api.transport.TransportStatus;

/**
 * What {@code agent:status} shows.
 *
 * @param agentId     configured Agent id, or null before configuration
 * @param server      the server base URL, or null
 * @param version     agent version
 * @param startedAt   epoch millis when the runtime started
 * @param link        the transport snapshot, or null when no transport is deployed
 * @param agentStatus {@code Agent.status} as last read (active/off), or null before the first read
 * @param configError the last configuration problem (bootstrap or Agent resource), or null
 * @param channels    number of configured channels
 */
public record AgentStatus(String agentId, String server, String version, long startedAt, TransportStatus link,
                          String agentStatus, String configError, int channels) {
}
