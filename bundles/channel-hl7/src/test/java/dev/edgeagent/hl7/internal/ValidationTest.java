package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ConfigIssue;
import dev.edgeagent.api.channel.InboundMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.edgeagent.hl7.internal.TestSupport.assertNothingArrives;
import static dev.edgeagent.hl7.internal.TestSupport.read;
import static dev.edgeagent.hl7.internal.TestSupport.sendText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code validate} endpoint parameter: HAPI validation of inbound messages, over real loopback sockets. */
class ValidationTest {
    static final String ADT_25 = "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|GHH LAB|GHH|20240101120000||ADT^A01^ADT_A01|V1|P|2.5\r"
            + "EVN|A01|20240101120000\r"
            + "PID|1||PATID1234^^^GOOD HEALTH HOSPITAL^MR||EVERYMAN^ADAM^A||19610615|M|||||555-1234 ext 5\r"
            + "PV1|1|I|2000^2012^01\r"
            + "ZPI|custom|segment\r";
    static final String ORU_23 = "MSH|^~\\&|LAB|FAC|EA|FAC|202401011200||ORU^R01|V2|P|2.3\r"
            + "PID|1||123||DOE^JOHN\r"
            + "OBR|1||X|GLU^Glucose\r"
            + "OBX|1|NM|GLU^Glucose||105.5|mg/dL|70-110|N|||F\r";
    /** OBX-2 says NM, OBX-5 is not a number: HAPI's primitive rules reject it. */
    static final String ORU_BAD_NM = ORU_23.replace("|V2|", "|BAD1|").replace("105.5", "abc");
    static final String ADT_BAD_MSH9 = ADT_25.replace("ADT^A01^ADT_A01|V1", "FOO|BAD2");

    private static boolean idFileExistedBefore;

    private final Hl7ChannelFactory factory = new Hl7ChannelFactory();
    private final List<Socket> sockets = new ArrayList<>();

    @BeforeAll
    static void noteIdFile() {
        idFileExistedBefore = Files.exists(Path.of("id_file"));
    }

    @AfterAll
    static void hapiWroteNoIdFile() {
        if (!idFileExistedBefore) assertFalse(Files.exists(Path.of("id_file")), "HAPI must not create ./id_file");
    }

    @AfterEach
    void tearDown() throws IOException {
        for (Socket s : sockets) s.close();
        factory.deactivate();
    }

    @Test
    void validMessagesOfSeveralVersionsAreForwardedUnchanged() throws Exception {
        TestSupport.Context ctx = acking();
        Hl7Channel ch = start("validate=TRUE", ctx);
        Socket s = connect(ch);
        // LF-separated segments are validated too; the body still goes out exactly as received.
        String lfSeparated = ORU_23.replace("|V2|", "|V3|").replace('\r', '\n');
        for (String msg : new String[] {ADT_25, ORU_23, lfSeparated}) {
            sendText(s, msg);
            String reply = read(s);
            assertEquals("AA", Er7.field(reply, "MSA", 1), reply);
            InboundMessage m = ctx.next();
            assertEquals(msg, m.body());
            assertEquals(Er7.messageControlId(msg), m.messageId());
        }
        assertEquals(0, ch.stats().errors());
    }

    @Test
    void invalidMessagesAreRejectedWithHapisReasonAndNotForwarded() throws Exception {
        TestSupport.Context ctx = acking();
        Hl7Channel ch = start("validate=true", ctx);
        Socket s = connect(ch);

        sendText(s, ORU_BAD_NM);
        String nak = read(s);
        assertEquals("AR", Er7.field(nak, "MSA", 1), nak);
        assertEquals("BAD1", Er7.field(nak, "MSA", 2));
        assertEquals("102^Data type error^HL70357", Er7.field(nak, "ERR", 3));
        String reason = Er7.field(nak, "ERR", 8);
        assertTrue(reason.contains("Primitive value 'abc' requires to be empty or a number"), reason);
        assertFalse(reason.contains("ca.uhn"), "class names are stripped: " + reason);
        assertTrue(reason.length() <= Hl7Validator.MAX_REASON);
        String lastError = ch.stats().lastError();
        assertTrue(lastError.startsWith("Message BAD1 from ") && lastError.contains(" rejected by validation: Validation failed: Primitive value 'abc'"),
                lastError);

        sendText(s, ADT_BAD_MSH9);
        nak = read(s);
        assertEquals("AR", Er7.field(nak, "MSA", 1), nak);
        assertEquals("BAD2", Er7.field(nak, "MSA", 2));
        assertTrue(Er7.field(nak, "ERR", 3).startsWith("200^"), nak);
        assertTrue(Er7.field(nak, "ERR", 8).contains("Can't determine message structure from MSH-9"), nak);

        // A bad timestamp in MSH-7: the type rules cover the header too.
        sendText(s, ADT_25.replace("20240101120000||ADT", "2024XX01||ADT").replace("|V1|", "|BAD3|"));
        nak = read(s);
        assertEquals("AR", Er7.field(nak, "MSA", 1), nak);
        assertEquals("BAD3", Er7.field(nak, "MSA", 2));
        assertTrue(Er7.field(nak, "ERR", 8).contains("'2024XX01' requires to be empty or a HL7 datetime string"), nak);

        // The connection survives and the next good message is the first the server ever sees.
        sendText(s, ADT_25);
        assertEquals("AA", Er7.field(read(s), "MSA", 1));
        assertEquals("V1", ctx.next().messageId());
        assertTrue(ctx.received.isEmpty());
        assertEquals(3, ch.stats().errors());
    }

