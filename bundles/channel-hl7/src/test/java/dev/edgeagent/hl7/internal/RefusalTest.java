package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.MessageRefusedException;
import dev.edgeagent.api.channel.MessageRefusedException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import static dev.edgeagent.hl7.internal.TestSupport.assertNothingArrives;
import static dev.edgeagent.hl7.internal.TestSupport.field;
import static dev.edgeagent.hl7.internal.TestSupport.read;
import static dev.edgeagent.hl7.internal.TestSupport.sendText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A message the runtime refuses for good (duplicate MSH-10) is answered AR/CR, never CE/AE (spec §8 intake). */
class RefusalTest {
    private static final String REASON_TEXT = "Duplicate message control id 'MSG00001' on channel 'dup': a message"
            + " with this id is already processed (duplicateBehavior=reject)";

    private final Hl7ChannelFactory factory = new Hl7ChannelFactory();

    @AfterEach
    void tearDown() {
        factory.deactivate();
    }

    /**
     * A runtime that refuses every message as the real one does: both stages fail with the same refusal, and the
     * channel sees it wrapped in a CompletionException (derived stages wrap).
     */
    private static TestSupport.Context refusing(Reason reason, String text) {
        MessageRefusedException refusal = new MessageRefusedException(reason, text);
        TestSupport.Context ctx = new TestSupport.Context(m -> wrapped(refusal));
        ctx.accepted = m -> wrapped(refusal);
        return ctx;
    }

    private static <T> CompletionStage<T> wrapped(Throwable t) {
        return CompletableFuture.<T>failedFuture(t).thenApply(x -> x);
    }

    private Hl7Channel start(String query, TestSupport.Context ctx) throws ChannelException {
        return TestSupport.start(factory, TestSupport.config("dup", TestSupport.anyPort(query)), ctx);
    }

    @ParameterizedTest(name = "{0} / {1} -> {2}")
    @CsvSource({
            "enhanced=true, DUPLICATE, CR",
            "enhanced=aa, DUPLICATE, AR",
            "'', DUPLICATE, AR",
            "enhanced=true, DUPLICATE_DIFFERENT_CONTENT, AR",
            "enhanced=aa, DUPLICATE_DIFFERENT_CONTENT, AR",
            "'', DUPLICATE_DIFFERENT_CONTENT, AR",
            // Medplum's durable queue answers refused duplicates too: not silenced like our extra NAKs.
            "enhanced=true&nakOnError=false, DUPLICATE, CR",
            "nakOnError=false, DUPLICATE_DIFFERENT_CONTENT, AR",
            // appLevelAck gating does not apply: this is the device's only answer.
            "enhanced=true&appLevelAck=NE, DUPLICATE_DIFFERENT_CONTENT, AR",
    })
    void refusalIsAnsweredWithTheRejectCodeOfTheMode(String query, Reason reason, String expected) throws Exception {
        Hl7Channel ch = start(query, refusing(reason, REASON_TEXT));
        try (TestSupport.LogCapture log = new TestSupport.LogCapture();
             Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ack = read(s);
            assertEquals(expected, Er7.ackCode(ack), ack);
            assertEquals("MSG00001", Er7.ackedControlId(ack));
            assertEquals(Hl7Channel.refusalText(reason), field(ack, "MSA", 3));
            assertEquals("MSH^1^10", field(ack, "ERR", 2));
            assertEquals("205^Duplicate key identifier^HL70357", field(ack, "ERR", 3));
            assertEquals("E", field(ack, "ERR", 4));
            assertEquals(REASON_TEXT, field(ack, "ERR", 8));
            assertNothingArrives(s); // one answer, although both stages failed
            assertTrue(log.awaitLogged("WARN"), log.text());
            String warn = log.text();
            assertTrue(warn.contains("[HL7:dup] Message MSG00001 from 127.0.0.1:") && warn.contains(" refused (" + reason
                    + "): " + REASON_TEXT), warn);
        }
        assertEquals(1L, ch.stats().detail().get("naksSent"));
        assertTrue(ch.stats().lastError().contains(REASON_TEXT), ch.stats().lastError());
    }

    @Test
    void differentContentTextNamesTheReusedId() throws Exception {
        Hl7Channel ch = start("enhanced=true", refusing(Reason.DUPLICATE_DIFFERENT_CONTENT, "reused"));
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ar = read(s);
            assertEquals("Message control ID already used by a different message", field(ar, "MSA", 3));
            assertEquals("reused", field(ar, "ERR", 8));
        }
    }

    /** Only the type decides: a storage failure whose text mentions a duplicate is still transient (CE/AE). */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"enhanced=true, CE", "enhanced=aa, AE"})
    void storageFailureStaysATransientError(String query, String expected) throws Exception {
        IllegalStateException storage = new IllegalStateException("storage error: duplicate key in index");
        TestSupport.Context ctx = new TestSupport.Context(m -> wrapped(storage));
        ctx.accepted = m -> wrapped(storage);
        Hl7Channel ch = start(query, ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            String ack = read(s);
            assertEquals(expected, Er7.ackCode(ack), ack);
            assertEquals("207^Application internal error^HL70357", field(ack, "ERR", 3));
            assertEquals("storage error: duplicate key in index", field(ack, "ERR", 8));
            assertNothingArrives(s);
        }
    }

    /** Standard mode without a refusal: a failed reply is still the server-side AE, not a reject. */
    @Test
    void standardModeReplyFailureStaysAe() throws Exception {
        TestSupport.Context ctx = new TestSupport.Context(m -> wrapped(new IllegalStateException("link buffer full")));
        Hl7Channel ch = start("", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.ADT);
            assertEquals("AE", Er7.ackCode(read(s)));
        }
    }

    @Test
    void aRefusalDoesNotStopTheConnection() throws Exception {
        MessageRefusedException refusal = new MessageRefusedException(Reason.DUPLICATE, "seen");
        TestSupport.Context ctx = TestSupport.Context.acking("AA");
        ctx.accepted = m -> "DUP".equals(m.messageId()) ? wrapped(refusal) : CompletableFuture.completedFuture(null);
        ctx.reply = m -> "DUP".equals(m.messageId()) ? wrapped(refusal)
                : CompletableFuture.completedFuture(new DeviceReply(200, "x-application/hl7-v2+er7",
                TestSupport.ack("AA", m.messageId())));
        Hl7Channel ch = start("enhanced=true", ctx);
        try (Socket s = TestSupport.connect(ch.boundPort())) {
            sendText(s, TestSupport.adt("DUP"));
            assertEquals("CR", Er7.ackCode(read(s)));
            sendText(s, TestSupport.adt("NEXT"));
            String ca = read(s);
            assertEquals("CA", Er7.ackCode(ca));
            assertEquals("NEXT", Er7.ackedControlId(ca));
            assertEquals("AA", Er7.ackCode(read(s)));
        }
    }
}
