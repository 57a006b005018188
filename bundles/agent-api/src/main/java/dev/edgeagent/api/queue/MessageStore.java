package dev.edgeagent.api.queue;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Durable storage of device messages on their way to the server. Writes are applied in call order. An
 * {@link #append} stage completes only once the message is on disk (fsync'd; implementations commit concurrent
 * calls together, so waiting is cheap under load). State changes (in flight, processed, requeued) may become
 * durable later, with the next append's commit: after a crash such a message can be delivered again, never lost
 * (at-least-once, same message id). Every stage fails with an exception whose message tells an operator what went wrong
 * (e.g. the disk is full) — a failed {@link #append} means the message was NOT stored. An implementation
 * recovers by itself when the cause goes away.
 * <p>
 * Implemented by store bundles, called by the runtime: methods may be added in minor versions.
 */
@org.osgi.annotation.versioning.ProviderType
public interface MessageStore {

    /** Stores a message as {@link MessageState#QUEUED}; completes with its id after it is durable. */
    CompletionStage<Long> append(NewMessage message);

    /**
     * Duplicate detection: the message of {@code channel} with this {@code messageId} that is pending, or
     * {@link MessageState#PROCESSED} within the store's retention period (failed messages do not count: a device
     * may send those again). The newest such message when there are several.
     *
     * @since 1.1
     */
    CompletionStage<Optional<PriorMessage>> findActiveOrRecent(String channel, String messageId);

    /**
     * {@link #append} unless {@link #findActiveOrRecent} finds an earlier copy (same channel and non-null
     * messageId); lookup and insert are one atomic step, so two copies arriving together cannot both be stored.
     *
     * @since 1.1
     */
    CompletionStage<Intake> appendUnlessDuplicate(NewMessage message);

    /** Records that attempt number {@code attempts} is being sent: state {@link MessageState#INFLIGHT}. */
    CompletionStage<Void> markInflight(long id, int attempts);

    /** An attempt failed and will be retried: back to {@link MessageState#QUEUED}, keeping {@code reason}. */
    CompletionStage<Void> requeue(long id, String reason);

    /** The server answered: {@link MessageState#PROCESSED} with its status and body. */
    CompletionStage<Void> markDelivered(long id, int statusCode, String responseBody);

    /** Given up on: {@link MessageState#FAILED} with the reason. */
    CompletionStage<Void> markFailed(long id, String reason);

    /**
     * Pending (queued or inflight) messages of a channel with an id above {@code afterId}, oldest first, at
     * most {@code limit}: page through a long queue without loading it.
     */
    CompletionStage<List<StoredMessage>> pending(String channel, long afterId, int limit);

    /** Channels that have pending messages (restart recovery). */
    CompletionStage<Set<String>> channelsWithPending();

    CompletionStage<QueueStats> stats();

    /** Runs the retention sweep now; completes with the number of rows deleted. */
    CompletionStage<Long> sweep();
}
