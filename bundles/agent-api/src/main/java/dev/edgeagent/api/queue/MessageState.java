package dev.edgeagent.api.queue;

import java.util.Locale;

/** Life of a stored message. {@link #QUEUED} and {@link #INFLIGHT} are "pending": still owed to the server. */
public enum MessageState {
    /** Stored, not yet sent (or sent and to be sent again after a failed attempt). */
    QUEUED,
    /** Sent to the server; waiting for its answer. After a crash it may or may not have reached the server. */
    INFLIGHT,
    /** The server answered; its answer is stored. */
    PROCESSED,
    /** Given up on (permanent error from the server, or retries exhausted); the reason is stored. */
    FAILED;

    /** The lower-case name used in stats and storage ({@code queued}, {@code inflight}, …). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean isPending() {
        return this == QUEUED || this == INFLIGHT;
    }

    /** Inverse of {@link #label()}. @throws IllegalArgumentException for an unknown label */
    public static MessageState ofLabel(String label) {
        return valueOf(label.toUpperCase(Locale.ROOT));
    }
}
