package dev.edgeagent.hl7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MllpFrameDecoderTest {
    private final AtomicLong junk = new AtomicLong();
    private final AtomicInteger rejected = new AtomicInteger();
    private final MllpFrameDecoder.Events events = new MllpFrameDecoder.Events() {
        @Override
        public void junkSkipped(int bytes) {
            junk.addAndGet(bytes);
        }

        @Override
        public void frameRejected(String reason) {
            rejected.incrementAndGet();
        }
    };

    private EmbeddedChannel channel(int max) {
        return new EmbeddedChannel(new MllpFrameDecoder("[HL7:test] ", () -> max, events));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static List<String> drain(EmbeddedChannel ch) {
        List<String> out = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readInbound()) != null) {
            out.add(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out;
    }

    @Test
    void oneFrame() {
        EmbeddedChannel ch = channel(1024);
        ch.writeInbound(Unpooled.wrappedBuffer(TestSupport.frame(bytes("MSH|a\rPID|1"))));
        assertEquals(List.of("MSH|a\rPID|1"), drain(ch));
        assertEquals(0, junk.get());
        assertTrue(ch.isActive());
    }

    @Test
    void frameSplitByteByByte() {
        EmbeddedChannel ch = channel(1024);
        byte[] f = TestSupport.frame(bytes(TestSupport.ADT));
        List<String> out = new ArrayList<>();
        for (byte b : f) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
            out.addAll(drain(ch));
        }
        assertEquals(List.of(TestSupport.ADT), out);
        assertEquals(0, junk.get());
    }

    @Test
    void twoFramesInOneBuffer() {
        EmbeddedChannel ch = channel(1024);
        byte[] a = TestSupport.frame(bytes("MSH|1"));
        byte[] b = TestSupport.frame(bytes("MSH|2"));
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        ch.writeInbound(Unpooled.wrappedBuffer(both));
        assertEquals(List.of("MSH|1", "MSH|2"), drain(ch));
    }

    @Test
    void junkBetweenFramesIsSkippedAndCounted() {
        EmbeddedChannel ch = channel(1024);
        byte[] random = new byte[200];
        new Random(42).nextBytes(random);
        for (int i = 0; i < random.length; i++) {
            if (random[i] == Mllp.VT) random[i] = 0; // a VT would legitimately start a frame
        }
        ch.writeInbound(Unpooled.wrappedBuffer(bytes("\r\n\0")));
        ch.writeInbound(Unpooled.wrappedBuffer(TestSupport.frame(bytes("MSH|1"))));
        ch.writeInbound(Unpooled.wrappedBuffer(random));
        ch.writeInbound(Unpooled.wrappedBuffer(bytes("\r\n\0")));
        ch.writeInbound(Unpooled.wrappedBuffer(TestSupport.frame(bytes("MSH|2"))));
        assertEquals(List.of("MSH|1", "MSH|2"), drain(ch));
        assertEquals(3 + 200 + 3, junk.get());
        assertTrue(ch.isActive());
    }

    @Test
    void frameEndingInFsWithoutCrIsAccepted() {
        EmbeddedChannel ch = channel(1024);
        // FS then immediately the next VT: no CR at all.
        ch.writeInbound(Unpooled.wrappedBuffer(bytes("\u000bMSH|1\u001c\u000bMSH|2\u001c")));
        assertEquals(List.of("MSH|1", "MSH|2"), drain(ch));
        assertEquals(0, junk.get());
    }

    @Test
    void frameAbandonedMidwayIsDroppedAndTheNextOneRead() {
        EmbeddedChannel ch = channel(1024);
        ch.writeInbound(Unpooled.wrappedBuffer(bytes("\u000bMSH|partial\u000bMSH|2\u001c\r")));
        assertEquals(List.of("MSH|2"), drain(ch));
        assertEquals(1, rejected.get());
        assertTrue(ch.isActive());
    }

    @Test
    void oversizeFrameClosesTheConnection() {
        EmbeddedChannel ch = channel(100);
        ch.writeInbound(Unpooled.wrappedBuffer(TestSupport.frame(new byte[101])));
        assertTrue(drain(ch).isEmpty());
        assertFalse(ch.isActive());
        assertEquals(1, rejected.get());
    }

    @Test
    void frameOfExactlyTheLimitIsAccepted() {
        EmbeddedChannel ch = channel(100);
        byte[] content = new byte[100];
        java.util.Arrays.fill(content, (byte) 'x');
        ch.writeInbound(Unpooled.wrappedBuffer(TestSupport.frame(content)));
        assertEquals(1, drain(ch).size());
        assertTrue(ch.isActive());
    }

    @Test
    void endlessFrameStaysBounded() {
        int max = 1024 * 1024;
        int chunk = 64 * 1024;
        EmbeddedChannel ch = channel(max);
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {Mllp.VT}));
        byte[] data = new byte[chunk];
        java.util.Arrays.fill(data, (byte) 'A');
        long fed = 0;
        long hundredMb = 100L * 1024 * 1024;
        while (fed < hundredMb && ch.isActive()) {
            ch.writeInbound(Unpooled.wrappedBuffer(data));
            fed += chunk;
        }
        assertFalse(ch.isActive(), "connection must be closed");
        assertTrue(fed <= max + chunk, "closed only after " + fed + " bytes");
        assertNull(ch.readInbound());
        assertEquals(1, rejected.get());
    }

    @Test
    void endlessJunkWithoutStartByteStaysBounded() {
        int max = 256 * 1024;
        int chunk = 64 * 1024;
        EmbeddedChannel ch = channel(max);
        byte[] data = new byte[chunk]; // NULs
        long fed = 0;
        while (fed < 100L * 1024 * 1024 && ch.isActive()) {
            ch.writeInbound(Unpooled.wrappedBuffer(data));
            fed += chunk;
        }
        assertFalse(ch.isActive());
        assertTrue(fed <= max + chunk, "closed only after " + fed + " bytes");
    }

    @Test
    void limitIsReadOnEveryCall() {
        AtomicInteger max = new AtomicInteger(10);
        EmbeddedChannel ch = new EmbeddedChannel(new MllpFrameDecoder("", max::get, events));
        max.set(1000);
        ch.writeInbound(Unpooled.wrappedBuffer(TestSupport.frame(new byte[500])));
        assertEquals(1, drain(ch).size());
        assertTrue(ch.isActive());
    }
}
