package dev.edgeagent.bench;

import java.io.IOException;
import java.util.Locale;

/** What a correct exchange looks like for one message; see {@link #await}. */
public enum Expect {
    /** One answer: AA for this message's id (standard channel, or enhanced=aa). */
    AA,
    /** A commit CA and an application AA for this id, in either order (enhanced=true). */
    CA_AA,
    /** One answer for this id, whatever MSA-1 says. */
    ANY,
    /**
     * Enhanced mode as a real device drives it: the next message goes as soon as the commit CA came back; the
     * application AAs arrive later, interleaved, and every one is still awaited and checked before the run ends
     * (see {@link LoadRunner}).
     */
    CA_NEXT;

    public static Expect parse(String s) {
        switch (s.toUpperCase(Locale.ROOT)) {
            case "AA": return AA;
            case "CA+AA": case "CA_AA": return CA_AA;
            case "ANY": return ANY;
            case "CA-THEN-NEXT": case "CA_NEXT": return CA_NEXT;
            default: throw new IllegalArgumentException("--expect must be AA, CA+AA, CA-then-next or ANY, not '" + s + "'");
        }
    }

    public String label() {
        return this == CA_AA ? "CA+AA" : this == CA_NEXT ? "CA-then-next" : name();
    }

    /** Thrown when an answer is wrong: the message names the control id and what was received. */
    public static final class BadAnswer extends Exception {
        BadAnswer(String msg) {
            super(msg);
        }
    }

    /**
     * Reads the answers for message {@code id} and checks them.
     *
     * @param firstAnswerNanos receives System.nanoTime() of the first answer (index 0); used for the
     *                         commit-ACK latency in CA+AA mode
     */
    public void await(Mllp.Reader in, String id, int maxFrame, long[] firstAnswerNanos) throws IOException, BadAnswer {
        if (this == CA_NEXT) {
            throw new IllegalStateException("CA-then-next answers are read by LoadRunner, not one message at a time");
        }
        boolean commit = false;
        boolean app = false;
        int answers = 0;
        // Two answers at most: anything more for one in-flight message is itself a protocol error.
        while (answers < (this == CA_AA ? 2 : 1)) {
            byte[] payload = in.read(maxFrame);
            if (payload == null) {
                throw new java.io.EOFException("connection closed by the peer while waiting for the answer to " + id);
            }
            if (answers == 0) {
                firstAnswerNanos[0] = System.nanoTime();
            }
            answers++;
            Answer a;
            try {
                a = Answer.parse(payload);
            } catch (IllegalArgumentException e) {
                throw new BadAnswer("message " + id + ": " + e.getMessage());
            }
            if (!id.equals(a.controlId())) {
                throw new BadAnswer("message " + id + ": answer MSA-2 is '" + a.controlId() + "' (MSA-1 " + a.code() + ")");
            }
            switch (this) {
                case ANY:
                    return;
                case AA:
                    if (!"AA".equals(a.code())) {
                        throw new BadAnswer("message " + id + ": expected AA, got " + a.code() + textOf(a));
                    }
                    return;
                default:
                    if (a.isCommit()) {
                        if (!"CA".equals(a.code()) || commit) {
                            throw new BadAnswer("message " + id + ": " + (commit ? "second commit ACK " : "commit ACK ") + a.code() + textOf(a));
                        }
                        commit = true;
                    } else {
                        if (!"AA".equals(a.code()) || app) {
                            throw new BadAnswer("message " + id + ": " + (app ? "second application ACK " : "application ACK ") + a.code() + textOf(a));
                        }
                        app = true;
                    }
            }
        }
    }

    private static String textOf(Answer a) {
        return a.text().isEmpty() ? "" : " (" + a.text() + ")";
    }
}
