package dev.edgeagent.api.queue;

/**
 * A message as read back from the store.
 *
 * @param id          store id; increases with arrival order (FIFO key)
 * @param attempts    how many times it was handed to the server so far
 * @param receivedAt  epoch milliseconds when it was appended
 */
public record StoredMessage(long id, String channel, String remote, String contentType, String body, String messageId,
                            String callbackId, MessageState state, int attempts, long receivedAt) {
}
