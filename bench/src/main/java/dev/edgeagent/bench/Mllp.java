package dev.edgeagent.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Blocking MLLP framing (VT payload FS CR) on buffered streams; one reader per socket, not thread-safe. */
public final class Mllp {
    public static final int VT = 0x0B;
    public static final int FS = 0x1C;
    public static final int CR = 0x0D;

    private Mllp() {
    }

    /** Writes one frame with a single write call, so it leaves in one TCP segment when small enough. */
    public static void write(OutputStream out, byte[] payload) throws IOException {
        byte[] frame = new byte[payload.length + 3];
        frame[0] = VT;
        System.arraycopy(payload, 0, frame, 1, payload.length);
        frame[frame.length - 2] = FS;
        frame[frame.length - 1] = CR;
        out.write(frame);
        out.flush();
    }

    /**
     * Reads frames from one socket with its own unsynchronised buffer (BufferedInputStream takes a lock per
     * byte, which on a 2-core box is CPU taken from the system under test). Bytes before VT are skipped (a
     * sloppy peer's CR/LF between frames); a frame over {@code maxBytes} is an error, not unbounded buffering.
     */
    public static final class Reader {
        private final InputStream in;
        private final byte[] buf = new byte[16384];
        private int pos;
        private int lim;

        public Reader(InputStream in) {
            this.in = in;
        }

        private int next() throws IOException {
            if (pos == lim) {
                lim = in.read(buf, 0, buf.length);
                pos = 0;
                if (lim <= 0) {
                    lim = 0;
                    return -1;
                }
            }
            return buf[pos++] & 0xff;
        }

        /** @return the next frame's payload, or null on a clean end of stream before any VT */
        public byte[] read(int maxBytes) throws IOException {
            int b;
            do {
                b = next();
                if (b < 0) {
                    return null;
                }
            } while (b != VT);
            byte[] out = new byte[512];
            int n = 0;
            while (true) {
                b = next();
                if (b < 0) {
                    throw new EOFException("connection closed inside an MLLP frame after " + n + " bytes");
                }
                if (b == FS) {
                    int c = next();
                    if (c == CR || c < 0) {
                        return java.util.Arrays.copyOf(out, n);
                    }
                    throw new IOException("MLLP frame: FS followed by 0x" + Integer.toHexString(c) + " instead of CR");
                }
                if (n == out.length) {
                    if (n >= maxBytes) {
                        throw new IOException("MLLP frame exceeds " + maxBytes + " bytes");
                    }
                    out = java.util.Arrays.copyOf(out, Math.min(maxBytes, n * 2));
                }
                out[n++] = (byte) b;
            }
        }
    }
}
