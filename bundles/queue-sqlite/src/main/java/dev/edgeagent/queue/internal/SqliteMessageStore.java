package dev.edgeagent.queue.internal;

import dev.edgeagent.api.queue.Intake;
import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.queue.NewMessage;
import dev.edgeagent.api.queue.QueueAdmin;
import dev.edgeagent.api.queue.PriorMessage;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * {@link MessageStore} on one SQLite file (WAL, {@code synchronous=FULL}: a commit survives power loss).
 * Only batches holding an append (or an operator action) pay for that fsync; batches of dispatcher bookkeeping
 * and reads commit with {@code synchronous=NORMAL}, and marks linger briefly to share the next commit, so delivery
 * does not starve intake (see {@link Kind}).
 * <p>
 * Every operation, reads included, runs on one writer thread that owns the only connection: it drains
 * whatever is waiting, applies it in one transaction, commits once (one fsync) and only then completes the
 * callers' stages — group commit. Owning the connection on one thread also makes recovery simple: any SQL
 * failure fails the whole batch with the reason, closes the connection, and the next batch reopens it (so a
 * full disk or a read-only directory heals by itself once fixed). The operation queue is bounded: when the
 * disk cannot keep up, callers are refused at once instead of piling up memory.
 */
final class SqliteMessageStore implements MessageStore, QueueAdmin, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SqliteMessageStore.class);
    static final int SCHEMA_VERSION = 3;
    static final int MAX_WAITING_OPS = 20_000;
    static final int MAX_BATCH = 2_000;

    /** Retention settings, changeable while running. */
    record Retention(int processedDays, int erroredDays, long maxBytes) {
        static final Retention DEFAULT = new Retention(7, 90, 512L * 1024 * 1024);
    }

    private interface Op {
        Kind kind();

        void apply(Connection c) throws SQLException;

        void succeed();

        void fail(Exception e);

        /** What this op is expected to add to the write-ahead log: pages touched plus the text it stores. */
        long walBytes();
    }

    private final Path dbPath;
    private final LongSupplier clock;
    private final BlockingQueue<Op> ops = new ArrayBlockingQueue<>(MAX_WAITING_OPS);
    private final Thread writer;
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong fullCommits = new AtomicLong();
    private volatile Retention retention = Retention.DEFAULT;
    private volatile boolean closed;
    private volatile long lastSweepAt = -1;
    private volatile long lastSweepDeleted = -1;
    private volatile boolean sizeWarned;
    private Connection conn; // writer thread only
    /**
     * Id of the next appended row; writer thread only. Read when the connection opens as one above both the highest
     * id present and the high-water mark kept in {@code _meta} by every delete, so ids only ever grow.
     */
    private long nextId;
    private long appends; // writer thread only: appends applied, for the activity summary
    private final AtomicLong checkpoints = new AtomicLong();
    private final AtomicLong committedOps = new AtomicLong();
    private final AtomicLong committedAppends = new AtomicLong();
    /** Hot statements compiled once per connection (preparing costs more than running them). Writer thread only. */
    private final Map<String, PreparedStatement> statements = new java.util.HashMap<>();
    private boolean connFull; // the connection's current synchronous mode; writer thread only

    SqliteMessageStore(Path dbPath, LongSupplier clock) {
        this.dbPath = dbPath.toAbsolutePath();
        this.clock = clock;
        this.writer = new Thread(this::writeLoop, "edgeagent-queue-writer");
        writer.setDaemon(true);
        writer.start();
    }

    SqliteMessageStore(Path dbPath) {
        this(dbPath, System::currentTimeMillis);
    }

    Path path() {
        return dbPath;
    }

    void setRetention(Retention r) {
        retention = r;
    }

    /** Transactions committed so far (group-commit evidence for tests and benchmarks). */
    long commitCount() {
        return commits.get();
    }

    /** Commits made with {@code synchronous=FULL} (those holding an append); the rest skipped the fsync. */
    long fullCommitCount() {
        return fullCommits.get();
    }

    /** Checkpoints the writer ran between batches (SQLite's automatic one is off). */
    long checkpointCount() {
        return checkpoints.get();
    }

    /** Evidence for tests: a PRAGMA's value as the writer's connection sees it. */
    CompletionStage<Long> pragma(String name) {
        return submit(READ, "read PRAGMA " + name, c -> {
            try (Statement st = c.createStatement()) {
                return single(st, "PRAGMA " + name);
            }
        });
    }

    /**
     * The {@code PRAGMA synchronous} value (2 = FULL, 1 = NORMAL) in effect for a batch holding one op of the
     * given kind, read inside that batch: evidence for tests that the mode switch reaches SQLite.
     */
    CompletionStage<Integer> synchronousInBatch(boolean durable) {
        return submit(durable ? DURABLE : READ, "read the synchronous mode", c -> {
            try (Statement st = c.createStatement()) {
                return (int) single(st, "PRAGMA synchronous");
            }
        });
    }

    // ------------------------------------------------------------------ MessageStore

    @Override
    public CompletionStage<Long> append(NewMessage m) {
        long now = clock.getAsLong();
        return submit(DURABLE, "store message " + describe(m), appendWalBytes(m), c -> insert(this, c, m, now));
    }

    @Override
    public CompletionStage<Intake> appendUnlessDuplicate(NewMessage m) {
        long now = clock.getAsLong();
        // One op on the single writer thread: no other insert can slip between the lookup and the insert.
        return submit(DURABLE, "store message " + describe(m), appendWalBytes(m), c -> {
            PriorMessage prior = m.messageId() == null ? null : findPrior(c, m.channel(), m.messageId(), now);
            return prior != null ? Intake.duplicate(prior) : Intake.stored(insert(this, c, m, now));
        });
    }

    @Override
    public CompletionStage<Optional<PriorMessage>> findActiveOrRecent(String channel, String messageId) {
        long now = clock.getAsLong();
        return submit(READ, "look up message " + messageId + " of channel '" + channel + "'",
                c -> Optional.ofNullable(findPrior(c, channel, messageId, now)));
    }

    private PriorMessage findPrior(Connection c, String channel, String messageId, long now) throws SQLException {
        PreparedStatement ps = cached(c, "SELECT id, channel, remote, content_type, body, message_id,"
                + " callback_id, state, attempt_count, received_at, server_status, server_body FROM messages"
                + " WHERE channel=? AND message_id=? AND (state IN ('queued','inflight')"
                + " OR (state='processed' AND processed_at>=?)) ORDER BY id DESC LIMIT 1");
        {
            ps.setString(1, channel);
            ps.setString(2, messageId);
            ps.setLong(3, now - TimeUnit.DAYS.toMillis(retention.processedDays()));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return null;
                StoredMessage sm = new StoredMessage(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getString(7), MessageState.ofLabel(rs.getString(8)),
                        rs.getInt(9), rs.getLong(10));
                int status = rs.getInt(11);
                if (rs.wasNull()) status = -1;
                return new PriorMessage(sm, status, rs.getString(12));
            }
        }
    }

    private static long insert(SqliteMessageStore s, Connection c, NewMessage m, long now) throws SQLException {
        PreparedStatement ps = s.cached(c, "INSERT INTO messages(id, channel, remote, content_type, body,"
                + " message_id, callback_id, state, attempt_count, received_at, updated_at) VALUES (?,?,?,?,?,?,?,'queued',0,?,?)");
        // Ids come from the writer's counter (see nextId): no AUTOINCREMENT bookkeeping row to rewrite per commit, and
        // no id is ever handed out twice, even after the newest rows were deleted.
        long id = s.nextId;
        ps.setLong(1, id);
        ps.setString(2, m.channel());
        ps.setString(3, m.remote());
        ps.setString(4, m.contentType());
        ps.setString(5, m.body());
        ps.setString(6, m.messageId());
        ps.setString(7, m.callbackId());
        ps.setLong(8, now);
        ps.setLong(9, now);
        ps.executeUpdate();
        s.nextId = id + 1; // only once the row is in: a failed insert leaves the counter where it was
        s.appends++;
        return id;
    }

    @Override
    public CompletionStage<Void> markInflight(long id, int attempts) {
        return update("mark message " + id + " inflight",
                "UPDATE messages SET state='inflight', attempt_count=?, updated_at=? WHERE id=?", attempts, id);
    }

    @Override
    public CompletionStage<Void> requeue(long id, String reason) {
        return update("requeue message " + id,
                "UPDATE messages SET state='queued', last_error=?, updated_at=? WHERE id=?", reason, id);
    }

    @Override
    public CompletionStage<Void> markDelivered(long id, int statusCode, String responseBody) {
        long now = clock.getAsLong();
        return submit(MARK, "mark message " + id + " processed",
                2L * WAL_PAGE + (responseBody == null ? 0 : responseBody.length()), c -> {
            PreparedStatement ps = cached(c, "UPDATE messages SET state='processed', server_status=?,"
                    + " server_body=?, updated_at=?, processed_at=? WHERE id=?");
            {
                ps.setInt(1, statusCode);
                ps.setString(2, responseBody);
                ps.setLong(3, now);
                ps.setLong(4, now);
                ps.setLong(5, id);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public CompletionStage<Void> markFailed(long id, String reason) {
        long now = clock.getAsLong();
        return submit(MARK, "mark message " + id + " failed", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE messages SET state='failed', last_error=?, updated_at=?, processed_at=? WHERE id=?")) {
                ps.setString(1, reason);
                ps.setLong(2, now);
                ps.setLong(3, now);
                ps.setLong(4, id);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public CompletionStage<List<StoredMessage>> pending(String channel, long afterId, int limit) {
        return submit(READ, "read pending messages of channel '" + channel + "'", c -> {
            // The WHERE clause repeats the partial index's condition word for word so SQLite uses it.
            PreparedStatement ps = cached(c, "SELECT id, channel, remote, content_type, body, message_id,"
                    + " callback_id, state, attempt_count, received_at FROM messages"
                    + " WHERE state IN ('queued','inflight') AND channel=? AND id>? ORDER BY id LIMIT ?");
            {
                ps.setString(1, channel);
                ps.setLong(2, afterId);
                ps.setInt(3, Math.max(1, limit));
                List<StoredMessage> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new StoredMessage(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getString(6), rs.getString(7), MessageState.ofLabel(rs.getString(8)),
                                rs.getInt(9), rs.getLong(10)));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public CompletionStage<Set<String>> channelsWithPending() {
        return submit(READ, "list channels with pending messages", c -> {
            Set<String> out = new LinkedHashSet<>();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT DISTINCT channel FROM messages WHERE state IN ('queued','inflight')")) {
                while (rs.next()) out.add(rs.getString(1));
            }
            return out;
        });
    }

    @Override
    public CompletionStage<QueueStats> stats() {
        return submit(READ, "read queue statistics", c -> {
            Map<MessageState, Long> total = zeroCounts();
            Map<String, Map<MessageState, Long>> perChannel = new TreeMap<>();
            Map<String, Long> oldest = new TreeMap<>();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT channel, state, COUNT(*), MIN(received_at) FROM messages GROUP BY channel, state")) {
                while (rs.next()) {
                    MessageState s = MessageState.ofLabel(rs.getString(2));
                    long n = rs.getLong(3);
                    total.merge(s, n, Long::sum);
                    perChannel.computeIfAbsent(rs.getString(1), k -> zeroCounts()).put(s, n);
                    if (s.isPending()) oldest.merge(rs.getString(1), rs.getLong(4), Math::min);
                }
            }
            Map<String, QueueStats.ChannelDepth> channels = new TreeMap<>();
            perChannel.forEach((ch, counts) -> channels.put(ch, new QueueStats.ChannelDepth(counts, oldest.getOrDefault(ch, -1L))));
            return new QueueStats(diskBytes(), total, channels, lastSweepAt, lastSweepDeleted);
        });
    }

    @Override
    public CompletionStage<Long> sweep() {
        return submit(DURABLE, "retention sweep", this::sweep);
    }

    private static Map<MessageState, Long> zeroCounts() {
        Map<MessageState, Long> m = new EnumMap<>(MessageState.class);
        for (MessageState s : MessageState.values()) m.put(s, 0L);
        return m;
    }

    // ------------------------------------------------------------------ QueueAdmin

    private static final String ENTRY_COLUMNS = "id, channel, remote, content_type, body, message_id, callback_id, state,"
            + " attempt_count, received_at, updated_at, processed_at, server_status, server_body, last_error";
    /** Upper bound of one page of {@link #failed}, whatever the caller asks for. */
    static final int MAX_ADMIN_PAGE = 1000;

    @Override
    public CompletionStage<Optional<Entry>> get(long id) {
        return submit(READ, "read message " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + ENTRY_COLUMNS + " FROM messages WHERE id=?")) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(entry(rs)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public CompletionStage<List<Entry>> failed(String channel, long afterId, int limit) {
        Selection sel = Selection.failed(channel);
        return submit(READ, "list failed messages" + sel.label, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + ENTRY_COLUMNS + " FROM messages WHERE " + sel.where
                    + " AND id>? ORDER BY id LIMIT ?")) {
                int i = sel.bind(ps);
                ps.setLong(i++, afterId);
                ps.setInt(i, Math.max(1, Math.min(MAX_ADMIN_PAGE, limit)));
                List<Entry> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) out.add(entry(rs));
                }
                return out;
            }
        });
    }

    @Override
    public CompletionStage<Integer> retry(long id) {
        return retry(Selection.failed(id));
    }

    @Override
    public CompletionStage<Integer> retryAllFailed(String channel) {
        return retry(Selection.failed(channel));
    }

    @Override
    public CompletionStage<Integer> discard(long id) {
        return discard(Selection.failed(id));
    }

    @Override
    public CompletionStage<Integer> discardAllFailed(String channel) {
        return discard(Selection.failed(channel));
    }

    /** Which failed messages an admin operation applies to: one id, one channel, or all. */
    private record Selection(String where, Object arg, String label) {
        static Selection failed(long id) {
            return new Selection("state='failed' AND id=?", id, " (message " + id + ")");
        }

        static Selection failed(String channel) {
            return channel == null ? new Selection("state='failed'", null, "")
                    : new Selection("state='failed' AND channel=?", channel, " of channel '" + channel + "'");
        }

        /** Binds the selection's parameter; returns the next parameter index. */
        int bind(PreparedStatement ps) throws SQLException {
            if (arg == null) return 1;
            ps.setObject(1, arg);
            return 2;
        }
    }

    private CompletionStage<Integer> retry(Selection sel) {
        long now = clock.getAsLong();
        CompletionStage<Integer> done = submit(DURABLE, "requeue failed messages" + sel.label, c -> {
            audit(c, sel, "requeued by an operator");
            // The attempt count restarts, so the retry policy (e.g. channelAutoRetryMaxAttempts) applies afresh.
            try (PreparedStatement ps = c.prepareStatement("UPDATE messages SET state='queued', attempt_count=0,"
                    + " processed_at=NULL, updated_at=? WHERE " + sel.where)) {
                ps.setLong(1, now);
                if (sel.arg != null) ps.setObject(2, sel.arg);
                return ps.executeUpdate();
            }
        });
        return done.whenComplete((n, e) -> {
            if (e == null && n > 0) LOG.info("Durable queue: {} failed message(s){} requeued by an operator", n, sel.label);
        });
    }

    private CompletionStage<Integer> discard(Selection sel) {
        CompletionStage<Integer> done = submit(DURABLE, "discard failed messages" + sel.label, c -> {
            audit(c, sel, "discarded by an operator");
            keepHighWater(c);
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM messages WHERE " + sel.where)) {
                sel.bind(ps);
                return ps.executeUpdate();
            }
        });
        return done.whenComplete((n, e) -> {
            if (e == null && n > 0) LOG.info("Durable queue: {} failed message(s){} discarded by an operator", n, sel.label);
        });
    }

    /**
     * One log line per affected message, streamed from the database so a large selection needs no memory. They
     * are written inside the transaction: the summary line logged after the commit confirms them; without it
     * (the operator also sees the error) nothing was changed.
     */
    private void audit(Connection c, Selection sel, String what) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, channel, message_id, callback_id, attempt_count, last_error"
                + " FROM messages WHERE " + sel.where + " ORDER BY id")) {
            sel.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    LOG.info("[{}] Durable queue: message {} (message id {}, callback {}) {}; it had failed after {} attempt(s): {}",
                            rs.getString(2), rs.getLong(1), rs.getString(3), rs.getString(4), what, rs.getInt(5), rs.getString(6));
                }
            }
        }
    }

    private static Entry entry(ResultSet rs) throws SQLException {
        StoredMessage m = new StoredMessage(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                rs.getString(6), rs.getString(7), MessageState.ofLabel(rs.getString(8)), rs.getInt(9), rs.getLong(10));
        long processedAt = rs.getLong(12);
        if (rs.wasNull()) processedAt = -1;
        int status = rs.getInt(13);
        if (rs.wasNull()) status = -1;
        return new Entry(m, rs.getLong(11), processedAt, status, rs.getString(14), rs.getString(15));
    }

    // ------------------------------------------------------------------ retention

    private long sweep(Connection c) throws SQLException {
        Retention r = retention;
        long now = clock.getAsLong();
        long deleted = 0;
        keepHighWater(c);
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM messages WHERE state=? AND processed_at<?")) {
            ps.setString(1, MessageState.PROCESSED.label());
            ps.setLong(2, now - TimeUnit.DAYS.toMillis(r.processedDays()));
            deleted += ps.executeUpdate();
            ps.setString(1, MessageState.FAILED.label());
            ps.setLong(2, now - TimeUnit.DAYS.toMillis(r.erroredDays()));
            deleted += ps.executeUpdate();
        }
        // Size cap: settled rows go oldest first; pending rows are never deleted (they are owed to the server).
        long used = usedBytes(c);
        while (used > r.maxBytes()) {
            int n;
            try (Statement st = c.createStatement()) {
                n = st.executeUpdate("DELETE FROM messages WHERE id IN (SELECT id FROM messages"
                        + " WHERE state IN ('processed','failed') ORDER BY id LIMIT 1000)");
            }
            if (n == 0) break;
            deleted += n;
            used = usedBytes(c);
        }
        long mb = 1024 * 1024;
        if (used > r.maxBytes()) {
            LOG.warn("Durable queue {} holds {} MB of undelivered messages, above queueRetentionMaxMb={}; nothing pending is"
                    + " deleted, but the disk may fill up", dbPath, used / mb, r.maxBytes() / mb);
            sizeWarned = true;
        } else if (used >= r.maxBytes() * 8 / 10) {
            LOG.warn("Durable queue {} is at {} % of queueRetentionMaxMb={} ({} MB used)", dbPath, used * 100 / r.maxBytes(),
                    r.maxBytes() / mb, used / mb);
            sizeWarned = true;
        } else if (sizeWarned) {
            LOG.info("Durable queue {} is back under 80 % of queueRetentionMaxMb ({} MB used)", dbPath, used / mb);
            sizeWarned = false;
        }
        lastSweepAt = now;
        lastSweepDeleted = deleted;
        if (deleted > 0) LOG.info("Durable queue retention sweep deleted {} settled message(s)", deleted);
        return deleted;
    }

    /** Pages in use (the file does not shrink when rows are deleted; free pages are reused). */
    private static long usedBytes(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            long pages = single(st, "PRAGMA page_count");
            long free = single(st, "PRAGMA freelist_count");
            long size = single(st, "PRAGMA page_size");
            return (pages - free) * size;
        }
    }

    private static long single(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    private long diskBytes() {
        long n = 0;
        for (String suffix : new String[] {"", "-wal"}) {
            try {
                n += Files.size(Path.of(dbPath + suffix));
            } catch (IOException e) {
                // absent WAL is normal
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ the writer

    private interface Work<T> {
        T apply(Connection c) throws SQLException;
    }

    /**
     * Ops kind: appends and operator actions are committed with {@code synchronous=FULL} (fsync before their stage
     * completes). Dispatcher bookkeeping and reads are not: losing a state mark in a crash only means the message
     * is sent once more (at least once, same MSH-10), and in WAL mode the next FULL commit syncs the log up to
     * and including every earlier commit anyway.
     */
    private enum Kind {
        /** The caller relies on the change surviving power loss once its stage completes. */
        DURABLE,
        /** Bookkeeping nobody waits for: may linger up to {@link #MARK_LINGER_NANOS} to share the next commit. */
        MARK,
        /** Its caller waits for the result: run at once, no fsync needed. */
        READ
    }

    private static final Kind DURABLE = Kind.DURABLE;
    private static final Kind MARK = Kind.MARK;
    private static final Kind READ = Kind.READ;
    static final long MARK_LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /**
     * SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 log pages, i.e. on an append's path
     * to its CA, and syncs the database file there. It is off; the writer checkpoints between batches instead: when
     * idle, and under sustained load whenever the log passes this size (so it stays bounded). Pages rewritten by
     * many commits (index tails, the table's last page) are then copied once per checkpoint, not once per 1,000.
     */
    static final long CHECKPOINT_WAL_BYTES = 16L * 1024 * 1024;
    /**
     * The log's size on disk says nothing about how much of it is in use: after a checkpoint SQLite rewrites the
     * log from its start without shrinking the file. So what was committed since the last checkpoint is estimated
     * from the ops (generously: each op is charged whole pages plus its text).
     */
    private static final long WAL_PAGE = 4096;
    private long walEstimate; // writer thread only: estimated log bytes since the last checkpoint
    /** Page cache of the one connection (KiB): the hot index pages of a deep queue stay in memory; bounded. */
    static final int CACHE_KIB = 8 * 1024;
    private static final long SUMMARY_NANOS = TimeUnit.SECONDS.toNanos(10);

    private PreparedStatement cached(Connection c, String sql) throws SQLException {
        PreparedStatement ps = statements.get(sql);
        if (ps == null) {
            ps = c.prepareStatement(sql);
            statements.put(sql, ps);
        }
        return ps;
    }

    private CompletionStage<Void> update(String what, String sql, Object first, long id) {
        long now = clock.getAsLong();
        return submit(MARK, what, c -> {
            PreparedStatement ps = cached(c, sql);
            {
                ps.setObject(1, first);
                ps.setLong(2, now);
                ps.setLong(3, id);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** A row's leaf page, its index entries, and the text (long texts spill into overflow pages). */
    private static long appendWalBytes(NewMessage m) {
        return 3L * WAL_PAGE + m.body().length();
    }

    private <T> CompletionStage<T> submit(Kind kind, String what, Work<T> work) {
        return submit(kind, what, kind == READ ? 0 : 2L * WAL_PAGE, work);
    }

    private <T> CompletionStage<T> submit(Kind kind, String what, long walBytes, Work<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (closed) {
            f.completeExceptionally(new IllegalStateException("Durable queue is closed; cannot " + what));
            return f;
        }
        Op op = new Op() {
            T result;

            @Override
            public Kind kind() {
                return kind;
            }

            @Override
            public void apply(Connection c) throws SQLException {
                result = work.apply(c);
            }

            @Override
            public long walBytes() {
                return walBytes;
            }

            @Override
            public void succeed() {
                f.complete(result);
            }

            @Override
            public void fail(Exception e) {
                f.completeExceptionally(new IllegalStateException("Durable queue " + dbPath + " could not " + what + ": "
                        + reason(e), e));
            }
        };
        if (!ops.offer(op)) {
            f.completeExceptionally(new IllegalStateException("Durable queue " + dbPath + " could not " + what
                    + ": the disk is not keeping up (" + MAX_WAITING_OPS + " operations waiting)"));
        }
        return f;
    }

    private void writeLoop() {
        List<Op> batch = new ArrayList<>(MAX_BATCH);
        long nextSummary = System.nanoTime() + SUMMARY_NANOS;
        while (true) {
            try {
                Op first = ops.poll(checkpointDue ? 50 : 200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closed) break;
                    if (checkpointDue) checkpoint("idle");
                    continue;
                }
                batch.add(first);
                ops.drainTo(batch, MAX_BATCH - 1);
                linger(batch);
                runBatch(batch);
                if (checkpointDue && walEstimate > CHECKPOINT_WAL_BYTES) checkpoint("log above " + CHECKPOINT_WAL_BYTES / 1024 / 1024 + " MiB");
                if (LOG.isDebugEnabled() && System.nanoTime() - nextSummary > 0) {
                    nextSummary = System.nanoTime() + SUMMARY_NANOS;
                    summary();
                }
            } catch (InterruptedException e) {
                if (closed) break;
            } catch (RuntimeException | Error e) {
                LOG.error("Durable queue writer failed unexpectedly", e);
                for (Op op : batch) op.fail(new IllegalStateException(e.toString(), e));
            } finally {
                batch.clear();
            }
        }
        // Whatever was accepted before close() is still written, so a clean stop loses nothing.
        List<Op> rest = new ArrayList<>();
        ops.drainTo(rest);
        if (!rest.isEmpty()) runBatch(rest);
        closeConnection();
        rest.clear();
        ops.drainTo(rest); // raced with close(): refused, never left hanging
        for (Op op : rest) op.fail(new IllegalStateException("the store was closed"));
    }

    /**
     * A batch of marks only waits briefly for more work (typically the next appends) so that the marks share that
     * commit instead of writing their pages to the log in a commit of their own; anything else ends the wait.
     */
    private void linger(List<Op> batch) {
        for (Op op : batch) if (op.kind() != Kind.MARK) return;
        long deadline = System.nanoTime() + MARK_LINGER_NANOS;
        while (batch.size() < MAX_BATCH && !closed) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return;
            Op next;
            try {
                next = ops.poll(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                return; // closing: the batch is still written
            }
            if (next == null) return;
            batch.add(next);
            int from = batch.size();
            ops.drainTo(batch, MAX_BATCH - batch.size());
            if (next.kind() != Kind.MARK) return;
            for (int i = from; i < batch.size(); i++) if (batch.get(i).kind() != Kind.MARK) return;
        }
    }

    private boolean checkpointDue; // writer thread only: something was committed since the last checkpoint
    private long[] lastSummary = new long[5];

    /** Group-commit evidence for profiling (DEBUG): commits, how many with fsync, ops and appends per commit. */
    private void summary() {
        long[] now = {commits.get(), fullCommits.get(), committedOps.get(), committedAppends.get(), checkpoints.get()};
        long c = now[0] - lastSummary[0];
        if (c > 0) {
            LOG.debug("Durable queue, last {} s: {} commits ({} with fsync), {} ops ({} appends): {} ops and {} appends"
                    + " per commit, {} appends per fsync; {} checkpoints", SUMMARY_NANOS / 1_000_000_000L, c,
                    now[1] - lastSummary[1], now[2] - lastSummary[2], now[3] - lastSummary[3],
                    String.format(java.util.Locale.ROOT, "%.2f", (now[2] - lastSummary[2]) / (double) c),
                    String.format(java.util.Locale.ROOT, "%.2f", (now[3] - lastSummary[3]) / (double) c),
                    String.format(java.util.Locale.ROOT, "%.2f", (now[3] - lastSummary[3]) / (double) Math.max(1, now[1] - lastSummary[1])),
                    now[4] - lastSummary[4]);
        }
        lastSummary = now;
    }

    /**
     * A PASSIVE checkpoint between batches (nothing waits on it). Only this connection exists, so it copies the whole
     * log and the next commit starts the log from its beginning. A failure is only logged: the log is still valid,
     * and SQLite checkpoints it when the database is next opened.
     */
    private void checkpoint(String why) {
        if (conn == null) {
            checkpointDue = false; // closed: SQLite checkpoints on close and when the next batch reopens
            return;
        }
        try {
            conn.setAutoCommit(true);
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
                if (rs.next() && rs.getInt(1) != 0) LOG.debug("Durable queue checkpoint ({}) could not run to completion", why);
            } finally {
                conn.setAutoCommit(false);
            }
            checkpoints.incrementAndGet();
            checkpointDue = false;
            walEstimate = 0;
        } catch (SQLException e) {
            LOG.warn("Durable queue {}: checkpoint ({}) failed: {}; retried later", dbPath, why, reason(e));
            closeConnection(); // reopened (and the log checkpointed by SQLite) by the next batch
        }
    }

    private void runBatch(List<Op> batch) {
        try {
            Connection c = connection();
            try {
                boolean full = false;
                for (Op op : batch) full |= op.kind() == Kind.DURABLE;
                if (full != connFull) {
                    // SQLite refuses the switch inside a transaction, and the driver keeps one open while auto-commit
                    // is off: leave it (committing the empty one), switch, and begin this batch's transaction.
                    connFull = full; // on failure the connection is discarded and reopens as FULL
                    c.setAutoCommit(true);
                    try (Statement st = c.createStatement()) {
                        st.execute(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
                    }
                    c.setAutoCommit(false);
                }
                long appendsBefore = appends;
                for (Op op : batch) op.apply(c);
                c.commit();
                checkpointDue = true;
                walEstimate += WAL_PAGE; // the commit frame
                for (Op op : batch) walEstimate += op.walBytes();
                commits.incrementAndGet();
                committedOps.addAndGet(batch.size());
                committedAppends.addAndGet(appends - appendsBefore);
                if (full) fullCommits.incrementAndGet();
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    // the connection is discarded below anyway
                }
                throw e;
            }
        } catch (SQLException | IOException | RuntimeException e) {
            LOG.error("Durable queue {}: {} operation(s) failed: {}", dbPath, batch.size(), reason(e));
            closeConnection(); // reopened by the next batch, so the store heals when the cause is fixed
            for (Op op : batch) op.fail(e);
            return;
        }
        for (Op op : batch) {
            try {
                op.succeed();
            } catch (RuntimeException e) {
                LOG.warn("Durable queue: a caller's completion handler failed", e);
            }
        }
    }

    private Connection connection() throws SQLException, IOException {
        if (conn != null) return conn;
        Path dir = dbPath.getParent();
        if (dir != null) {
            try {
                Files.createDirectories(dir);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                throw new IOException("cannot create directory " + dir + ": a file of that name is in the way", e);
            } catch (IOException e) {
                throw new IOException("cannot create directory " + dir + " (" + e + ")", e);
            }
        }
        SQLiteConfig cfg = new SQLiteConfig();
        cfg.setJournalMode(SQLiteConfig.JournalMode.WAL);
        cfg.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        cfg.setBusyTimeout(5000);
        SQLiteDataSource ds = new SQLiteDataSource(cfg);
        ds.setUrl("jdbc:sqlite:" + dbPath);
        Connection c = ds.getConnection();
        try {
            try (Statement st = c.createStatement()) {
                st.execute("PRAGMA wal_autocheckpoint=0");
                st.execute("PRAGMA cache_size=-" + CACHE_KIB);
                // After a checkpoint the log is reused from its start; this only caps what stays on disk meanwhile.
                st.execute("PRAGMA journal_size_limit=" + 2 * CHECKPOINT_WAL_BYTES);
            }
            c.setAutoCommit(false);
            migrate(c);
            c.commit();
            nextId = firstFreeId(c);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // already failing
            }
            throw e;
        }
        conn = c;
        connFull = true;
        checkpointDue = true; // a log left by a crash is folded in at the first idle moment
        LOG.info("Durable queue open: {} (WAL, synchronous=FULL, schema version {})", dbPath, SCHEMA_VERSION);
        return c;
    }

    /** The messages table as of schema 3 (the name is a parameter so migration 3 can build it beside the old one). */
    private static String messagesTable(String name) {
        return "CREATE TABLE " + name + "("
                + " id INTEGER PRIMARY KEY,"
                + " channel TEXT NOT NULL, remote TEXT, content_type TEXT, body TEXT NOT NULL, message_id TEXT,"
                + " callback_id TEXT NOT NULL,"
                + " state TEXT NOT NULL CHECK (state IN ('queued','inflight','processed','failed')),"
                + " attempt_count INTEGER NOT NULL DEFAULT 0,"
                + " server_status INTEGER, server_body TEXT, last_error TEXT,"
                + " received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, processed_at INTEGER)";
    }

    /**
     * The indexes of schema 3. Each index an append or a state change touches is one more page written to the log
     * per commit, so there are only these: pending rows per channel (the dispatcher's page reads), MSH-10 per
     * channel (duplicate detection on every intake) and settled rows by time (the retention sweep; pending rows have
     * no processed_at, so appends and in-flight marks never touch it).
     */
    private static void createIndexes(Statement st) throws SQLException {
        st.executeUpdate("CREATE INDEX messages_pending ON messages(channel, id) WHERE state IN ('queued','inflight')");
        st.executeUpdate("CREATE INDEX messages_msgid ON messages(channel, message_id) WHERE message_id IS NOT NULL");
        st.executeUpdate("CREATE INDEX messages_settled_at ON messages(processed_at) WHERE processed_at IS NOT NULL");
    }

    private static void applied(Statement st, int version) throws SQLException {
        st.executeUpdate("INSERT INTO _schema(version, applied_at) VALUES (" + version + ", " + System.currentTimeMillis() + ")");
    }

    /** Forward-only migrations; a database written by a newer version is refused rather than guessed at. */
    static void migrate(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.executeUpdate("CREATE TABLE IF NOT EXISTS _schema(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
            st.executeUpdate("CREATE TABLE IF NOT EXISTS _meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
            long current = single(st, "SELECT COALESCE(MAX(version), 0) FROM _schema");
            if (current > SCHEMA_VERSION) {
                throw new SQLException("database schema version " + current + " is newer than this agent supports ("
                        + SCHEMA_VERSION + "); it was written by a newer agent");
            }
            if (current == 0) {
                // A new database gets the current shape at once.
                st.executeUpdate(messagesTable("messages"));
                createIndexes(st);
                for (int v = 1; v <= SCHEMA_VERSION; v++) applied(st, v);
                return;
            }
            if (current < 1) {
                st.executeUpdate("CREATE TABLE messages("
                        + " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                        + " channel TEXT NOT NULL, remote TEXT, content_type TEXT, body TEXT NOT NULL, message_id TEXT,"
                        + " callback_id TEXT NOT NULL UNIQUE,"
                        + " state TEXT NOT NULL CHECK (state IN ('queued','inflight','processed','failed')),"
                        + " attempt_count INTEGER NOT NULL DEFAULT 0,"
                        + " server_status INTEGER, server_body TEXT, last_error TEXT,"
                        + " received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, processed_at INTEGER)");
                st.executeUpdate("CREATE INDEX messages_pending ON messages(channel, id) WHERE state IN ('queued','inflight')");
                st.executeUpdate("CREATE INDEX messages_settled ON messages(state, processed_at)");
                st.executeUpdate("INSERT INTO _schema(version, applied_at) VALUES (1, " + System.currentTimeMillis() + ")");
            }
            if (current < 2) {
                // Duplicate detection by (channel, MSH-10) on every intake.
                st.executeUpdate("CREATE INDEX messages_msgid ON messages(channel, message_id) WHERE message_id IS NOT NULL");
                st.executeUpdate("INSERT INTO _schema(version, applied_at) VALUES (2, " + System.currentTimeMillis() + ")");
            }
            if (current < 3) {
                // Fewer pages per commit: no AUTOINCREMENT (its sqlite_sequence row was rewritten by every append), no
                // UNIQUE index on callback_id (a random page per append; callbacks are generated unique and never
                // looked up here), settled index on processed_at only. SQLite cannot drop AUTOINCREMENT or a UNIQUE
                // constraint in place, so the table is copied once; the AUTOINCREMENT high-water mark is kept so ids
                // are never reused.
                long rows = single(st, "SELECT COUNT(*) FROM messages");
                if (rows > 10_000) LOG.info("Durable queue: upgrading the queue database to schema 3 ({} rows, one copy)", rows);
                st.executeUpdate(messagesTable("messages_v3"));
                st.executeUpdate("INSERT INTO messages_v3(id, channel, remote, content_type, body, message_id, callback_id,"
                        + " state, attempt_count, server_status, server_body, last_error, received_at, updated_at, processed_at)"
                        + " SELECT id, channel, remote, content_type, body, message_id, callback_id, state, attempt_count,"
                        + " server_status, server_body, last_error, received_at, updated_at, processed_at FROM messages");
                st.executeUpdate("INSERT OR REPLACE INTO _meta(key, value) SELECT 'id_high_water', COALESCE(MAX(seq), 0) FROM"
                        + " (SELECT seq FROM sqlite_sequence WHERE name='messages' UNION ALL SELECT MAX(id) FROM messages"
                        + " UNION ALL SELECT value FROM _meta WHERE key='id_high_water') WHERE seq IS NOT NULL");
                st.executeUpdate("DROP TABLE messages");
                st.executeUpdate("ALTER TABLE messages_v3 RENAME TO messages");
                createIndexes(st);
                applied(st, 3);
            }
        }
    }

    /** One above every id this database ever handed out (rows present, and deleted ones per the high-water mark). */
    private static long firstFreeId(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            return 1 + Math.max(single(st, "SELECT COALESCE(MAX(id), 0) FROM messages"),
                    single(st, "SELECT COALESCE(MAX(value), 0) FROM _meta WHERE key='id_high_water'"));
        }
    }

    /** Called before deleting rows: the newest of them may be among them, and its id must not come back. */
    private static void keepHighWater(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.executeUpdate("INSERT OR REPLACE INTO _meta(key, value) SELECT 'id_high_water', COALESCE(MAX(v), 0) FROM"
                    + " (SELECT MAX(id) AS v FROM messages UNION ALL SELECT value FROM _meta WHERE key='id_high_water')"
                    + " WHERE v IS NOT NULL");
        }
    }

    private void closeConnection() {
        if (conn == null) return;
        for (PreparedStatement ps : statements.values()) {
            try {
                ps.close();
            } catch (SQLException e) {
                LOG.debug("Closing a cached statement failed", e);
            }
        }
        statements.clear();
        try {
            conn.close();
        } catch (SQLException e) {
            LOG.debug("Closing the queue database failed", e);
        }
        conn = null;
    }

    static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.toString() : m;
    }

    private static String describe(NewMessage m) {
        return "from channel '" + m.channel() + "'" + (m.messageId() != null ? " (message " + m.messageId() + ")" : "");
    }

    @Override
    public void close() {
        closed = true;
        writer.interrupt();
        try {
            writer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
