package dev.edgeagent.api.channel;

import java.util.Map;

/**
 * A snapshot of one channel for shell, stats and logs.
 *
 * @param name        channel name
 * @param type        protocol type shown to operators, e.g. {@code HL7}
 * @param address     the Endpoint address
 * @param state       lifecycle state
 * @param connections open device connections
 * @param messagesIn  messages received from devices
 * @param messagesOut messages written to devices (replies and pushes)
 * @param errors      rejected frames, failed deliveries and other per-message errors
 * @param detail      protocol-specific figures (JSON-compatible values), e.g. RTT percentiles; may be empty
 * @param lastError   the last error text, or null
 */
public record ChannelStats(String name, String type, String address, ChannelState state, int connections,
                           long messagesIn, long messagesOut, long errors, Map<String, Object> detail, String lastError) {
}
