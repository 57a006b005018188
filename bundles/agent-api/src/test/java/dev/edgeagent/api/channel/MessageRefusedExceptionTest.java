package dev.edgeagent.api.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.channel.MessageRefusedException.Reason;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class MessageRefusedExceptionTest {
    private final MessageRefusedException refusal = new MessageRefusedException(Reason.DUPLICATE, "seen before");

    @Test
    void foundBehindTheWrappersADerivedStageHandsOut() {
        CompletableFuture<Void> failed = CompletableFuture.failedFuture(refusal);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        failed.minimalCompletionStage().thenApply(v -> v).whenComplete((v, e) -> seen.set(e));
        assertTrue(seen.get() instanceof CompletionException, "the callback sees a wrapper: " + seen.get());
        assertSame(refusal, MessageRefusedException.of(seen.get()).orElseThrow());

        ExecutionException fromGet = assertThrows(ExecutionException.class, () -> failed.get());
        assertSame(refusal, MessageRefusedException.of(fromGet).orElseThrow());
        assertSame(refusal, MessageRefusedException.of(refusal).orElseThrow());
        assertEquals(Reason.DUPLICATE, refusal.reason());
        assertEquals("seen before", refusal.getMessage());
    }

    @Test
    void otherFailuresAreNoRefusalEvenWhenTheyCarryOneAsCause() {
        assertTrue(MessageRefusedException.of(null).isEmpty());
        assertTrue(MessageRefusedException.of(new IllegalStateException("storage error")).isEmpty());
        assertTrue(MessageRefusedException.of(new CompletionException(new IllegalStateException("disk full"))).isEmpty());
        // A transient failure that merely mentions a refusal as its cause stays transient.
        assertTrue(MessageRefusedException.of(new IllegalStateException("wrapped", refusal)).isEmpty());
    }

    @Test
    void reasonIsRequired() {
        assertThrows(NullPointerException.class, () -> new MessageRefusedException(null, "x"));
    }
}
