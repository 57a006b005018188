package dev.edgeagent.api.channel;

import dev.edgeagent.api.transport.CloudClient;

/** What the runtime gives a channel instance: the way to the server. */
public interface ChannelContext {
    /** The Agent resource id. */
    String agentId();

    /**
     * Hands a device message to the runtime for delivery to the server. Never blocks and never throws: a
     * message that cannot be taken yields a submission whose stages complete exceptionally.
     */
    Submission submit(InboundMessage message);

    /** REST access to the server (e.g. uploading a DICOM Binary). */
    CloudClient cloud();
}
