package dev.edgeagent.api.queue;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Operator access to the durable queue (shell commands): look at one message, list failed ones, send failed
 * messages again or throw them away. Registered by the same component as the {@link MessageStore}, on the same
 * storage. As with {@link MessageStore}, every stage completes once the change is on disk and fails with a
 * message an operator can act on.
 *
 * @since 1.1
 */
@org.osgi.annotation.versioning.ProviderType
public interface QueueAdmin {

    /**
     * Everything stored about one message.
     *
     * @param message      the message as the dispatcher sees it
     * @param updatedAt    epoch ms of the last state change
     * @param processedAt  epoch ms when it settled (processed or failed), -1 while pending
     * @param serverStatus status code of the server's answer, -1 if none yet
     * @param serverBody   body of the server's answer, null if none yet
     * @param lastError    why the last attempt failed or why it was given up, null if none
     */
    record Entry(StoredMessage message, long updatedAt, long processedAt, int serverStatus, String serverBody,
                 String lastError) {}

    /** One message by store id; empty when there is no such message (never stored, discarded, or swept). */
    CompletionStage<Optional<Entry>> get(long id);

    /**
     * {@link MessageState#FAILED} messages with an id above {@code afterId}, oldest first, at most {@code limit}.
     *
     * @param channel only this channel, or null for all channels
     */
    CompletionStage<List<Entry>> failed(String channel, long afterId, int limit);

    /**
     * Sends a failed message again: back to {@link MessageState#QUEUED} with its attempt count reset, due now.
     * Completes with 1, or 0 when the message does not exist or is not failed (nothing changed).
     */
    CompletionStage<Integer> retry(long id);

    /** {@link #retry(long)} for every failed message of {@code channel} (null: all channels); completes with the count. */
    CompletionStage<Integer> retryAllFailed(String channel);

    /**
     * Deletes a failed message for good; each deletion is written to the log (id, channel, message id, reason it
     * failed) as an audit trail. Completes with 1, or 0 when the message does not exist or is not failed.
     */
    CompletionStage<Integer> discard(long id);

    /** {@link #discard(long)} for every failed message of {@code channel} (null: all channels); completes with the count. */
    CompletionStage<Integer> discardAllFailed(String channel);
}
