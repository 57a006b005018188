package dev.edgeagent.shell.command;

import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.QueueAdmin;
import dev.edgeagent.api.queue.QueueStats;
import dev.edgeagent.api.queue.StoredMessage;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What {@code agent:queue-show}, {@code agent:queue-retry} and {@code agent:queue-discard} do, apart from the Karaf
 * plumbing (so it can be tested with plain streams): validate the target, show what will change, ask, apply, and
 * report counts.
 */
final class QueueOps {
    /** Body characters shown unless {@code --full}: a stuck 50 MB message must not flood the terminal. */
    static final int BODY_PREVIEW_CHARS = 16 * 1024;
    static final long TIMEOUT_SECONDS = 30;

    /** Asks the operator; true only for an explicit yes. */
    interface Confirm {
        boolean ask(String question) throws IOException;
    }

    /** The failed-message counts the bulk prompts quote; from {@link dev.edgeagent.api.queue.MessageStore#stats()}. */
    interface Stats {
        QueueStats get() throws Exception;
    }

    /** Retry or discard: the two operator actions on failed messages. */
    enum Action {
        RETRY("retry", "Retried", "requeued for delivery with the attempt count reset"),
        DISCARD("discard", "Discarded", "deleted for good");

        final String verb;
        final String done;
        final String effect;

        Action(String verb, String done, String effect) {
            this.verb = verb;
            this.done = done;
            this.effect = effect;
        }
    }

    private final QueueAdmin admin;
    private final Stats stats;
    private final PrintStream out;
    private final PrintStream err;

    QueueOps(QueueAdmin admin, Stats stats, PrintStream out, PrintStream err) {
        this.admin = admin;
        this.stats = stats;
        this.out = out;
        this.err = err;
    }

    // ------------------------------------------------------------------ show

    boolean show(String idArg, boolean full, long now) throws Exception {
        Long id = parseId(idArg);
        if (id == null) return false;
        Optional<QueueAdmin.Entry> e = await(admin.get(id));
        if (e.isEmpty()) {
            err.println(notFound(id));
            return false;
        }
        out.print(render(e.get(), full, now));
        return true;
    }

