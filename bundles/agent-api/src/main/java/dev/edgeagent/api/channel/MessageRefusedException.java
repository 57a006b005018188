package dev.edgeagent.api.channel;

import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The runtime refuses a device message for good: sending the same message again will be refused again. A channel
 * answers it with its protocol's "rejected" code rather than its "error, try again later" one (for HL7, for
 * example, AR or CR rather than AE or CE), so the device stops resending. Any other failure of a
 * {@link Submission} stage is transient from the device's point of view.
 * <p>
 * The message names the channel, the message id and why it was refused, and is meant for operators and devices.
 * No stack trace is recorded: a refusal is an outcome of the device's input, not a fault of the agent.
 *
 * @since 1.2
 */
public class MessageRefusedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Why a message was refused. More reasons may be added in minor versions; a channel should answer an unknown
     * one as a generic refusal.
     */
    public enum Reason {
        /** A message with this id was already received on this channel, and the channel refuses copies. */
        DUPLICATE,
        /** A message with this id but different content was already received on this channel: the id was reused. */
        DUPLICATE_DIFFERENT_CONTENT
    }

    private final Reason reason;

    public MessageRefusedException(Reason reason, String message) {
        super(message, null, false, false);
        if (reason == null) throw new NullPointerException("reason");
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /**
     * The refusal behind a failed stage, if that failure is one. Stages derived from a {@link Submission}'s (and the
     * submission's own) usually hand their callbacks a {@link CompletionException} wrapping the cause; this looks
     * through such wrappers (and {@link ExecutionException}, from {@code get()}), but not through other causes.
     */
    public static Optional<MessageRefusedException> of(Throwable failure) {
        Throwable t = failure;
        for (int depth = 0; t != null && depth < 8; depth++) {
            if (t instanceof MessageRefusedException) return Optional.of((MessageRefusedException) t);
            if (!(t instanceof CompletionException || t instanceof ExecutionException)) break;
            t = t.getCause();
        }
        return Optional.empty();
    }
}
