package dev.edgeagent.api.transport;

import dev.edgeagent.api.message.AgentMessage;

/**
 * The cloud link, registered as an OSGi service by a transport bundle. It owns authentication, the
 * connection, the connect handshake, heartbeats and reconnects; clients only send and receive frames.
 * Service property {@code edgeagent.link.state} mirrors {@link #state()}.
 */
public interface Transport {
    String LINK_STATE_PROPERTY = "edgeagent.link.state";

    LinkState state();

    /**
     * Sends a frame. While the link is not live, frames wait in a bounded buffer and flush, in order, after
     * the next connect response. A frame with an {@code accessToken} field gets the current token at send time.
     *
     * @throws TransportException when the buffer is full or the transport is stopped; nothing was queued
     */
    void send(AgentMessage message) throws TransportException;

    /** Snapshot for status displays and stats. */
    TransportStatus status();

    /** REST access to the same server, with the same credentials. */
    CloudClient cloud();
}