    static String render(QueueAdmin.Entry e, boolean full, long now) {
        StoredMessage m = e.message();
        StringBuilder sb = new StringBuilder();
        line(sb, "Message", Long.toString(m.id()));
        line(sb, "Channel", m.channel());
        line(sb, "Remote", Format.orDash(m.remote()));
        line(sb, "State", m.state().label());
        line(sb, "Attempts", Integer.toString(m.attempts()));
        line(sb, "Message id", Format.orDash(m.messageId()));
        line(sb, "Callback", m.callbackId());
        line(sb, "Content type", Format.orDash(m.contentType()));
        line(sb, "Received", time(m.receivedAt(), now));
        line(sb, "Updated", time(e.updatedAt(), now));
        line(sb, "Settled", time(e.processedAt(), now));
        line(sb, "Server status", e.serverStatus() < 0 ? "-" : Integer.toString(e.serverStatus()));
        line(sb, "Last error", e.lastError() == null ? "-" : oneLine(e.lastError()));
        sb.append("Body (").append(m.body().length()).append(" characters):\n");
        body(sb, m.body(), full);
        if (e.serverBody() != null) {
            sb.append("Server answer (").append(e.serverBody().length()).append(" characters):\n");
            body(sb, e.serverBody(), full);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String label, String value) {
        sb.append(String.format("%-14s: %s%n", label, value));
    }

    private static String time(long epochMs, long now) {
        if (epochMs < 0) return "-";
        return Instant.ofEpochMilli(epochMs) + " (" + Format.duration(now - epochMs) + " ago)";
    }

    /**
     * HL7 segments end with CR, which a terminal would print over each other: show them as lines. Other control
     * characters (a hostile device could send escape sequences) are shown as {@code \xNN} rather than executed.
     */
    private static void body(StringBuilder sb, String text, boolean full) {
        int limit = full ? text.length() : Math.min(text.length(), BODY_PREVIEW_CHARS);
        boolean atLineStart = true;
        for (int i = 0; i < limit; i++) {
            char c = text.charAt(i);
            if (c == '\r' || c == '\n') {
                if (c == '\r' && i + 1 < limit && text.charAt(i + 1) == '\n') i++;
                sb.append('\n');
                atLineStart = true;
                continue;
            }
            if (atLineStart) {
                sb.append("  ");
                atLineStart = false;
            }
            if (Character.isISOControl(c) && c != '\t') {
                sb.append(String.format("\\x%02X", (int) c));
            } else {
                sb.append(c);
            }
        }
        if (!atLineStart) sb.append('\n');
        if (limit < text.length()) {
            sb.append("  ... ").append(text.length() - limit).append(" more characters (use --full to see all)\n");
        }
    }

    private static String oneLine(String s) {
        return s.replace("\r\n", " ").replace('\r', ' ').replace('\n', ' ');
    }

    // ------------------------------------------------------------------ retry / discard

    /**
     * @param target  a message id, or with {@code allFailed} an optional channel name
     * @return whether anything changed
     */
    boolean apply(Action action, String target, boolean allFailed, boolean force, Confirm confirm) throws Exception {
        return allFailed ? applyAll(action, target, force, confirm) : applyOne(action, target, force, confirm);
    }

    private boolean applyOne(Action action, String idArg, boolean force, Confirm confirm) throws Exception {
        if (idArg == null) {
            err.println("Give a message id (see agent:queue --failed), or --all-failed [channel].");
            return false;
        }
        Long id = parseId(idArg);
        if (id == null) return false;
        Optional<QueueAdmin.Entry> found = await(admin.get(id));
        if (found.isEmpty()) {
            err.println(notFound(id));
            return false;
        }
        StoredMessage m = found.get().message();
        if (m.state() != MessageState.FAILED) {
            err.println("Message " + id + " of channel '" + m.channel() + "' is " + m.state().label() + ": only failed messages can be "
                    + (action == Action.RETRY ? "retried" : "discarded") + ". Nothing changed.");
            return false;
        }
        String what = "Message " + id + " of channel '" + m.channel() + "'" + (m.messageId() == null ? "" : " (message id " + m.messageId() + ")")
                + ", failed after " + m.attempts() + " attempt(s): " + (found.get().lastError() == null ? "no reason recorded"
                : oneLine(found.get().lastError()));
        if (!confirmed(what + "\nIt will be " + action.effect + ".", force, confirm)) return false;
        int n = await(action == Action.RETRY ? admin.retry(id) : admin.discard(id));
        if (n == 0) {
            err.println("Message " + id + " is no longer failed (it changed meanwhile). Nothing changed.");
            return false;
        }
        out.println(action.done + " 1 message (" + id + ").");
        return true;
    }

    private boolean applyAll(Action action, String channel, boolean force, Confirm confirm) throws Exception {
        QueueStats st = stats.get();
        long failed;
        String scope;
        if (channel == null) {
            Long total = st.countsByState().get(MessageState.FAILED);
            failed = total == null ? 0 : total;
            scope = "in all channels";
        } else {
            QueueStats.ChannelDepth d = st.channels().get(channel);
            failed = d == null ? 0 : d.count(MessageState.FAILED);
            scope = "of channel '" + channel + "'";
        }
        if (failed == 0) {
            out.println("No failed messages " + scope + ". Nothing to " + action.verb + ".");
            return false;
        }
        if (!confirmed(failed + " failed message(s) " + scope + " will be " + action.effect + ".", force, confirm)) return false;
        int n = await(action == Action.RETRY ? admin.retryAllFailed(channel) : admin.discardAllFailed(channel));
        out.println(action.done + " " + n + " failed message(s) " + scope + ".");
        return n > 0;
    }

    private boolean confirmed(String what, boolean force, Confirm confirm) throws IOException {
        out.println(what);
        if (force) return true;
        if (confirm.ask("Are you sure? (yes/no) ")) return true;
        out.println("Cancelled. Nothing changed.");
        return false;
    }

    /** Only a typed "yes" counts (not "y"): the change cannot be undone for discard. */
    static boolean isYes(String answer) {
        return answer != null && answer.trim().toLowerCase(Locale.ROOT).equals("yes");
    }

    private Long parseId(String s) {
        try {
            long id = Long.parseLong(s.trim());
            if (id > 0) return id;
        } catch (NumberFormatException e) {
            // reported below
        }
        err.println("'" + s + "' is not a message id (a positive number, as listed by agent:queue --failed or in the log).");
        return null;
    }

    private static String notFound(long id) {
        return "No message " + id + " in the durable queue (never stored, discarded, or removed by the retention sweep).";
    }

    private static <T> T await(CompletionStage<T> stage) throws Exception {
        try {
            return stage.toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            throw new IllegalStateException(c.getMessage() == null ? c.toString() : c.getMessage(), c);
        } catch (TimeoutException e) {
            throw new IllegalStateException("The durable queue did not answer within " + TIMEOUT_SECONDS + " s (is the disk stalled?)", e);
        }
    }
}
