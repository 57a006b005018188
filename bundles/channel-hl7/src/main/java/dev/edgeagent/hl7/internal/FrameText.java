package dev.edgeagent.hl7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.Charset;

/**
 * Decodes a frame to text. Netty's {@code ByteBuf.toString(Charset)} copies a direct buffer of more than 1 KiB into a
 * fresh scratch array before decoding, so a typical 1.5 KB message cost two allocations of its size; here the scratch
 * array is reused per I/O thread (one per event-loop thread, at most {@value #MAX_SCRATCH} bytes each).
 */
final class FrameText {
    static final int MAX_SCRATCH = 64 * 1024;
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };

    private FrameText() {}

    static String decode(ByteBuf frame, Charset cs) {
        int len = frame.readableBytes();
        if (frame.hasArray() || len > MAX_SCRATCH) {
            return frame.toString(cs);
        }
        byte[] a = SCRATCH.get();
        if (a.length < len) {
            a = new byte[Math.min(MAX_SCRATCH, Math.max(len, a.length * 2))];
            SCRATCH.set(a);
        }
        frame.getBytes(frame.readerIndex(), a, 0, len);
        return new String(a, 0, len, cs);
    }
}
