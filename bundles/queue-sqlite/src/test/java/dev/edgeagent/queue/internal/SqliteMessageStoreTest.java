package dev.edgeagent.queue.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.queue.Intake;
import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.PriorMessage;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteMessageStoreTest {
    @TempDir
    Path dir;
    final AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    final List<SqliteMessageStore> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        opened.forEach(SqliteMessageStore::close);
    }

    SqliteMessageStore open(Path path) {
        SqliteMessageStore s = new SqliteMessageStore(path, clock::get);
        opened.add(s);
        return s;
    }

    static <T> T get(CompletionStage<T> s) throws Exception {
        return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static NewMessage msg(String channel, String id) {
        return new NewMessage(channel, "10.0.0.7:5000", "x-application/hl7-v2+er7", "MSH|^~\\&|" + id, id, "cb-" + channel + "-" + id);
    }

    @Test
    void appendReadAndMarkRoundTrip() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        long a = get(s.append(msg("adt", "A")));
        long b = get(s.append(msg("adt", "B")));
        assertTrue(b > a, "ids grow with arrival");

        List<StoredMessage> page = get(s.pending("adt", 0, 10));
        assertEquals(2, page.size());
        StoredMessage first = page.get(0);
        assertEquals(new StoredMessage(a, "adt", "10.0.0.7:5000", "x-application/hl7-v2+er7", "MSH|^~\\&|A", "A", "cb-adt-A",
                MessageState.QUEUED, 0, clock.get()), first);

        get(s.markInflight(a, 1));
        assertEquals(MessageState.INFLIGHT, get(s.pending("adt", 0, 10)).get(0).state());
        assertEquals(1, get(s.pending("adt", 0, 10)).get(0).attempts());
        get(s.markDelivered(a, 200, "MSH|ack"));
        get(s.markFailed(b, "Server error 400: bad"));
        assertTrue(get(s.pending("adt", 0, 10)).isEmpty());

        QueueStats st = get(s.stats());
        assertEquals(1L, st.countsByState().get(MessageState.PROCESSED));
        assertEquals(1L, st.countsByState().get(MessageState.FAILED));
        assertEquals(0L, st.countsByState().get(MessageState.QUEUED));
        assertEquals(-1L, st.channels().get("adt").oldestQueuedAt());
        assertTrue(st.dbSizeBytes() > 0);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("q.sqlite"));
             Statement q = c.createStatement()) {
            var rs = q.executeQuery("SELECT server_status, server_body, processed_at FROM messages WHERE id=" + a);
            assertTrue(rs.next());
            assertEquals(200, rs.getInt(1));
            assertEquals("MSH|ack", rs.getString(2));
            var j = q.executeQuery("PRAGMA journal_mode");
            assertEquals("wal", j.getString(1));
        }
    }

    @Test
    void concurrentAppendsShareCommits() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        get(s.append(msg("warm", "0")));
        long before = s.commitCount();
        int threads = 16, perThread = 25;
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Long>> all = new ArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int tt = t;
            Thread th = new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        // Each producer waits for durability before its next message, like a device awaiting its ACK.
                        s.append(msg("ch" + tt, tt + "-" + i)).toCompletableFuture().get(10, TimeUnit.SECONDS);
                    }
                } catch (Exception e) {
                    CompletableFuture<Long> f = new CompletableFuture<>();
                    f.completeExceptionally(e);
                    synchronized (all) {
                        all.add(f);
                    }
                }
            });
            th.start();
            ts.add(th);
        }
        go.countDown();
        for (Thread th : ts) th.join(30_000);
        for (CompletableFuture<Long> f : all) get(f); // rethrows any failure
        long commits = s.commitCount() - before;
        int n = threads * perThread;
        assertEquals(n, get(s.stats()).countsByState().get(MessageState.QUEUED) - 1);
        assertTrue(commits < n / 2, "expected group commit: " + commits + " commits for " + n + " appends");
    }

    @Test
    void pendingPagesInFifoOrderPerChannel() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        for (int i = 0; i < 25; i++) {
            s.append(msg("adt", "A" + i));
            s.append(msg("orm", "O" + i));
        }
        get(s.append(msg("adt", "last")));
        List<String> seen = new ArrayList<>();
        long cursor = 0;
        int pages = 0;
        while (true) {
            List<StoredMessage> page = get(s.pending("adt", cursor, 10));
            if (page.isEmpty()) break;
            assertTrue(page.size() <= 10);
            pages++;
            for (StoredMessage m : page) {
                assertEquals("adt", m.channel());
                seen.add(m.messageId());
                cursor = m.id();
            }
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 25; i++) expected.add("A" + i);
        expected.add("last");
        assertEquals(expected, seen);
        assertEquals(3, pages);
        assertEquals(Set.of("adt", "orm"), get(s.channelsWithPending()));
    }

    @Test
    void reopenKeepsPendingMessages() throws Exception {
        Path p = dir.resolve("q.sqlite");
        SqliteMessageStore s = open(p);
        long a = get(s.append(msg("adt", "A")));
        long b = get(s.append(msg("adt", "B")));
        get(s.append(msg("adt", "C")));
        get(s.markInflight(a, 1));
        get(s.markDelivered(b, 200, "ack"));
        s.close();

        SqliteMessageStore again = open(p);
        List<StoredMessage> page = get(again.pending("adt", 0, 10));
        assertEquals(List.of("A", "C"), page.stream().map(StoredMessage::messageId).toList());
        assertEquals(MessageState.INFLIGHT, page.get(0).state(), "an interrupted send stays visible as such");
        long d = get(again.append(msg("adt", "D")));
        assertTrue(d > page.get(1).id(), "ids keep growing after a restart");
    }

    @Test
    void appendsQueuedBeforeCloseAreWritten() throws Exception {
        Path p = dir.resolve("q.sqlite");
        SqliteMessageStore s = open(p);
        List<CompletableFuture<Long>> fs = new ArrayList<>();
        for (int i = 0; i < 50; i++) fs.add(s.append(msg("adt", "M" + i)).toCompletableFuture());
        s.close();
        for (CompletableFuture<Long> f : fs) assertTrue(f.isDone());
        for (CompletableFuture<Long> f : fs) get(f);
        ExecutionException closed = assertThrows(ExecutionException.class, () -> get(s.append(msg("adt", "late"))));
        assertTrue(closed.getCause().getMessage().contains("closed"), closed.getCause().getMessage());
        assertEquals(50, get(open(p).pending("adt", 0, 100)).size());
    }

    @Test
    void unwritableDirectoryFailsClearlyAndRecovers() throws Exception {
        // Tests may run as root, where permissions do not stop writes: a file where the directory should be does.
        Path blocker = dir.resolve("queue-dir");
        Files.writeString(blocker, "not a directory");
        SqliteMessageStore s = open(blocker.resolve("q.sqlite"));
        ExecutionException e = assertThrows(ExecutionException.class, () -> get(s.append(msg("adt", "MSG1"))));
        String text = e.getCause().getMessage();
        assertTrue(text.contains("could not store message from channel 'adt' (message MSG1)"), text);
        assertTrue(text.contains("cannot create directory " + blocker), text);

        Files.delete(blocker);
        long id = get(s.append(msg("adt", "MSG2")));
        assertEquals(List.of(id), get(s.pending("adt", 0, 10)).stream().map(StoredMessage::id).toList());
    }

    @Test
    void unopenableDatabaseFileFailsClearlyAndRecovers() throws Exception {
        Path p = dir.resolve("q.sqlite");
        Files.createDirectories(p); // a directory where the database file should be
        SqliteMessageStore s = open(p);
        ExecutionException e = assertThrows(ExecutionException.class, () -> get(s.append(msg("adt", "MSG1"))));
        String text = e.getCause().getMessage();
        assertTrue(text.startsWith("Durable queue " + p + " could not store message from channel 'adt' (message MSG1): "), text);

        Files.delete(p);
        get(s.append(msg("adt", "MSG2")));
        assertEquals(1, get(s.pending("adt", 0, 10)).size());
    }

    @Test
    void newerSchemaIsRefused() throws Exception {
        Path p = dir.resolve("q.sqlite");
        SqliteMessageStore s = open(p);
        get(s.append(msg("adt", "A")));
        s.close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + p); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO _schema(version, applied_at) VALUES (99, 0)");
        }
        ExecutionException e = assertThrows(ExecutionException.class, () -> get(open(p).append(msg("adt", "B"))));
        assertTrue(e.getCause().getMessage().contains("schema version 99 is newer than this agent supports"), e.getCause().getMessage());
    }

    @Test
    void retentionSweepDeletesOldSettledRowsOnly() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        long old = get(s.append(msg("adt", "OLD")));
        long oldFailed = get(s.append(msg("adt", "OLDFAIL")));
        long pendingOld = get(s.append(msg("adt", "PENDING")));
        get(s.markDelivered(old, 200, "ack"));
        get(s.markFailed(oldFailed, "Server error 400"));
        clock.addAndGet(TimeUnit.DAYS.toMillis(6));
        long recent = get(s.append(msg("adt", "RECENT")));
        get(s.markDelivered(recent, 200, "ack"));
        clock.addAndGet(TimeUnit.DAYS.toMillis(2)); // OLD is 8 days old, RECENT 2 days

        assertEquals(1L, get(s.sweep()));
        QueueStats st = get(s.stats());
        assertEquals(Map.of(MessageState.QUEUED, 1L, MessageState.INFLIGHT, 0L, MessageState.PROCESSED, 1L,
                MessageState.FAILED, 1L), st.countsByState(), "failed rows are kept for queueErroredRetentionDays");
        assertEquals(1L, st.lastSweepDeleted());
        assertEquals(clock.get(), st.lastSweepAt());
        assertEquals(pendingOld, get(s.pending("adt", 0, 10)).get(0).id());

        clock.addAndGet(TimeUnit.DAYS.toMillis(90));
        assertEquals(2L, get(s.sweep()));
        assertEquals(1, get(s.pending("adt", 0, 10)).size(), "pending rows are never swept");
    }

    @Test
    void sizeCapDeletesSettledRowsAndWarns() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        s.setRetention(new SqliteMessageStore.Retention(7, 90, 64 * 1024));
        String big = "x".repeat(2000);
        List<CompletableFuture<Long>> ids = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            ids.add(s.append(new NewMessage("adt", "r", "t", big, "M" + i, "cb" + i)).toCompletableFuture());
        }
        for (int i = 0; i < 90; i++) s.markDelivered(get(ids.get(i)), 200, "ack");
        long deleted = get(s.sweep());
        assertTrue(deleted > 0 && deleted <= 90, "deleted " + deleted);
        assertEquals(10, get(s.pending("adt", 0, 100)).size(), "pending rows survive the cap");
    }

    @Test
    void duplicatesAreFoundWhilePendingOrRecentlyProcessedButNotWhenFailedOrExpired() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        long a = get(s.append(msg("adt", "A")));
        PriorMessage p = get(s.findActiveOrRecent("adt", "A")).orElseThrow();
        assertEquals(a, p.message().id());
        assertEquals(MessageState.QUEUED, p.message().state());
        assertEquals(-1, p.statusCode());
        assertNull(p.responseBody());
        assertEquals(Optional.empty(), get(s.findActiveOrRecent("orm", "A")), "per channel");

        get(s.markDelivered(a, 200, "MSH|ACK-A"));
        p = get(s.findActiveOrRecent("adt", "A")).orElseThrow();
        assertEquals(MessageState.PROCESSED, p.message().state());
        assertEquals(200, p.statusCode());
        assertEquals("MSH|ACK-A", p.responseBody());

        clock.addAndGet(TimeUnit.DAYS.toMillis(7) + 1); // past queueRetentionDays, not yet swept
        assertEquals(Optional.empty(), get(s.findActiveOrRecent("adt", "A")));

        long b = get(s.append(msg("adt", "B")));
        get(s.markFailed(b, "server answered 400"));
        assertEquals(Optional.empty(), get(s.findActiveOrRecent("adt", "B")), "a failed message may be sent again");
    }

    @Test
    void appendUnlessDuplicateIsAtomicForConcurrentCopies() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        List<CompletableFuture<Intake>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            // Same channel and MSH-10, distinct callbacks: submitted together, so they land in one transaction.
            all.add(s.appendUnlessDuplicate(new NewMessage("adt", "r", "t", "MSH|^~\\&|X", "X", "cb" + i)).toCompletableFuture());
        }
        long stored = 0;
        for (CompletableFuture<Intake> f : all) {
            Intake in = get(f);
            if (!in.isDuplicate()) stored++;
            else assertEquals("cb0", in.duplicateOf().message().callbackId());
        }
        assertEquals(1, stored);
        assertEquals(1, get(s.pending("adt", 0, 100)).size());
        Intake noId = get(s.appendUnlessDuplicate(new NewMessage("adt", "r", "t", "body", null, "cb-null-1")));
        Intake noId2 = get(s.appendUnlessDuplicate(new NewMessage("adt", "r", "t", "body", null, "cb-null-2")));
        assertFalse(noId.isDuplicate() || noId2.isDuplicate(), "messages without an id are never duplicates");
    }

    @Test
    void version1DatabaseIsMigratedAndTheLookupUsesTheIndex() throws Exception {
        Path p = dir.resolve("q.sqlite");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + p)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                // What the first release created: schema 1 only.
                st.executeUpdate("CREATE TABLE _schema(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
                st.executeUpdate("CREATE TABLE messages( id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, remote TEXT,"
                        + " content_type TEXT, body TEXT NOT NULL, message_id TEXT, callback_id TEXT NOT NULL UNIQUE,"
                        + " state TEXT NOT NULL CHECK (state IN ('queued','inflight','processed','failed')),"
                        + " attempt_count INTEGER NOT NULL DEFAULT 0, server_status INTEGER, server_body TEXT, last_error TEXT,"
                        + " received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, processed_at INTEGER)");
                st.executeUpdate("INSERT INTO _schema VALUES (1, 0)");
                st.executeUpdate("INSERT INTO messages(channel, body, message_id, callback_id, state, received_at, updated_at)"
                        + " VALUES ('adt', 'MSH|old', 'OLD', 'cb-old', 'queued', 0, 0)");
                // Ids 2..5 were handed out and deleted: AUTOINCREMENT remembered 5, the ids must not come back.
                for (int i = 2; i <= 5; i++) {
                    st.executeUpdate("INSERT INTO messages(channel, body, callback_id, state, received_at, updated_at)"
                            + " VALUES ('adt', 'MSH|gone', 'cb-gone-" + i + "', 'processed', 0, 0)");
                }
                st.executeUpdate("DELETE FROM messages WHERE id > 1");
            }
            c.commit();
        }
        SqliteMessageStore s = open(p);
        assertTrue(get(s.appendUnlessDuplicate(msg("adt", "OLD"))).isDuplicate(), "rows from before the migration count");
        assertEquals(6, get(s.append(msg("adt", "NEW"))), "ids continue above the old AUTOINCREMENT high-water mark");
        assertEquals(List.of(1L, 6L), get(s.pending("adt", 0, 10)).stream().map(StoredMessage::id).toList());
        s.close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + p); Statement st = c.createStatement()) {
            assertEquals(SqliteMessageStore.SCHEMA_VERSION, st.executeQuery("SELECT MAX(version) FROM _schema").getInt(1));
            String ddl = st.executeQuery("SELECT sql FROM sqlite_master WHERE name='messages'").getString(1);
            assertFalse(ddl.contains("AUTOINCREMENT") || ddl.contains("UNIQUE"), ddl);
            var idx = st.executeQuery("SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type='index'"
                    + " AND tbl_name='messages' ORDER BY name)");
            assertEquals("messages_msgid,messages_pending,messages_settled_at", idx.getString(1));
            var plan = st.executeQuery("EXPLAIN QUERY PLAN SELECT id FROM messages WHERE channel='adt' AND message_id='OLD'"
                    + " AND (state IN ('queued','inflight') OR (state='processed' AND processed_at>=0)) ORDER BY id DESC LIMIT 1");
            StringBuilder sb = new StringBuilder();
            while (plan.next()) sb.append(plan.getString(4)).append('\n');
            assertTrue(sb.toString().contains("messages_msgid"), sb.toString());
        }
    }

    @Test
    void idsAreNeverHandedOutTwiceEvenAfterTheNewestRowsAreDeleted() throws Exception {
        Path p = dir.resolve("q.sqlite");
        SqliteMessageStore s = open(p);
        long a = get(s.append(msg("adt", "A")));
        long b = get(s.append(msg("adt", "B")));
        get(s.markDelivered(a, 200, "MSA|AA"));
        get(s.markDelivered(b, 200, "MSA|AA"));
        clock.addAndGet(TimeUnit.DAYS.toMillis(8));
        assertEquals(2L, get(s.sweep()), "the retention sweep deleted every row, the newest included");
        long c = get(s.append(msg("adt", "C")));
        assertEquals(b + 1, c);
        get(s.markFailed(c, "refused"));
        assertEquals(1, get(s.discard(c)));
        s.close();
        // Reopened with an empty table: the high-water mark, not MAX(id), says where ids continue.
        SqliteMessageStore again = open(p);
        assertEquals(c + 1, get(again.append(msg("adt", "D"))));
    }

    @Test
    void newDatabaseHasTheLeanSchemaAndTheSweepUsesItsIndex() throws Exception {
        Path p = dir.resolve("q.sqlite");
        SqliteMessageStore s = open(p);
        get(s.append(msg("adt", "A")));
        s.close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + p); Statement st = c.createStatement()) {
            assertEquals(SqliteMessageStore.SCHEMA_VERSION, st.executeQuery("SELECT COUNT(*) FROM _schema").getInt(1));
            assertEquals(0, st.executeQuery("SELECT COUNT(*) FROM sqlite_master WHERE name='sqlite_sequence'"
                    + " OR name LIKE 'sqlite_autoindex_messages%'").getInt(1), "no AUTOINCREMENT, no UNIQUE index");
            var plan = st.executeQuery("EXPLAIN QUERY PLAN DELETE FROM messages WHERE state='processed' AND processed_at<5");
            StringBuilder sb = new StringBuilder();
            while (plan.next()) sb.append(plan.getString(4)).append('\n');
            assertTrue(sb.toString().contains("messages_settled_at"), sb.toString());
        }
    }

    @Test
    void checkpointsRunBetweenBatchesAndKeepTheLogBounded() throws Exception {
        Path p = dir.resolve("q.sqlite");
        SqliteMessageStore s = open(p);
        assertEquals(0L, get(s.pragma("wal_autocheckpoint")), "no checkpoint inside an append's commit");
        long before = s.checkpointCount();
        get(s.append(msg("adt", "A")));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (s.checkpointCount() == before && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(s.checkpointCount() > before, "an idle writer checkpoints");

        // About 3x the checkpoint threshold in one go: the log must not grow with it.
        String body = "MSH|^~\\&|" + "x".repeat(16 * 1024);
        long maxWal = 0;
        for (int round = 0; round < 12; round++) {
            List<CompletableFuture<Long>> batch = new ArrayList<>();
            for (int i = 0; i < 250; i++) {
                batch.add(s.append(new NewMessage("adt", null, null, body, null, "cb-" + round + "-" + i)).toCompletableFuture());
            }
            for (CompletableFuture<Long> f : batch) f.get(30, TimeUnit.SECONDS);
            maxWal = Math.max(maxWal, Files.size(Path.of(p + "-wal")));
        }
        // ~50 MB are written in all; one batch (~4 MB) past the threshold is the most the log may hold.
        assertTrue(maxWal < 2 * SqliteMessageStore.CHECKPOINT_WAL_BYTES,
                "WAL reached " + maxWal + " bytes");
        assertEquals(3001, get(s.pending("adt", 0, 5000)).size());

        // The log file keeps its size after a checkpoint (SQLite reuses it from the start): small commits that follow
        // must not each be taken for a full log and checkpointed.
        long checkpointsBefore = s.checkpointCount();
        for (int i = 0; i < 200; i++) {
            get(s.append(msg("adt", "small-" + i)));
        }
        long extra = s.checkpointCount() - checkpointsBefore;
        assertTrue(extra <= 3, "200 small appends after the log was full once caused " + extra + " checkpoints");
    }

    @Test
    void onlyBatchesWithAppendsAreCommittedWithFsync() throws Exception {
        SqliteMessageStore s = open(dir.resolve("q.sqlite"));
        assertEquals(2, get(s.synchronousInBatch(true)), "an append's batch runs with synchronous=FULL");
        assertEquals(1, get(s.synchronousInBatch(false)), "a state-only batch runs with synchronous=NORMAL");
        assertEquals(2, get(s.synchronousInBatch(true)), "FULL is restored for the next append");

        long full = s.fullCommitCount();
        long all = s.commitCount();
        long id = get(s.append(msg("adt", "A")));
        assertEquals(full + 1, s.fullCommitCount(), "an append is committed with fsync");
        assertEquals(all + 1, s.commitCount());

        get(s.markInflight(id, 1));
        get(s.requeue(id, "link lost"));
        get(s.markInflight(id, 2));
        get(s.markDelivered(id, 200, "MSA|AA"));
        get(s.pending("adt", 0, 10));
        assertEquals(all + 6, s.commitCount());
        assertEquals(full + 1, s.fullCommitCount(), "state marks and reads commit without their own fsync");

        // Appends mixed with marks, submitted together: every batch that holds an append is a FULL one.
        List<CompletableFuture<Long>> appends = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            appends.add(s.append(msg("adt", "M" + i)).toCompletableFuture());
            s.markDelivered(id, 200, "MSA|AA");
        }
        for (CompletableFuture<Long> f : appends) f.get(10, TimeUnit.SECONDS);
        assertTrue(s.fullCommitCount() > full + 1);
        assertEquals(2, get(s.synchronousInBatch(true)));
        assertEquals(MessageState.PROCESSED, get(s.get(id)).orElseThrow().message().state());
    }
}
