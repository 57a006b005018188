package dev.edgeagent.hl7.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.Charset;

/** MLLP framing bytes and the outbound frame writer. */
final class Mllp {
    static final byte VT = 0x0B;
    static final byte FS = 0x1C;
    static final byte CR = 0x0D;

    private Mllp() {}

    /** VT + text encoded with {@code charset} + FS CR. */
    static ByteBuf frame(ByteBufAllocator alloc, String text, Charset charset) {
        byte[] bytes = text.getBytes(charset);
        ByteBuf buf = alloc.buffer(bytes.length + 3);
        buf.writeByte(VT).writeBytes(bytes).writeByte(FS).writeByte(CR);
        return buf;
    }

    /** Describes a peer as {@code <ip>:<port>}, the remote key Medplum uses (spec Q15). */
    static String remoteKey(java.net.SocketAddress address) {
        if (address instanceof java.net.InetSocketAddress) {
            java.net.InetSocketAddress isa = (java.net.InetSocketAddress) address;
            String host = isa.getAddress() != null ? isa.getAddress().getHostAddress() : isa.getHostString();
            int pct = host.indexOf('%'); // IPv6 scope ids are not part of Node's remoteAddress
            if (pct >= 0) host = host.substring(0, pct);
            return host + ":" + isa.getPort();
        }
        return String.valueOf(address);
    }
}
