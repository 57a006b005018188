package dev.edgeagent.hl7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ByteProcessor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.function.IntSupplier;

/**
 * Splits an MLLP byte stream into frames (each emitted as a {@link ByteBuf} holding the bytes between VT and
 * FS, which the next handler must release).
 * <ul>
 * <li>Bytes outside a frame (NUL, CR, LF, anything) are skipped and counted; a single CR right after FS is
 *     the normal trailer and is not counted.</li>
 * <li>A frame ends at FS whatever follows it. Waiting for the CR would hang a device that omits it, since it
 *     then waits for our ACK; FS cannot occur inside HL7 text, so this is safe.</li>
 * <li>A VT inside a frame means the peer abandoned the frame and started again: the partial frame is dropped
 *     (reported as an error) and the new frame is read.</li>
 * <li>Memory is bounded: a frame, or a run of junk without VT, longer than {@code maxFrameBytes} closes the
 *     connection. At most {@code maxFrameBytes} plus one socket read is ever held.</li>
 * </ul>
 * The limit is read on every call so a reconfiguration applies to open connections.
 */
final class MllpFrameDecoder extends ByteToMessageDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(MllpFrameDecoder.class);
    private static final ByteProcessor FIND_VT = b -> b != Mllp.VT;
    private static final ByteProcessor FIND_FS_OR_VT = b -> b != Mllp.FS && b != Mllp.VT;

    /** What the decoder reports to its channel. */
    interface Events {
        void junkSkipped(int bytes);

        void frameRejected(String reason);

        Events NONE = new Events() {
            @Override public void junkSkipped(int bytes) {}

            @Override public void frameRejected(String reason) {}
        };
    }

    private final String logPrefix;
    private final IntSupplier maxFrameBytes;
    private final Events events;
    private boolean inFrame;
    /** Bytes of the current frame already searched for FS, so split frames are not rescanned. */
    private int scanned;
    private long junkRun;
    private boolean afterFrame;
    private boolean failed;

    MllpFrameDecoder(String logPrefix, IntSupplier maxFrameBytes, Events events) {
        this.logPrefix = logPrefix;
        this.maxFrameBytes = maxFrameBytes;
        this.events = events;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int max = maxFrameBytes.getAsInt();
        while (in.isReadable()) {
            if (!inFrame) {
                if (afterFrame) {
                    afterFrame = false;
                    if (in.getByte(in.readerIndex()) == Mllp.CR) {
                        in.skipBytes(1);
                        continue;
                    }
                }
                int vt = in.forEachByte(FIND_VT);
                int skip = vt < 0 ? in.readableBytes() : vt - in.readerIndex();
                if (skip > 0) {
                    in.skipBytes(skip);
                    junkRun += skip;
                    events.junkSkipped(skip);
                }
                if (vt < 0) {
                    if (junkRun > max) {
                        fail(ctx, in, "received " + junkRun + " bytes without a frame start (VT), limit maxFrameBytes="
                                + max);
                    }
                    return;
                }
                if (junkRun > 0 && LOG.isDebugEnabled()) {
                    LOG.debug("{}Skipped {} bytes before a frame from {}", logPrefix, junkRun, peer(ctx));
                }
                junkRun = 0;
                in.skipBytes(1); // VT
                inFrame = true;
                scanned = 0;
            } else {
                int from = in.readerIndex() + scanned;
                int idx = in.forEachByte(from, in.writerIndex() - from, FIND_FS_OR_VT);
                if (idx < 0) {
                    scanned = in.readableBytes();
                    if (scanned > max) {
                        fail(ctx, in, "frame exceeds maxFrameBytes=" + max + " (" + scanned + " bytes without an end byte)");
                    }
                    return;
                }
                int length = idx - in.readerIndex();
                if (length > max) {
                    fail(ctx, in, "frame of " + length + " bytes exceeds maxFrameBytes=" + max);
                    return;
                }
                if (in.getByte(idx) == Mllp.VT) {
                    String reason = "incomplete frame of " + length + " bytes from " + peer(ctx)
                            + " discarded: a new frame started (VT) before the end byte (FS)";
                    LOG.warn("{}{}", logPrefix, reason);
                    events.frameRejected(reason);
                    in.readerIndex(idx + 1);
                    scanned = 0;
                    continue;
                }
                out.add(in.readRetainedSlice(length));
                in.skipBytes(1); // FS
                inFrame = false;
                afterFrame = true;
            }
        }
    }

    private void fail(ChannelHandlerContext ctx, ByteBuf in, String reason) {
        failed = true;
        in.skipBytes(in.readableBytes()); // lets the decoder free the cumulation now, not at close
        String text = "Closing connection from " + peer(ctx) + ": " + reason;
        LOG.warn("{}{}", logPrefix, text);
        events.frameRejected(text);
        ctx.close();
    }

    private static String peer(ChannelHandlerContext ctx) {
        return Mllp.remoteKey(ctx.channel().remoteAddress());
    }
}
