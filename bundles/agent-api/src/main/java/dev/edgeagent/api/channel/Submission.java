package dev.edgeagent.api.channel;

import java.util.concurrent.CompletionStage;

/**
 * The handle a channel gets for a message it submitted. The two stages are distinct so a store-and-forward
 * queue can sit behind {@link ChannelContext#submit}: {@link #accepted()} completes when the agent has taken
 * responsibility for the message (durably stored, when a durable queue is present) — the moment a channel
 * may send a commit-level acknowledgement — and {@link #reply()} when the server answered.
 * Either completes exceptionally when that cannot happen; the exception message says why.
 * <p>
 * A message the runtime refuses for good (e.g. a duplicate message id the channel is configured to refuse, or an
 * id reused for different content) fails {@link #accepted()} and {@link #reply()} with a
 * {@link MessageRefusedException}, which a channel answers with its protocol's "rejected" code; any other failure
 * (storage error, link buffer full, no transport) is transient and answered with the "error" code. The exception
 * usually reaches a callback wrapped in a {@link java.util.concurrent.CompletionException}: test with
 * {@link MessageRefusedException#of(Throwable)}, not {@code instanceof}.
 */
public interface Submission {
    /** The correlation id used on the wire (without any {@code #attempt} suffix). */
    String callback();

    CompletionStage<Void> accepted();

    CompletionStage<DeviceReply> reply();
}
