package dev.edgeagent.transport.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** First handler of a link channel: tells the transport that the server sent something, then passes it on. */
final class InboundClock extends ChannelInboundHandlerAdapter {
    private final WebSocketTransport transport;

    InboundClock(WebSocketTransport transport) {
        this.transport = transport;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        transport.onInbound(ctx.channel());
        ctx.fireChannelRead(msg);
    }
}
