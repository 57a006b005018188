package dev.edgeagent.api.queue;

import java.util.Objects;

/**
 * A device message to store.
 *
 * @param channel     channel name (FIFO order is kept per channel)
 * @param remote      the device connection, e.g. {@code 10.0.0.7:51234}
 * @param contentType content type of {@code body}
 * @param body        the message as it will be sent to the server
 * @param messageId   protocol message id (HL7 MSH-10), may be null
 * @param callbackId  the wire correlation id, without {@code #attempt}; unique
 */
public record NewMessage(String channel, String remote, String contentType, String body, String messageId, String callbackId) {
    public NewMessage {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(callbackId, "callbackId");
    }
}
