package dev.edgeagent.hl7.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FrameTextTest {
    private static final Charset[] CHARSETS = {StandardCharsets.UTF_8, StandardCharsets.ISO_8859_1, Charset.forName("windows-1252")};

    @Test
    void decodesLikeNettyForEverySizeAndBufferKind() {
        String unit = "MSH|^~\\&|Müller^José|Łukasz 東京|€\r";
        for (int size : new int[] {0, 1, 100, 1024, 1500, 4096, 5000, 70_000, FrameText.MAX_SCRATCH + 1}) {
            StringBuilder b = new StringBuilder();
            while (b.length() < size) {
                b.append(unit);
            }
            String text = b.substring(0, size);
            for (Charset cs : CHARSETS) {
                byte[] bytes = text.getBytes(cs);
                for (ByteBuf buf : new ByteBuf[] {Unpooled.wrappedBuffer(bytes), direct(bytes)}) {
                    // A frame is a slice of the cumulation: not at index 0 of its buffer.
                    ByteBuf frame = buf.retainedSlice(buf.readerIndex(), bytes.length);
                    assertEquals(text.length() == 0 ? "" : new String(bytes, cs), FrameText.decode(frame, cs), size + " bytes " + cs + " " + buf.getClass());
                    frame.release();
                    buf.release();
                }
            }
        }
    }

    @Test
    void aSmallFrameAfterALargeOneIsNotPaddedWithItsBytes() {
        ByteBuf big = direct("x".repeat(9000).getBytes(StandardCharsets.US_ASCII));
        ByteBuf small = direct("MSH|ok".getBytes(StandardCharsets.US_ASCII));
        assertEquals(9000, FrameText.decode(big, StandardCharsets.US_ASCII).length());
        assertEquals("MSH|ok", FrameText.decode(small, StandardCharsets.US_ASCII));
        big.release();
        small.release();
    }

    private static ByteBuf direct(byte[] bytes) {
        ByteBuf d = PooledByteBufAllocator.DEFAULT.directBuffer(bytes.length + 16);
        d.writeZero(7);
        d.writeBytes(bytes);
        d.readerIndex(7);
        return d;
    }
}
