package dev.edgeagent.api.channel;

/**
 * Everything a channel instance is configured from: one {@code Agent.channel} entry, its Endpoint, and the
 * agent-wide settings.
 *
 * @param name     {@code Agent.channel[].name}, the identity of the channel (log prefix, stats key, routing)
 * @param address  the parsed {@code Endpoint.address}
 * @param settings {@code Agent.setting}
 * @param agentId  the Agent resource id
 */
public record ChannelConfig(String name, EndpointAddress address, AgentSettings settings, String agentId) {

    /** The value of an Endpoint URL parameter, or null. */
    public String param(String key) {
        return address.param(key);
    }

    /** The listening port (validated 1–65535 by the core before a channel is created). */
    public int port() {
        return address.port();
    }
}
