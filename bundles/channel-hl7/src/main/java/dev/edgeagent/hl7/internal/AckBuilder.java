package dev.edgeagent.hl7.internal;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.model.v25.message.ACK;
import ca.uhn.hl7v2.model.v25.segment.MSA;
import ca.uhn.hl7v2.model.v25.segment.MSH;
import ca.uhn.hl7v2.parser.DefaultModelClassFactory;
import ca.uhn.hl7v2.parser.ParserConfiguration;
import ca.uhn.hl7v2.parser.PipeParser;
import ca.uhn.hl7v2.util.idgenerator.InMemoryIDGenerator;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Builds acknowledgements the way Medplum's {@code Hl7Message.buildAck} does (spec §4.4): application and
 * facility swapped, {@code ACK^<trigger>^ACK}, MSH-10 = epoch milliseconds, MSH-11 {@code P}, MSH-12 copied
 * (default 2.5.1), the original's encoding characters. HAPI does the encoding, so values copied from the
 * original keep their components and escapes intact. Thread-safe: one instance per factory.
 */
final class AckBuilder {
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");

    private final HapiContext hapi;
    private final PipeParser parser;

    AckBuilder() {
        ParserConfiguration pc = new ParserConfiguration();
        // HAPI's default id generator writes ./id_file into the working directory (Karaf's home).
        pc.setIdGenerator(new InMemoryIDGenerator());
        hapi = new DefaultHapiContext(pc, ValidationContextFactory.noValidation(), new DefaultModelClassFactory());
        parser = hapi.getPipeParser();
    }

    /** MSA-3 text Medplum uses for each code. */
    static String textFor(String code) {
        switch (code) {
            case "AA": return "OK";
            case "AE": return "Application Error";
            case "AR": return "Application Reject";
            case "CA": return "Commit Accept";
            case "CE": return "Commit Error";
            case "CR": return "Commit Reject";
            default: return "";
        }
    }

    /**
     * @param original the acknowledged message (must start with MSH)
     * @param code     MSA-1, e.g. {@code CA}
     * @param text     MSA-3, or null for Medplum's default text of the code
     */
    String build(String original, String code, String text) throws HL7Exception {
        ACK ack = new ACK(hapi.getModelClassFactory());
        ack.setParser(parser);
        MSH msh = ack.getMSH();
        char fs = Er7.fieldSeparator(original);
        msh.getFieldSeparator().setValue(String.valueOf(fs == 0 ? '|' : fs));
        String enc = Er7.encodingCharacters(original);
        msh.getEncodingCharacters().setValue(enc == null || enc.length() < 4 ? "^~\\&" : enc);
        parseInto(msh.getSendingApplication(), Er7.field(original, "MSH", 5));
        parseInto(msh.getSendingFacility(), Er7.field(original, "MSH", 6));
        parseInto(msh.getReceivingApplication(), Er7.field(original, "MSH", 3));
        parseInto(msh.getReceivingFacility(), Er7.field(original, "MSH", 4));
        msh.getDateTimeOfMessage().getTime().setValue(LocalDateTime.now().format(TS));
        msh.getMessageType().parse(ackType(original));
        msh.getMessageControlID().setValue(Long.toString(System.currentTimeMillis()));
        msh.getProcessingID().getProcessingID().setValue("P");
        String version = Er7.field(original, "MSH", 12);
        msh.getVersionID().parse(version == null || version.isEmpty() ? "2.5.1" : version);
        MSA msa = ack.getMSA();
        msa.getAcknowledgmentCode().setValue(code);
        String id = Er7.messageControlId(original);
        if (id != null) msa.getMessageControlID().parse(id);
        msa.getTextMessage().setValue(text != null ? text : textFor(code));
        return parser.encode(ack);
    }

    private static void parseInto(ca.uhn.hl7v2.model.Type type, String raw) throws HL7Exception {
        if (raw != null && !raw.isEmpty()) type.parse(raw);
    }

    /** {@code ACK^<trigger>^ACK}, {@code ACK^<trigger>} or {@code ACK}, from the original MSH-9. */
    private static String ackType(String original) {
        String msh9 = Er7.field(original, "MSH", 9);
        char cs = Er7.componentSeparator(original);
        if (msh9 == null) return "ACK";
        String[] parts = msh9.split(java.util.regex.Pattern.quote(String.valueOf(cs)), -1);
        String trigger = parts.length > 1 ? parts[1] : "";
        String structure = parts.length > 2 ? parts[2] : "";
        if (trigger.isEmpty()) return "ACK";
        return structure.isEmpty() ? "ACK" + cs + trigger : "ACK" + cs + trigger + cs + "ACK";
    }
}