    @Test
    void enhancedModeAnswersCommitReject() throws Exception {
        TestSupport.Context ctx = acking();
        Hl7Channel ch = start("enhanced=true&validate=true", ctx);
        Socket s = connect(ch);
        sendText(s, ORU_BAD_NM);
        String nak = read(s);
        assertEquals("CR", Er7.field(nak, "MSA", 1), nak);
        assertEquals("BAD1", Er7.field(nak, "MSA", 2));
        assertNotNull(Er7.field(nak, "ERR", 8));
        assertNothingArrives(s);
        assertTrue(ctx.received.isEmpty());
    }

    @Test
    void nakOnErrorFalseStaysSilent() throws Exception {
        TestSupport.Context ctx = acking();
        Hl7Channel ch = start("validate=true&nakOnError=false", ctx);
        Socket s = connect(ch);
        sendText(s, ORU_BAD_NM);
        assertNothingArrives(s);
        assertTrue(ctx.received.isEmpty());
        assertEquals(1, ch.stats().errors());
        assertTrue(ch.stats().lastError().contains("rejected by validation"), ch.stats().lastError());
        sendText(s, ORU_23);
        assertEquals("AA", Er7.field(read(s), "MSA", 1));
        assertEquals("V2", ctx.next().messageId());
    }

    @Test
    void offByDefaultAndSwitchedLiveByReconfigure() throws Exception {
        TestSupport.Context ctx = acking();
        Hl7Channel ch = start("", ctx);
        Socket s = connect(ch);
        sendText(s, ORU_BAD_NM);
        assertEquals("AA", Er7.field(read(s), "MSA", 1));
        assertEquals(ORU_BAD_NM, ctx.next().body());

        assertTrue(ch.reconfigure(config(ch.config().port(), "validate=true")));
        sendText(s, ORU_BAD_NM);
        assertEquals("AR", Er7.field(read(s), "MSA", 1));

        assertTrue(ch.reconfigure(config(ch.config().port(), "validate=false")));
        sendText(s, ORU_BAD_NM);
        assertEquals("AA", Er7.field(read(s), "MSA", 1));
        assertEquals(ORU_BAD_NM, ctx.next().body());
    }

    @Test
    void invalidValueIsAWarningAndLeavesValidationOff() {
        ChannelConfig c = config(0, "validate=yes");
        List<ConfigIssue> issues = factory.validate(c);
        assertEquals(List.of(ConfigIssue.warning("Invalid validate value 'yes'; expected 'true' or 'false'. Validation disabled.")),
                issues);
        assertFalse(Hl7Params.from(c).validate);
        assertTrue(Hl7Params.from(config(0, "validate=True")).validate);
        assertFalse(Hl7Params.from(config(0, "validate=FALSE")).validate);
        assertTrue(factory.validate(config(0, "validate=FALSE")).isEmpty());
        assertFalse(Hl7Params.defaults().validate);
    }

    @Test
    void reasonIsOneLineAndBounded() {
        assertEquals("x".repeat(Hl7Validator.MAX_REASON),
                Hl7Validator.reason(new ca.uhn.hl7v2.HL7Exception("x".repeat(500) + "\nsecond line")));
        assertEquals("NullPointerException: boom", Hl7Validator.reason(new NullPointerException("boom")));
        // A header HAPI cannot even read is a rejection with a reason, not an exception on the event loop.
        Hl7Validator.Failure f = Hl7Validator.validate("MSH|");
        assertNotNull(f);
        assertFalse(f.reason.isEmpty());
    }

    /** A runtime that takes every message at once and answers AA naming its MSH-10. */
    private static TestSupport.Context acking() {
        return TestSupport.Context.answering(m -> "MSH|^~\\&|EA|FAC|LAB|FAC|20240101120001||ACK^A01^ACK|A" + m.messageId()
                + "|P|2.5\rMSA|AA|" + m.messageId() + "\r");
    }

    private Hl7Channel start(String query, TestSupport.Context ctx) throws ChannelException {
        return TestSupport.start(factory, config(0, query), ctx);
    }

    private static ChannelConfig config(int port, String query) {
        return TestSupport.config("val", "mllp://0.0.0.0:" + port + (query.isEmpty() ? "" : "?" + query));
    }

    private Socket connect(Hl7Channel ch) throws IOException {
        Socket s = TestSupport.connect(ch.boundPort());
        sockets.add(s);
        return s;
    }
}
