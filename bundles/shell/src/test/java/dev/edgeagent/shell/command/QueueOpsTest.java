package dev.edgeagent.shell.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.QueueAdmin;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** agent:queue-show, agent:queue-retry, agent:queue-discard, agent:queue --failed and the queue line of agent:status. */
class QueueOpsTest {
    static final long NOW = 1_700_000_000_000L;

    /** In-memory QueueAdmin with the store's semantics: only failed messages are retried or discarded. */
    static class FakeAdmin implements QueueAdmin {
        final Map<Long, Entry> rows = new TreeMap<>();
        final List<String> calls = new ArrayList<>();

        void put(long id, String channel, MessageState state, int attempts, String lastError) {
            rows.put(id, new Entry(new StoredMessage(id, channel, "10.0.0.7:5000", "x-application/hl7-v2+er7",
                    "MSH|^~\\&|LAB\rPID|1||" + id, "MSG" + id, "cb-" + id, state, attempts, NOW - 60_000),
                    NOW - 30_000, state == MessageState.FAILED ? NOW - 30_000 : -1, -1, null, lastError));
        }

        @Override
        public CompletionStage<Optional<Entry>> get(long id) {
            return CompletableFuture.completedFuture(Optional.ofNullable(rows.get(id)));
        }

        @Override
        public CompletionStage<List<Entry>> failed(String channel, long afterId, int limit) {
            return CompletableFuture.completedFuture(rows.values().stream().filter(failedIn(channel))
                    .filter(e -> e.message().id() > afterId).limit(limit).toList());
        }

        @Override
        public CompletionStage<Integer> retry(long id) {
            calls.add("retry " + id);
            return CompletableFuture.completedFuture(requeue(e -> e.message().id() == id && failedIn(null).test(e)));
        }

        @Override
        public CompletionStage<Integer> retryAllFailed(String channel) {
            calls.add("retryAll " + channel);
            return CompletableFuture.completedFuture(requeue(failedIn(channel)));
        }

        @Override
        public CompletionStage<Integer> discard(long id) {
            calls.add("discard " + id);
            Entry e = rows.get(id);
            if (e == null || e.message().state() != MessageState.FAILED) return CompletableFuture.completedFuture(0);
            rows.remove(id);
            return CompletableFuture.completedFuture(1);
        }

        @Override
        public CompletionStage<Integer> discardAllFailed(String channel) {
            calls.add("discardAll " + channel);
            int before = rows.size();
            rows.values().removeIf(failedIn(channel));
            return CompletableFuture.completedFuture(before - rows.size());
        }

        private static Predicate<Entry> failedIn(String channel) {
            return e -> e.message().state() == MessageState.FAILED && (channel == null || channel.equals(e.message().channel()));
        }

        private int requeue(Predicate<Entry> which) {
            int n = 0;
            for (Map.Entry<Long, Entry> r : rows.entrySet()) {
                Entry e = r.getValue();
                if (!which.test(e)) continue;
                StoredMessage m = e.message();
                r.setValue(new Entry(new StoredMessage(m.id(), m.channel(), m.remote(), m.contentType(), m.body(), m.messageId(),
                        m.callbackId(), MessageState.QUEUED, 0, m.receivedAt()), NOW, -1, -1, null, e.lastError()));
                n++;
            }
            return n;
        }

        QueueStats stats() {
            Map<MessageState, Long> total = zero();
            Map<String, Map<MessageState, Long>> per = new TreeMap<>();
            for (Entry e : rows.values()) {
                total.merge(e.message().state(), 1L, Long::sum);
                per.computeIfAbsent(e.message().channel(), k -> zero()).merge(e.message().state(), 1L, Long::sum);
            }
            Map<String, QueueStats.ChannelDepth> ch = new TreeMap<>();
            per.forEach((k, v) -> ch.put(k, new QueueStats.ChannelDepth(v, -1)));
            return new QueueStats(4096, total, ch, -1, -1);
        }

        private static Map<MessageState, Long> zero() {
            Map<MessageState, Long> m = new EnumMap<>(MessageState.class);
            for (MessageState s : MessageState.values()) m.put(s, 0L);
            return m;
        }
    }

