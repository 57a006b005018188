package dev.edgeagent.api.transport;

import dev.edgeagent.api.message.AgentMessage;

/**
 * Receives what the cloud link delivers. Register it as an OSGi service (whiteboard); the transport calls
 * every registered listener. Callbacks run on the transport's I/O thread: do not block in them.
 */
public interface TransportListener {
    /**
     * A decoded frame from the server, after the transport consumed what is its own business
     * (connect response, heartbeats). Legacy type aliases are already normalised.
     */
    void onMessage(AgentMessage message);

    /** A frame that could not be decoded; the listener decides what to answer. */
    default void onUndecodable(String error, String callback) {}

    /** The link state changed. Called once per change. */
    default void onLinkState(LinkState state) {}
}
