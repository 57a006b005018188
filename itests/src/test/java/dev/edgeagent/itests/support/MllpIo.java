package dev.edgeagent.itests.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.Charset;

/**
 * Raw-byte MLLP framing and HL7 field access shared by the interop and fault tests. JDK only, so classes that run
 * inside Karaf via the Pax Exam probe may use it too.
 */
public final class MllpIo {
    /** Frames larger than this are a test failure, not something to buffer forever. */
    private static final int MAX_FRAME_BYTES = 1 << 20;

    private MllpIo() {}

    /** A port free on the loopback interface right now. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Whether something accepts TCP connections on the loopback port (500 ms connect timeout). */
    public static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public static byte[] frame(byte[] payload) {
        byte[] out = new byte[payload.length + 3];
        out[0] = 0x0b;
        System.arraycopy(payload, 0, out, 1, payload.length);
        out[out.length - 2] = 0x1c;
        out[out.length - 1] = 0x0d;
        return out;
    }

    /** Reads one VT … FS CR frame and returns the payload bytes untouched; null on EOF before a frame starts. */
    public static byte[] readFrame(InputStream in) throws IOException {
        int b;
        while ((b = in.read()) != 0x0b) {
            if (b < 0) {
                return null;
            }
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
        while ((b = in.read()) >= 0) {
            if (b == 0x1c) {
                int cr = in.read();
                if (cr != 0x0d) {
                    throw new IOException("MLLP frame ended with FS followed by " + cr + " instead of CR");
                }
                return buf.toByteArray();
            }
            if (buf.size() >= MAX_FRAME_BYTES) {
                throw new IOException("MLLP frame longer than " + MAX_FRAME_BYTES + " bytes");
            }
            buf.write(b);
        }
        throw new IOException("connection closed inside an MLLP frame after " + buf.size() + " bytes");
    }

    /** Sends one message encoded in {@code charset} over a fresh connection and returns the answer frame's raw bytes. */
    public static byte[] sendAndReceive(int port, String message, Charset charset, int timeoutMs) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            OutputStream out = s.getOutputStream();
            out.write(frame(message.getBytes(charset)));
            out.flush();
            byte[] answer = readFrame(s.getInputStream());
            if (answer == null) {
                throw new IOException("port " + port + " closed the connection without answering " + firstLine(message));
            }
            return answer;
        }
    }

    public static String firstLine(String message) {
        int cr = message.indexOf('\r');
        return cr < 0 ? message : message.substring(0, cr);
    }

    /** Field of the first segment named {@code segment}; MSH fields are numbered as in the standard. */
    public static String field(String message, String segment, int field) {
        for (String seg : message.split("[\r\n]+")) {
            if (seg.startsWith(segment + "|")) {
                String[] f = seg.split("\\|", -1);
                // MSH-1 is the separator itself, so MSH fields are shifted by one.
                int idx = segment.equals("MSH") ? field - 1 : field;
                return idx < f.length ? f[idx] : null;
            }
        }
        return null;
    }
}
