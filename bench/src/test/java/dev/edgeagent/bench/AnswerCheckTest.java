package dev.edgeagent.bench;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AnswerCheckTest {
    private static byte[] ack(String code, String id) {
        return ("MSH|^~\\&|A|B|C|D|20250101||ACK^A01^ACK|X" + id + "|P|2.5.1\rMSA|" + code + "|" + id + "\r")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static Mllp.Reader frames(byte[]... payloads) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : payloads) {
            Mllp.write(out, p);
        }
        return new Mllp.Reader(new ByteArrayInputStream(out.toByteArray()));
    }

    private static void check(Expect e, String id, byte[]... answers) throws Exception {
        e.await(frames(answers), id, 1 << 16, new long[1]);
    }

    @Test
    void parsesMsaAndErr() {
        Answer a = Answer.parse("MSH|^~\\&|A|B\rMSA|AE|ID7|Bad PID\rERR|||207^Application internal error^HL70357\r".getBytes(StandardCharsets.US_ASCII));
        assertEquals("AE", a.code());
        assertEquals("ID7", a.controlId());
        assertTrue(a.text().contains("Bad PID") && a.text().contains("207"));
        assertThrows(IllegalArgumentException.class, () -> Answer.parse("MSH|^~\\&|A\r".getBytes(StandardCharsets.US_ASCII)));
        assertThrows(IllegalArgumentException.class, () -> Answer.parse("hello".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void aaModeAcceptsOnlyAaForTheSameId() {
        assertDoesNotThrow(() -> check(Expect.AA, "ID1", ack("AA", "ID1")));
        Expect.BadAnswer wrongId = assertThrows(Expect.BadAnswer.class, () -> check(Expect.AA, "ID1", ack("AA", "ID2")));
        assertTrue(wrongId.getMessage().contains("ID1") && wrongId.getMessage().contains("'ID2'"), wrongId.getMessage());
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.AA, "ID1", ack("AE", "ID1")));
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.AA, "ID1", ack("CA", "ID1")));
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.AA, "ID1", "garbage".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void caPlusAaNeedsBothInEitherOrder() {
        assertDoesNotThrow(() -> check(Expect.CA_AA, "ID1", ack("CA", "ID1"), ack("AA", "ID1")));
        assertDoesNotThrow(() -> check(Expect.CA_AA, "ID1", ack("AA", "ID1"), ack("CA", "ID1")));
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.CA_AA, "ID1", ack("CA", "ID1"), ack("CA", "ID1")));
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.CA_AA, "ID1", ack("CA", "ID1"), ack("AE", "ID1")));
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.CA_AA, "ID1", ack("CE", "ID1"), ack("AA", "ID1")));
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.CA_AA, "ID1", ack("CA", "ID1"), ack("AA", "ID0")));
        // only the CA arrives, then the peer closes: an error, never a silent success
        assertThrows(EOFException.class, () -> check(Expect.CA_AA, "ID1", ack("CA", "ID1")));
    }

    @Test
    void anyAcceptsEveryCodeButStillChecksTheId() {
        assertDoesNotThrow(() -> check(Expect.ANY, "ID1", ack("AR", "ID1")));
        assertThrows(Expect.BadAnswer.class, () -> check(Expect.ANY, "ID1", ack("AA", "other")));
    }

    @Test
    void expectOptionNames() {
        assertEquals(Expect.CA_AA, Expect.parse("ca+aa"));
        assertEquals(Expect.AA, Expect.parse("AA"));
        assertThrows(IllegalArgumentException.class, () -> Expect.parse("CA"));
    }

    @Test
    void readerSkipsJunkAndBoundsFrames() throws IOException {
        byte[] in = "\r\n\0\u000bMSH|x\u001c\r\u000bMSH|y\u001c\r".getBytes(StandardCharsets.US_ASCII);
        Mllp.Reader r = new Mllp.Reader(new ByteArrayInputStream(in));
        assertEquals("MSH|x", new String(r.read(100), StandardCharsets.US_ASCII));
        assertEquals("MSH|y", new String(r.read(100), StandardCharsets.US_ASCII));
        assertEquals(null, r.read(100));
        byte[] big = new byte[5000];
        java.util.Arrays.fill(big, (byte) 'A');
        big[0] = Mllp.VT;
        IOException e = assertThrows(IOException.class, () -> new Mllp.Reader(new ByteArrayInputStream(big)).read(1024));
        assertTrue(e.getMessage().contains("1024"));
    }

    @Test
    void rssLineParsing() {
        assertEquals(123456, RssSampler.parseKb("\t  123456 kB"));
    }
}
