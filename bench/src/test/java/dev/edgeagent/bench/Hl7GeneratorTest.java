package dev.edgeagent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Hl7GeneratorTest {
    private final Hl7Generator gen = new Hl7Generator();

    @Test
    void idsAreUniqueAndFitMsh10() {
        Set<String> ids = new HashSet<>();
        for (long i = 1; i <= 10_000; i++) {
            assertTrue(ids.add(gen.controlId(i)));
        }
        assertTrue(gen.controlId(999_999_999_999L).length() <= 20, gen.controlId(999_999_999_999L));
        assertEquals("BTAG01" + "77", new Hl7Generator("BTAG01").controlId(77));
        assertEquals(7, Hl7Generator.runTag().length());
    }

    @Test
    void messageIsAboutOnePointFiveKilobytes() {
        int len = gen.message(gen.controlId(123456)).length;
        assertTrue(len >= 1400 && len <= 1700, "length " + len);
    }

    @Test
    void mshIsValidAndCarriesTheId() {
        String id = gen.controlId(42);
        String msg = new String(gen.message(id), StandardCharsets.US_ASCII);
        assertTrue(msg.startsWith("MSH|^~\\&|"));
        assertTrue(msg.endsWith("\r"));
        assertFalse(msg.contains("\n"));
        assertFalse(msg.contains("@@"));
        String msh = msg.substring(0, msg.indexOf('\r'));
        String[] f = msh.split("\\|", -1);
        // f[0]="MSH", so f[n] is MSH-(n+1)
        assertEquals("ADT^A01^ADT_A01", f[8]);
        assertEquals(id, f[9]);
        assertEquals("P", f[10]);
        assertEquals("2.5.1", f[11]);
        assertEquals(14, f[6].length(), "MSH-7 timestamp");
        assertEquals(id, Responder.controlId(gen.message(id)));
    }

    @Test
    void containsTheSegmentsOfARealAdt() {
        String msg = new String(gen.message("X1"), StandardCharsets.US_ASCII);
        List<String> types = new ArrayList<>();
        for (String seg : msg.split("\r")) {
            types.add(seg.substring(0, 3));
        }
        for (String t : List.of("MSH", "EVN", "PID", "NK1", "PV1", "PV2", "OBX", "AL1", "DG1")) {
            assertTrue(types.contains(t), t);
        }
        assertTrue(types.stream().filter("OBX"::equals).count() >= 3);
        String pid = msg.split("\r")[2];
        assertTrue(pid.split("\\|")[3].contains("~"), "PID-3 has repetitions");
    }
}
