package dev.edgeagent.hub.internal;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Builds the ACK the Medplum bot stand-in returns, following core {@code Hl7Message.buildAck}
 * (spec §4.4). Plain string operations: this runs for every inbound message under benchmark load.
 */
public final class Hl7Ack {
    private static final DateTimeFormatter HL7_TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");

    private Hl7Ack() {
    }

    /** Thrown when the text is not an HL7 v2 message the ACK can be built from. */
    public static final class InvalidHl7Exception extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidHl7Exception(String message) {
            super(message, null, false, false);
        }
    }

    public static String build(String message, long nowMillis) throws InvalidHl7Exception {
        if (message == null || !message.startsWith("MSH") || message.length() < 8) {
            throw new InvalidHl7Exception("Invalid HL7 message: the body must start with an MSH segment");
        }
        char fieldSep = message.charAt(3);
        int mshEnd = firstSegmentEnd(message);
        String msh = message.substring(0, mshEnd);
        String[] f = split(msh, fieldSep, 13);
        // f[0]="MSH", f[1]=MSH-2 (encoding characters), f[n]=MSH-(n+1) from here on.
        String encoding = f[1];
        if (encoding == null || encoding.isEmpty()) {
            throw new InvalidHl7Exception("Invalid HL7 message: MSH-2 (encoding characters) is empty");
        }
        char componentSep = encoding.charAt(0);
        String sendingApp = orEmpty(f[2]);
        String sendingFacility = orEmpty(f[3]);
        String receivingApp = orEmpty(f[4]);
        String receivingFacility = orEmpty(f[5]);
        String messageType = orEmpty(f[8]);
        String controlId = orEmpty(f[9]);
        String version = f[11] == null || f[11].isEmpty() ? "2.5.1" : f[11];

        String[] typeParts = split(messageType, componentSep, 4);
        String trigger = orEmpty(typeParts[1]);
        String structure = orEmpty(typeParts[2]);
        String ackType;
        if (!trigger.isEmpty() && !structure.isEmpty()) {
            ackType = "ACK" + componentSep + trigger + componentSep + "ACK";
        } else if (!trigger.isEmpty()) {
            ackType = "ACK" + componentSep + trigger;
        } else {
            ackType = "ACK";
        }
        String ts = HL7_TS.format(ZonedDateTime.ofInstant(java.time.Instant.ofEpochMilli(nowMillis), ZoneOffset.UTC));
        StringBuilder sb = new StringBuilder(160 + controlId.length());
        sb.append("MSH").append(fieldSep).append(encoding)
                .append(fieldSep).append(receivingApp).append(fieldSep).append(receivingFacility)
                .append(fieldSep).append(sendingApp).append(fieldSep).append(sendingFacility)
                .append(fieldSep).append(ts).append(fieldSep)
                .append(fieldSep).append(ackType)
                .append(fieldSep).append(nowMillis)
                .append(fieldSep).append('P')
                .append(fieldSep).append(version)
                .append('\r')
                .append("MSA").append(fieldSep).append("AA").append(fieldSep).append(controlId)
                .append(fieldSep).append("OK");
        return sb.toString();
    }

    private static int firstSegmentEnd(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n') {
                return i;
            }
        }
        return s.length();
    }

    /** Splits into at most {@code max} slots; absent trailing parts stay null. */
    private static String[] split(String s, char sep, int max) {
        String[] out = new String[max];
        int start = 0;
        for (int i = 0; i < max; i++) {
            int end = s.indexOf(sep, start);
            if (end < 0) {
                out[i] = s.substring(start);
                break;
            }
            out[i] = s.substring(start, end);
            start = end + 1;
        }
        return out;
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }
}
