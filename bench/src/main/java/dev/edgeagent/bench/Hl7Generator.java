package dev.edgeagent.bench;

import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds a realistic ADT^A01 (about 1.5 KB, 17 segments, repetitions and components as real ADT feeds carry)
 * with a unique MSH-10 per message. The body is split once into a prefix and a suffix around MSH-10, so
 * producing a message is two array copies: the generator never competes with the system under test for CPU.
 */
public final class Hl7Generator {
    /** Replaced by the control id; kept out of every other field so a plain split is safe. */
    private static final String ID_MARK = "@@ID@@";

    private final byte[] prefix;
    private final byte[] suffix;
    private final String idPrefix;

    public Hl7Generator() {
        this(runTag());
    }

    /** @param idPrefix a few characters unique to this run, so ids never collide with an earlier run's. */
    public Hl7Generator(String idPrefix) {
        this.idPrefix = idPrefix;
        String ts = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss"));
        String msg = template(ts);
        int at = msg.indexOf(ID_MARK);
        prefix = msg.substring(0, at).getBytes(StandardCharsets.US_ASCII);
        suffix = msg.substring(at + ID_MARK.length()).getBytes(StandardCharsets.US_ASCII);
    }

    /** MSH-10 of message number {@code seq}: at most 20 characters (the ST length of MSH-10 in v2.5). */
    public String controlId(long seq) {
        return idPrefix + seq;
    }

    /** The message bytes (no MLLP framing) for control id {@code id}. */
    public byte[] message(String id) {
        byte[] idb = id.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[prefix.length + idb.length + suffix.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(idb, 0, out, prefix.length, idb.length);
        System.arraycopy(suffix, 0, out, prefix.length + idb.length, suffix.length);
        return out;
    }

    static String runTag() {
        // 6 base-36 chars from the clock and a random draw: 'B' + tag + up to 12 digits stays within 20 chars.
        long v = (System.currentTimeMillis() ^ ThreadLocalRandom.current().nextLong()) & 0x7fffffffffL;
        String s = Long.toString(v, 36).toUpperCase();
        s = s.length() > 6 ? s.substring(s.length() - 6) : "000000".substring(s.length()) + s;
        return "B" + s;
    }

    private static String template(String ts) {
        String[] segs = {
            "MSH|^~\\&|EPICADT|GOODHEALTH|EDGEAGENT|BENCHLAB|" + ts + "||ADT^A01^ADT_A01|" + ID_MARK + "|P|2.5.1|||AL|NE|USA|UNICODE UTF-8",
            "EVN|A01|" + ts + "|||C123^CHEN^SAMUEL|" + ts,
            "PID|1||PATID1234^^^GOODHEALTH^MR~123456789^^^USSSA^SS~987654^^^GOODHEALTH^PI||EVERYWOMAN^EVE^ELIZABETH^^MRS^^L||19620320|F||2106-3^White^CDCREC|2222 HOME STREET^APT 4B^GREENSBORO^NC^27401-1020^USA^H||^PRN^PH^^1^555^5552004|^WPN^PH^^1^555^5553001|EN^English^ISO639|M^Married^HL70002|CHR^Christian^HL70006|ACC0001234567^^^GOODHEALTH^AN|444-33-3333|||N^Not Hispanic or Latino^HL70189",
            "NK1|1|EVERYMAN^ADAM^A^^MR|SPO^Spouse^HL70063|2222 HOME STREET^APT 4B^GREENSBORO^NC^27401-1020^USA|^PRN^PH^^1^555^5552004||EC^Emergency Contact^HL70131",
            "PV1|1|I|4EAST^402^B^GOODHEALTH^^^^N|E^Emergency^HL70007|||C123^CHEN^SAMUEL^^^DR^MD^^^^^^^NPI|R456^ROSSI^MARIA^^^DR^MD||MED||||7|A0||C123^CHEN^SAMUEL^^^DR^MD^^^^^^^NPI|IN||COMM|||||||||||||||||||GOODHEALTH||A|||" + ts,
            "PV2|||CHEST PAIN^Chest pain, unspecified^I10||||||" + ts.substring(0, 8) + "|3",
            "OBX|1|NM|8302-2^Body height^LN||165|cm^centimeter^UCUM|||||F|||" + ts,
            "OBX|2|NM|29463-7^Body weight^LN||72.5|kg^kilogram^UCUM|||||F|||" + ts,
            "OBX|3|NM|8867-4^Heart rate^LN||88|/min^per minute^UCUM|60-100||||F|||" + ts,
            "OBX|4|NM|8480-6^Systolic blood pressure^LN||142|mm[Hg]^millimeter of mercury^UCUM|90-139|H|||F|||" + ts,
            "AL1|1|DA|70618^Penicillin^RXNORM|SV^Severe^HL70128|Anaphylaxis~Hives|20010415",
            "DG1|1||I20.9^Angina pectoris, unspecified^I10||" + ts + "|A|||||||||1|C123^CHEN^SAMUEL^^^DR^MD",
        };
        return String.join("\r", segs) + "\r";
    }
}
