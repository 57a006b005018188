package dev.edgeagent.hl7.internal;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Er7AndAckTest {
    @Test
    void readsMshAndMsaFields() {
        String m = TestSupport.ADT;
        assertEquals("MSG00001", Er7.messageControlId(m));
        assertEquals("^~\\&", Er7.encodingCharacters(m));
        assertEquals("ADT^A01^ADT_A01", Er7.field(m, "MSH", 9));
        assertEquals("2.5.1", Er7.field(m, "MSH", 12));
        assertEquals("PATID1234^^^GOOD HEALTH HOSPITAL^MR", Er7.field(m, "PID", 3));
        assertNull(Er7.field(m, "MSH", 30));
        String ack = "MSH|^~\\&|A|B|C|D|20240101||ACK|1|P|2.5\nMSA|aa^x|MSG1\n";
        assertEquals("AA", Er7.ackCode(ack));
        assertEquals("MSG1", Er7.ackedControlId(ack));
        assertNull(Er7.messageControlId("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|"));
    }

    @Test
    void buildsMedplumStyleCommitAck() throws Exception {
        String ack = new AckBuilder().build(TestSupport.ADT, "CA", null);
        String[] segs = ack.split("\r");
        String[] msh = segs[0].split("\\|", -1);
        assertEquals("GHH LAB", msh[2]);
        assertEquals("GHH", msh[3]);
        assertEquals("ADT1", msh[4]);
        assertEquals("GOOD HEALTH HOSPITAL", msh[5]);
        assertEquals("ACK^A01^ACK", msh[8]);
        assertTrue(msh[9].matches("\\d{13}"), msh[9]);
        assertEquals("P", msh[10]);
        assertEquals("2.5.1", msh[11]);
        assertEquals("MSA|CA|MSG00001|Commit Accept", segs[1]);
    }

    @Test
    void ackKeepsComponentsAndTriggerOnlyType() throws Exception {
        String original = "MSH|^~\\&|APP^1.2.3^ISO|FAC||RFAC|2024||ORU^R01|X1|P|2.3\rOBX|1\r";
        String ack = new AckBuilder().build(original, "AA", null);
        String[] msh = ack.split("\r")[0].split("\\|", -1);
        assertEquals("APP^1.2.3^ISO", msh[4]);
        assertEquals("ACK^R01", msh[8]);
        assertEquals("2.3", msh[11]);
        assertTrue(ack.contains("\rMSA|AA|X1|OK"), ack);
    }

    @Test
    void charsetAliases() {
        assertEquals("ISO-8859-1", Charsets.resolve("latin1").name());
        assertEquals("ISO-8859-1", Charsets.resolve("binary").name());
        assertEquals("windows-1252", Charsets.resolve("win1252").name());
        assertEquals("UTF-16LE", Charsets.resolve("ucs2").name());
        assertEquals("UTF-8", Charsets.resolve("utf8").name());
        assertEquals("ISO-8859-15", Charsets.resolve("ISO_8859_15").name());
        assertNull(Charsets.resolve("klingon"));
    }
}
