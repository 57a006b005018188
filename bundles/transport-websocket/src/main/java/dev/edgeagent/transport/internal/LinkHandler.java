package dev.edgeagent.transport.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler.ClientHandshakeStateEvent;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/** Last handler of a link channel: turns Netty events into calls on the transport (same event loop). */
final class LinkHandler extends SimpleChannelInboundHandler<WebSocketFrame> {
    private final WebSocketTransport transport;

    LinkHandler(WebSocketTransport transport) {
        this.transport = transport;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
        if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame) {
            // Medplum accepts binary frames too and reads them as UTF-8 (spec §2.1). Parsed from the bytes, no String.
            transport.onFrame(ctx.channel(), frame.content());
        } else if (frame instanceof CloseWebSocketFrame) {
            CloseWebSocketFrame close = (CloseWebSocketFrame) frame;
            transport.onServerClose(ctx.channel(), close.statusCode(), close.reasonText());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
            transport.onOpen(ctx.channel());
        } else if (evt == ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
            transport.onHandshakeTimeout(ctx.channel());
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            transport.onWritable(ctx.channel());
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        transport.onError(ctx.channel(), cause);
    }
}
