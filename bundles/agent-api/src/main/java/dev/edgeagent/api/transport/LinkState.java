package dev.edgeagent.api.transport;

/** State of the cloud link. Only {@link #LIVE} carries traffic (spec §2.2: live after agent:connect:response). */
public enum LinkState {
    /** No configuration yet, or stopped. */
    STOPPED,
    /** Logging in (OAuth2) or waiting to retry the login. */
    AUTHENTICATING,
    /** Opening the WebSocket or waiting for a reconnect delay. */
    CONNECTING,
    /** Socket open, agent:connect:request sent, waiting for agent:connect:response. */
    OPEN,
    /** agent:connect:response received: traffic flows. */
    LIVE
}