    final FakeAdmin admin = new FakeAdmin();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    final List<String> questions = new ArrayList<>();
    final QueueOps ops = new QueueOps(admin, admin::stats, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    QueueOps.Confirm answering(String answer) {
        return q -> {
            questions.add(q);
            return QueueOps.isYes(answer);
        };
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void showPrintsEveryFieldAndTheBodyOneSegmentPerLine() throws Exception {
        admin.put(42, "adt-in", MessageState.FAILED, 3, "server answered 400: unknown patient");
        assertTrue(ops.show("42", false, NOW));
        assertEquals(String.join("\n",
                "Message       : 42",
                "Channel       : adt-in",
                "Remote        : 10.0.0.7:5000",
                "State         : failed",
                "Attempts      : 3",
                "Message id    : MSG42",
                "Callback      : cb-42",
                "Content type  : x-application/hl7-v2+er7",
                "Received      : 2023-11-14T22:12:20Z (1m 0s ago)",
                "Updated       : 2023-11-14T22:12:50Z (30s ago)",
                "Settled       : 2023-11-14T22:12:50Z (30s ago)",
                "Server status : -",
                "Last error    : server answered 400: unknown patient",
                "Body (22 characters):",
                "  MSH|^~\\&|LAB",
                "  PID|1||42",
                ""), out());
        assertEquals("", err());
    }

    @Test
    void showRendersTheServerAnswerNeutralisesControlCharactersAndTruncatesHugeBodies() {
        StoredMessage m = new StoredMessage(7, "orm", null, null, "MSH|x\r\n\u001b[2JPID|" + "A".repeat(QueueOps.BODY_PREVIEW_CHARS),
                null, "cb-7", MessageState.PROCESSED, 1, NOW - 1000);
        QueueAdmin.Entry e = new QueueAdmin.Entry(m, NOW, NOW, 200, "MSH|ack\rMSA|AA|7\r", null);
        String text = QueueOps.render(e, false, NOW);
        assertTrue(text.contains("Server status : 200\n"), text);
        assertTrue(text.contains("  MSH|x\n  \\x1B[2JPID|AAAA"), text);
        assertFalse(text.contains("\u001b"), "escape sequences are not passed to the terminal");
        assertTrue(text.contains("  ... 15 more characters (use --full to see all)\n"), text);
        assertTrue(text.endsWith("Server answer (17 characters):\n  MSH|ack\n  MSA|AA|7\n"), text);
        String full = QueueOps.render(e, true, NOW);
        assertFalse(full.contains("more characters"), "--full shows everything");
    }

    @Test
    void showReportsUnknownAndMalformedIds() throws Exception {
        assertFalse(ops.show("99", false, NOW));
        assertFalse(ops.show("abc", false, NOW));
        assertEquals("No message 99 in the durable queue (never stored, discarded, or removed by the retention sweep).\n"
                + "'abc' is not a message id (a positive number, as listed by agent:queue --failed or in the log).\n", err());
        assertEquals("", out());
    }

    @Test
    void retryByIdAsksAndRequeuesOnYes() throws Exception {
        admin.put(5, "adt", MessageState.FAILED, 10, "server answered 503: busy");
        assertTrue(ops.apply(QueueOps.Action.RETRY, "5", false, false, answering(" YES ")));
        assertEquals(List.of("Are you sure? (yes/no) "), questions);
        assertEquals("Message 5 of channel 'adt' (message id MSG5), failed after 10 attempt(s): server answered 503: busy\n"
                + "It will be requeued for delivery with the attempt count reset.\n"
                + "Retried 1 message (5).\n", out());
        assertEquals(MessageState.QUEUED, admin.rows.get(5L).message().state());
        assertEquals(0, admin.rows.get(5L).message().attempts());
    }

    @Test
    void anythingButYesCancels() throws Exception {
        admin.put(5, "adt", MessageState.FAILED, 1, "x");
        for (String answer : new String[] {"no", "y", "", null}) {
            assertFalse(ops.apply(QueueOps.Action.DISCARD, "5", false, false, answering(answer)));
        }
        assertTrue(out().endsWith("Cancelled. Nothing changed.\n"), out());
        assertEquals(List.of(), admin.calls);
        assertTrue(admin.rows.containsKey(5L));
    }

    @Test
    void onlyFailedMessagesAreRetriedOrDiscarded() throws Exception {
        admin.put(6, "adt", MessageState.QUEUED, 0, null);
        assertFalse(ops.apply(QueueOps.Action.DISCARD, "6", false, true, answering("yes")));
        assertFalse(ops.apply(QueueOps.Action.RETRY, "77", false, true, answering("yes")));
        assertFalse(ops.apply(QueueOps.Action.RETRY, null, false, true, answering("yes")));
        assertEquals("Message 6 of channel 'adt' is queued: only failed messages can be discarded. Nothing changed.\n"
                + "No message 77 in the durable queue (never stored, discarded, or removed by the retention sweep).\n"
                + "Give a message id (see agent:queue --failed), or --all-failed [channel].\n", err());
        assertEquals(List.of(), admin.calls);
        assertEquals(List.of(), questions);
    }

    @Test
    void forceSkipsTheQuestion() throws Exception {
        admin.put(8, "adt", MessageState.FAILED, 2, "x");
        assertTrue(ops.apply(QueueOps.Action.DISCARD, "8", false, true, q -> {
            throw new AssertionError("asked although --force");
        }));
        assertTrue(out().endsWith("It will be deleted for good.\nDiscarded 1 message (8).\n"), out());
        assertFalse(admin.rows.containsKey(8L));
    }

    @Test
    void allFailedOfAChannelQuotesTheCountAndReportsWhatChanged() throws Exception {
        admin.put(1, "adt", MessageState.FAILED, 1, "x");
        admin.put(2, "adt", MessageState.FAILED, 1, "x");
        admin.put(3, "orm", MessageState.FAILED, 1, "x");
        admin.put(4, "adt", MessageState.PROCESSED, 1, null);
        assertTrue(ops.apply(QueueOps.Action.RETRY, "adt", true, false, answering("yes")));
        assertEquals("2 failed message(s) of channel 'adt' will be requeued for delivery with the attempt count reset.\n"
                + "Retried 2 failed message(s) of channel 'adt'.\n", out());
        assertEquals(List.of("retryAll adt"), admin.calls);

        out.reset();
        assertFalse(ops.apply(QueueOps.Action.DISCARD, "adt", true, false, answering("yes")));
        assertEquals("No failed messages of channel 'adt'. Nothing to discard.\n", out());

        out.reset();
        assertTrue(ops.apply(QueueOps.Action.DISCARD, null, true, false, answering("yes")));
        assertEquals("1 failed message(s) in all channels will be deleted for good.\nDiscarded 1 failed message(s) in all channels.\n", out());
        assertEquals(List.of("retryAll adt", "discardAll null"), admin.calls);
        assertFalse(admin.rows.containsKey(3L));
    }

    @Test
    void storeFailuresReachTheOperatorWithTheStoresReason() {
        QueueOps broken = new QueueOps(new FakeAdmin() {
            @Override
            public CompletionStage<Optional<Entry>> get(long id) {
                return CompletableFuture.failedFuture(new IllegalStateException("Durable queue /data/q.sqlite could not read message 5: disk I/O error"));
            }
        }, null, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> broken.show("5", false, NOW));
        assertEquals("Durable queue /data/q.sqlite could not read message 5: disk I/O error", e.getMessage());
    }

    @Test
    void failedListingShowsOneLinePerMessageAndHowToPage() {
        admin.put(11, "adt", MessageState.FAILED, 3, "server answered 400:\r\nbad " + "x".repeat(200));
        admin.put(12, "adt", MessageState.FAILED, 1, null);
        List<QueueAdmin.Entry> page = new ArrayList<>(admin.rows.values());
        String text = QueueCommand.renderFailed(page, "adt", 2);
        String[] lines = text.split("\n");
        assertEquals("        Id  Channel              Message id             Attempts  Failed at             Last error", lines[0]);
        assertTrue(lines[1].startsWith("        11  adt                  MSG11                         3  2023-11-14T22:12:50Z  server answered 400:  bad xxx"),
                lines[1]);
        assertTrue(lines[1].endsWith("x..."), lines[1]);
        assertTrue(lines[2].endsWith("  -"), lines[2]);
        assertEquals("More may follow: agent:queue --failed --after 12 adt", lines[3]);
        assertEquals("No failed messages in channel 'lab'.\n", QueueCommand.renderFailed(List.of(), "lab", 50));
        assertFalse(QueueCommand.renderFailed(page, null, 50).contains("More may follow"));
    }

    @Test
    void statusShowsTheQueueCountsFromStats() {
        Map<String, Object> q = new java.util.LinkedHashMap<>();
        q.put("enabled", true);
        q.put("countsByState", Map.of("queued", 3L, "inflight", 1L, "processed", 120L, "failed", 2L));
        q.put("channelDepth", Map.of("adt", Map.of("queued", 3L, "inflight", 1L, "oldestQueuedAgeMs", 95_000L),
                "orm", Map.of("queued", 0L, "inflight", 0L, "oldestQueuedAgeMs", -1L)));
        assertEquals("3 queued, 1 in flight, 2 failed, 120 processed; oldest pending 1m 35s (agent:queue --failed)",
                StatusCommand.queueLine(q));
        q.put("enabled", false);
        q.put("countsByState", Map.of("queued", 0L, "inflight", 0L, "processed", 7L, "failed", 0L));
        q.put("channelDepth", Map.of());
        assertEquals("off for new messages (setting durableQueue=false); 0 queued, 0 in flight, 0 failed, 7 processed",
                StatusCommand.queueLine(q));
        assertEquals("cannot read it: Durable queue /q.sqlite could not read queue statistics: disk I/O error",
                StatusCommand.queueLine(Map.of("enabled", true, "error", "Durable queue /q.sqlite could not read queue statistics: disk I/O error")));
        assertEquals("not deployed (messages go straight to the server)", StatusCommand.queueLine(null));

        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        dev.edgeagent.api.ops.AgentStatus s = new dev.edgeagent.api.ops.AgentStatus("a1", "http://127.0.0.1:8103/", "0.1.0", NOW, null,
                "active", null, 1);
        StatusCommand.print(s, q, new PrintStream(bos, true, StandardCharsets.UTF_8));
        assertTrue(bos.toString(StandardCharsets.UTF_8).contains("\nDurable queue : off for new messages"), bos.toString(StandardCharsets.UTF_8));
    }
}
