package dev.edgeagent.queue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.QueueAdmin.Entry;
import dev.edgeagent.api.queue.StoredMessage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator side of the store (shell commands): look up, list failed, retry, discard. */
class QueueAdminTest {
    @TempDir
    Path dir;
    final AtomicLong clock = new AtomicLong(1_700_000_000_000L);
    SqliteMessageStore store;

    @BeforeEach
    void open() {
        store = new SqliteMessageStore(dir.resolve("q.sqlite"), clock::get);
    }

    @AfterEach
    void close() {
        store.close();
    }

    static <T> T get(CompletionStage<T> s) throws Exception {
        return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private long append(String channel, String msgId) throws Exception {
        return get(store.append(new NewMessage(channel, "10.0.0.7:5000", "x-application/hl7-v2+er7",
                "MSH|^~\\&|A|B\rPID|1||" + msgId, msgId, "cb-" + channel + "-" + msgId)));
    }

    /** A message that failed after {@code attempts} attempts, {@code failedAfterMs} after it arrived. */
    private long failedMessage(String channel, String msgId, int attempts, String reason) throws Exception {
        long id = append(channel, msgId);
        clock.addAndGet(1000);
        get(store.markInflight(id, attempts));
        get(store.markFailed(id, reason));
        return id;
    }

    @Test
    void getReturnsEverythingStoredAboutOneMessage() throws Exception {
        long t0 = clock.get();
        long a = append("adt", "M1");
        clock.addAndGet(2000);
        get(store.markInflight(a, 1));
        get(store.requeue(a, "no answer from the server within 10 s"));
        clock.addAndGet(3000);
        get(store.markInflight(a, 2));
        get(store.markDelivered(a, 200, "MSH|^~\\&|ACK\rMSA|AA|M1"));

        Entry e = get(store.get(a)).orElseThrow();
        assertEquals(new StoredMessage(a, "adt", "10.0.0.7:5000", "x-application/hl7-v2+er7", "MSH|^~\\&|A|B\rPID|1||M1", "M1",
                "cb-adt-M1", MessageState.PROCESSED, 2, t0), e.message());
        assertEquals(t0 + 5000, e.updatedAt());
        assertEquals(t0 + 5000, e.processedAt());
        assertEquals(200, e.serverStatus());
        assertEquals("MSH|^~\\&|ACK\rMSA|AA|M1", e.serverBody());
        assertEquals("no answer from the server within 10 s", e.lastError());

        long b = append("adt", "M2");
        Entry pending = get(store.get(b)).orElseThrow();
        assertEquals(-1, pending.processedAt());
        assertEquals(-1, pending.serverStatus());
        assertNull(pending.serverBody());
        assertNull(pending.lastError());

        assertEquals(Optional.empty(), get(store.get(9999)));
    }

    @Test
    void failedListsOnlyFailedMessagesPerChannelInPages() throws Exception {
        long f1 = failedMessage("adt", "F1", 3, "server answered 500: down");
        append("adt", "Q1");
        long f2 = failedMessage("orm", "F2", 1, "server answered 400: bad");
        long f3 = failedMessage("adt", "F3", 10, "server answered 503: busy");

        assertEquals(List.of(f1, f2, f3), ids(get(store.failed(null, 0, 100))));
        assertEquals(List.of(f1, f3), ids(get(store.failed("adt", 0, 100))));
        assertEquals(List.of(f1), ids(get(store.failed("adt", 0, 1))));
        assertEquals(List.of(f3), ids(get(store.failed("adt", f1, 1))));
        assertEquals(List.of(), ids(get(store.failed("adt", f3, 100))));
        assertEquals(List.of(), ids(get(store.failed("lab", 0, 100))));
        Entry e = get(store.failed("orm", 0, 10)).get(0);
        assertEquals("server answered 400: bad", e.lastError());
        assertEquals(1, e.message().attempts());
    }

    @Test
    void retryRequeuesAFailedMessageWithItsAttemptsReset() throws Exception {
        long f = failedMessage("adt", "F1", 10, "server answered 503: busy");
        long ok = append("adt", "OK");
        get(store.markDelivered(ok, 200, "ack"));
        clock.addAndGet(5000);

        assertEquals(1, get(store.retry(f)));
        Entry e = get(store.get(f)).orElseThrow();
        assertEquals(MessageState.QUEUED, e.message().state());
        assertEquals(0, e.message().attempts());
        assertEquals(-1, e.processedAt());
        assertEquals(clock.get(), e.updatedAt());
        assertEquals("server answered 503: busy", e.lastError(), "the last failure stays visible");
        assertEquals(List.of(f), get(store.pending("adt", 0, 10)).stream().map(StoredMessage::id).toList());

        // Only failed messages: a second retry, a processed message and an unknown id change nothing.
        assertEquals(0, get(store.retry(f)));
        assertEquals(0, get(store.retry(ok)));
        assertEquals(MessageState.PROCESSED, get(store.get(ok)).orElseThrow().message().state());
        assertEquals(0, get(store.retry(4242)));
    }

    @Test
    void retryAllFailedIsLimitedToTheChannelWhenOneIsGiven() throws Exception {
        failedMessage("adt", "A1", 1, "x");
        failedMessage("adt", "A2", 1, "x");
        long orm = failedMessage("orm", "O1", 1, "x");
        append("adt", "Q");

        assertEquals(2, get(store.retryAllFailed("adt")));
        assertEquals(List.of(orm), ids(get(store.failed(null, 0, 10))));
        assertEquals(3, get(store.pending("adt", 0, 10)).size());
        assertEquals(0, get(store.retryAllFailed("adt")));
        assertEquals(1, get(store.retryAllFailed(null)));
        assertEquals(0L, get(store.stats()).countsByState().get(MessageState.FAILED));
    }

    @Test
    void discardDeletesFailedMessagesOnlyAndLeavesAnAuditLine() throws Exception {
        long f1 = failedMessage("adt", "F1", 3, "server answered 400: unknown patient");
        long f2 = failedMessage("adt", "F2", 1, "y");
        long f3 = failedMessage("orm", "F3", 1, "z");
        long queued = append("adt", "Q");

        String log = captureStderr(() -> assertEquals(1, get(store.discard(f1))));
        assertTrue(log.contains("[adt] Durable queue: message " + f1 + " (message id F1, callback cb-adt-F1) discarded by an operator;"
                + " it had failed after 3 attempt(s): server answered 400: unknown patient"), log);
        assertTrue(log.contains("1 failed message(s) (message " + f1 + ") discarded by an operator"), log);
        assertEquals(Optional.empty(), get(store.get(f1)));

        assertEquals(0, get(store.discard(queued)), "a pending message is owed to the server");
        assertEquals(MessageState.QUEUED, get(store.get(queued)).orElseThrow().message().state());
        assertEquals(0, get(store.discard(f1)));

        assertEquals(1, get(store.discardAllFailed("adt")));
        assertEquals(Optional.empty(), get(store.get(f2)));
        assertEquals(List.of(f3), ids(get(store.failed(null, 0, 10))));
        assertEquals(1, get(store.discardAllFailed(null)));
        assertEquals(List.of(), ids(get(store.failed(null, 0, 10))));
    }

    private interface Body {
        void run() throws Exception;
    }

    /** slf4j-simple resolves System.err at each write, so swapping it captures the store's log lines. */
    private static String captureStderr(Body body) throws Exception {
        PrintStream old = System.err;
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        System.setErr(new PrintStream(bos, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setErr(old);
        }
        return bos.toString(StandardCharsets.UTF_8);
    }

    private static List<Long> ids(List<Entry> entries) {
        return entries.stream().map(e -> e.message().id()).toList();
    }
}
