package dev.edgeagent.hl7.internal;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.ErrorCode;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.parser.CanonicalModelClassFactory;
import ca.uhn.hl7v2.parser.PipeParser;
import ca.uhn.hl7v2.util.idgenerator.InMemoryIDGenerator;
import ca.uhn.hl7v2.validation.ValidationException;
import ca.uhn.hl7v2.validation.builder.support.DefaultValidationWithoutTNBuilder;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

/**
 * Strict validation of inbound messages with HAPI (endpoint parameter {@code validate=true}); off the default
 * path, which never builds a HAPI model.
 * <p>
 * Choices, each so that valid real-world messages of HL7 2.1–2.8.1 pass:
 * <ul>
 * <li>{@link CanonicalModelClassFactory} 2.5: every version is parsed into the 2.5 structures, so typed fields
 *     (NM, SI, DT, DTM/TS, OBX-5 per OBX-2…) are checked whatever MSH-12 says, while unknown message types and
 *     Z-segments still parse (generic message / non-standard segment) instead of being rejected;</li>
 * <li>HAPI's default primitive rules without the TN rule: the TN format check rejects the free-form phone
 *     numbers devices commonly send, which says nothing about whether the message is usable.</li>
 * </ul>
 * The parser is thread-safe and shared by all channels; parsing a typical message takes well under a
 * millisecond once HAPI's classes are loaded, so it runs inline on the connection's event loop.
 */
final class Hl7Validator {
    /** HAPI's reasons are quoted to devices and operators up to this length. */
    static final int MAX_REASON = 200;

    /** Why a message was rejected: ERR-3 ({@code code^text} of table 0357) and a one-line reason. */
    static final class Failure {
        final String errCode;
        final String reason;

        Failure(String errCode, String reason) {
            this.errCode = errCode;
            this.reason = reason;
        }
    }

    private Hl7Validator() {}

    /** Created on first use, so channels without {@code validate=true} never load HAPI. */
    private static final class Holder {
        static final PipeParser PARSER = createParser();

        private static PipeParser createParser() {
            HapiContext ctx = new DefaultHapiContext(new CanonicalModelClassFactory("2.5"));
            ctx.setValidationContext(ValidationContextFactory.fromBuilder(new DefaultValidationWithoutTNBuilder()));
            // HAPI's default id generator persists a counter in ./id_file; the agent must not write files there.
            ctx.getParserConfiguration().setIdGenerator(new InMemoryIDGenerator());
            return ctx.getPipeParser();
        }
    }

    /**
     * Parses and validates one message.
     *
     * @return null when the message is valid, else why not
     */
    static Failure validate(String text) {
        try {
            Holder.PARSER.parse(normaliseSegmentEnds(text));
            return null;
        } catch (Throwable t) {
            if (t instanceof Error) throw (Error) t;
            // Any exception (including a HAPI bug) rejects the message: strict mode forwards only what HAPI accepted.
            return new Failure(errCode(t), reason(t));
        }
    }

    /** HAPI splits segments on CR only; devices also send LF or CRLF (the forwarded body stays unchanged). */
    static String normaliseSegmentEnds(String text) {
        if (text.indexOf('\n') < 0) return text;
        return text.replace("\r\n", "\r").replace('\n', '\r');
    }

    private static String errCode(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            // HAPI wraps a failed primitive rule in a DataTypeException coded 207; the truth is a data type error.
            if (c instanceof ValidationException) return code(ErrorCode.DATA_TYPE_ERROR);
            if (c.getCause() == c) break;
        }
        if (t instanceof HL7Exception) {
            ErrorCode e = ((HL7Exception) t).getError();
            if (e != null) return code(e);
        }
        return AckBuilder.ERR_INTERNAL;
    }

    private static String code(ErrorCode e) {
        return e.getCode() + "^" + e.getMessage();
    }

    /**
     * The first line of HAPI's message, without the class names HAPI prefixes when it wraps an exception
     * ({@code ca.uhn.hl7v2.validation.ValidationException: Validation failed: ...}), at most {@link #MAX_REASON}.
     */
    static String reason(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t instanceof HL7Exception ? "HAPI rejected the message" : "Validator failure: " + t.getClass().getName();
        }
        int nl = m.indexOf('\n');
        int cr = m.indexOf('\r');
        int end = nl < 0 ? cr : (cr < 0 ? nl : Math.min(nl, cr));
        if (end >= 0) m = m.substring(0, end);
        m = m.replaceFirst("^(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*: ", "").trim();
        if (!(t instanceof HL7Exception)) m = t.getClass().getSimpleName() + ": " + m;
        return m.length() <= MAX_REASON ? m : m.substring(0, MAX_REASON);
    }
}
