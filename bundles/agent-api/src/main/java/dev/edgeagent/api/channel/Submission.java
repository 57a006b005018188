package dev.edgeagent.api.channel;

import java.util.concurrent.CompletionStage;

/**
 * The handle a channel gets for a message it submitted. The two stages are distinct so a store-and-forward
 * queue can sit behind {@link ChannelContext#submit}: {@link #accepted()} completes when the agent has taken
 * responsibility for the message (durably stored, when a durable queue is present) — the moment a channel
 * may send a commit-level acknowledgement — and {@link #reply()} when the server answered.
 * Either completes exceptionally when that cannot happen; the exception message says why.
 */
public interface Submission {
    /** The correlation id used on the wire (without any {@code #attempt} suffix). */
    String callback();

    CompletionStage<Void> accepted();

    CompletionStage<DeviceReply> reply();
}
