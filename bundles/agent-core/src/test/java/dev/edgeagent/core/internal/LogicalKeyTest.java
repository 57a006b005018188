package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class LogicalKeyTest {
    static final String ADT = "MSH|^~\\&|LAB|HOSP|EA|CLOUD|20240101||ADT^A01|MSG1|P|2.5\r"
            + "EVN|A01\r"
            + "PID|1||12345^^^HOSP^MR~999^^^SSA^SS||DOE^JOHN\r"
            + "PV1|1|I\r";

    @Test
    void readsComponentsFieldsAndJoinsSeveralPaths() {
        assertEquals("12345", LogicalKey.parse("PID-3.1").of(ADT));
        assertEquals("HOSP", LogicalKey.parse("PID-3.4").of(ADT));
        assertEquals("12345^^^HOSP^MR", LogicalKey.parse("PID-3").of(ADT), "first repetition only");
        assertEquals("12345\rHOSP", LogicalKey.parse("PID-3.1, pid-3.4").of(ADT), "case and spaces tolerated");
        assertEquals("DOE", LogicalKey.parse("PID-5.1").of(ADT));
        assertEquals("I", LogicalKey.parse("PV1-2").of(ADT));
    }

    @Test
    void mshFieldsAreCountedAsInHl7() {
        assertEquals("|", LogicalKey.parse("MSH-1").of(ADT));
        assertEquals("^~\\&", LogicalKey.parse("MSH-2").of(ADT));
        assertEquals("LAB", LogicalKey.parse("MSH-3").of(ADT));
        assertEquals("A01", LogicalKey.parse("MSH-9.2").of(ADT));
        assertEquals("MSG1", LogicalKey.parse("MSH-10").of(ADT));
    }

    @Test
    void missingPartsAndNonEr7BodiesReadAsEmpty() {
        assertEquals("", LogicalKey.parse("PID-3.9").of(ADT));
        assertEquals("", LogicalKey.parse("PID-30").of(ADT));
        assertEquals("", LogicalKey.parse("OBX-5").of(ADT));
        assertEquals("", LogicalKey.parse("PID-3.1").of("not hl7"));
        assertEquals("", LogicalKey.parse("PID-3.1").of(null));
        assertEquals("7", LogicalKey.parse("PID-3.1").of("MSH|^~\\&|A\nPID|1||7"), "LF segment separators too");
        assertEquals("", LogicalKey.parse("PID-3.1").of("MSH|^~\\&|A\rPIDX|1||7"), "segment names match exactly");
        assertEquals("a", LogicalKey.parse("ZPD-1.1").of("MSH#*~\\&#A\rZPD#a*b"), "separators come from MSH");
    }

    @Test
    void invalidSpecsAreRefusedWithTheOffendingPart() {
        for (String bad : new String[] {"", " ", "PID", "PID-0", "PID-3.0", "PI-3", "PID-3,", "PID-3.1.2", "PID_3"}) {
            assertThrows(IllegalArgumentException.class, () -> LogicalKey.parse(bad), bad);
        }
        assertEquals("'PID-x' is not a field path",
                assertThrows(IllegalArgumentException.class, () -> LogicalKey.parse("PID-3,PID-x")).getMessage());
    }
}
