package dev.edgeagent.hl7.internal;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Captures what slf4j-simple logs while open. slf4j-simple (not caching its stream) looks up
 * {@code System.err} on every line, so swapping it is enough; the text still reaches the real stream.
 */
final class OutboundLogCapture implements AutoCloseable {
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    OutboundLogCapture() {
        OutputStream tee = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (captured) {
                    captured.write(b);
                }
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (captured) {
                    captured.write(b, off, len);
                }
                original.write(b, off, len);
            }
        };
        System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    String text() {
        synchronized (captured) {
            return captured.toString(StandardCharsets.UTF_8);
        }
    }

    /** Waits up to 5 s for {@code fragment} to be logged. */
    boolean awaitLogged(String fragment) throws InterruptedException {
        return OutboundTestDevice.await(() -> text().contains(fragment), 5_000);
    }

    @Override
    public void close() {
        System.setErr(original);
    }
}
