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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Raw-byte MLLP framing and HL7 field access shared by the interop and fault tests. JDK only, so classes that run
 * inside Karaf via the Pax Exam probe may use it too.
 */
public final class MllpIo {
    /** Frames larger than this are a test failure, not something to buffer forever. */
    private static final int MAX_FRAME_BYTES = 1 << 20;

    private MllpIo() {}

    /**
     * A port that is free on every interface now and stays out of the kernel's way until the agent binds it: it is
     * taken below the ephemeral range, because a port from that range (what binding port 0 returns) can be handed out
     * again to the hub's port-0 listener or as the source port of the agent's own connection to the hub before the
     * agent's channel binds it (seen as EADDRINUSE in CI). No port is returned twice by one test JVM.
     */
    public static int freePort() throws IOException {
        int[] range = ephemeralRange();
        int low = 10_000;
        int high = Math.min(range[0], 65_536) - 1;
        if (high - low >= 1_000) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int attempt = 0; attempt < 200; attempt++) {
                int port = low + random.nextInt(high - low + 1);
                if (bindable(port) && HANDED_OUT.add(port)) return port;
            }
        }
        while (true) { // no room below the ephemeral range (or not Linux): what the kernel gives
            try (ServerSocket s = new ServerSocket(0)) {
                if (HANDED_OUT.add(s.getLocalPort())) return s.getLocalPort();
            }
        }
    }

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private static int[] ephemeralRange() {
        try {
            String[] parts = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                    .trim().split("\\s+");
            return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
        } catch (IOException | RuntimeException e) {
            return new int[] {32_768, 60_999}; // Linux's default
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(port)); // the wildcard address, as the agent's channels bind
            return true;
        } catch (IOException e) {
            return false;
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
