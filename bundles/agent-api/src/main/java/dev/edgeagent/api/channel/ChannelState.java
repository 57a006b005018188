package dev.edgeagent.api.channel;

/** Lifecycle of a configured channel, as shown to operators. */
public enum ChannelState {
    /** Being bound. */
    STARTING,
    /** Bound and accepting connections. */
    LISTENING,
    /** Stopped (removed, or being replaced). */
    STOPPED,
    /** Could not start or failed while running; see the error text. */
    FAILED,
    /** Configured, but no deployed bundle serves its address scheme. */
    NO_PROTOCOL,
    /** Endpoint.status or Agent.status is off. */
    DISABLED
}
