package dev.edgeagent.hub.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class Hl7AckTest {
    // 2025-01-01T12:00:00Z
    private static final long NOW = 1_735_732_800_000L;

    @Test
    void buildsTheMedplumAckExactly() throws Exception {
        String msg = "MSH|^~\\&|ADT1|MCM|LABADT|MCM|198808181126|SECURITY|ADT^A01|MSG00001|P|2.2\rPID|||PATID1234^5^M11";
        assertEquals("MSH|^~\\&|LABADT|MCM|ADT1|MCM|20250101120000||ACK^A01|1735732800000|P|2.2\rMSA|AA|MSG00001|OK",
                Hl7Ack.build(msg, NOW));
    }

    @Test
    void messageTypeVariants() throws Exception {
        assertEquals("ACK^A01^ACK", field(Hl7Ack.build("MSH|^~\\&|A|B|C|D|||ADT^A01^ADT_A01|7|P|2.5", NOW), 8));
        assertEquals("ACK", field(Hl7Ack.build("MSH|^~\\&|A|B|C|D|||ADT|7|P|2.5", NOW), 8));
        assertEquals("ACK", field(Hl7Ack.build("MSH|^~\\&|A|B|C|D", NOW), 8));
    }

    @Test
    void defaultsVersionAndKeepsSeparators() throws Exception {
        String ack = Hl7Ack.build("MSH#$~\\&#A#B#C#D###ORU$R01#9#P\nOBX#1", NOW);
        assertEquals("MSH#$~\\&#C#D#A#B#20250101120000##ACK$R01#1735732800000#P#2.5.1\rMSA#AA#9#OK", ack);
    }

    @Test
    void rejectsNonHl7() {
        assertThrows(Hl7Ack.InvalidHl7Exception.class, () -> Hl7Ack.build("PID|1", NOW));
        assertThrows(Hl7Ack.InvalidHl7Exception.class, () -> Hl7Ack.build("", NOW));
        assertThrows(Hl7Ack.InvalidHl7Exception.class, () -> Hl7Ack.build("MSH||A|B|C|D", NOW));
    }

    private static String field(String ack, int index) {
        return ack.split("\r")[0].split("\\|", -1)[index];
    }
}
