package dev.edgeagent.api.queue;

/**
 * A stored message found by its {@code (channel, messageId)}: the earlier copy a duplicate is judged against.
 *
 * @param message      the stored message ({@link StoredMessage#state()} tells whether it is still pending)
 * @param statusCode   the server's status when {@link MessageState#PROCESSED}, else -1
 * @param responseBody the server's answer when {@link MessageState#PROCESSED}, else null
 * @since 1.1
 */
public record PriorMessage(StoredMessage message, int statusCode, String responseBody) {
}
