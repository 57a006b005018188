package dev.edgeagent.api.queue;

/**
 * The outcome of {@link MessageStore#appendUnlessDuplicate}: either the new message's id, or the earlier copy
 * that made it a duplicate (then nothing was stored).
 *
 * @param id          the new row's id, or -1 when {@code duplicateOf} is set
 * @param duplicateOf the pending or recently processed message with the same channel and messageId, or null
 * @since 1.1
 */
public record Intake(long id, PriorMessage duplicateOf) {
    public static Intake stored(long id) {
        return new Intake(id, null);
    }

    public static Intake duplicate(PriorMessage prior) {
        return new Intake(-1, prior);
    }

    public boolean isDuplicate() {
        return duplicateOf != null;
    }
}
