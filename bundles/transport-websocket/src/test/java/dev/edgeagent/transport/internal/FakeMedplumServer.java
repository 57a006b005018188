package dev.edgeagent.transport.internal;

import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageTypes;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small server speaking the server side of the Medplum agent protocol on 127.0.0.1, port 0: the OAuth2
 * token endpoint (JWT-shaped tokens), FHIR read / Binary create, and {@code /ws/agent}. Behaviour switches
 * are volatile fields the tests flip.
 */
final class FakeMedplumServer implements AutoCloseable {
    /** A frame the agent sent, with the number of the WebSocket connection it came on (1-based). */
    record Received(int connection, AgentMessage message) {}

    final String clientId;
    final String clientSecret;
    volatile boolean answerConnect = true;
    /** A token the server no longer accepts, as after a restart with new signing keys. */
    volatile String rejectedToken;
    volatile boolean answerHeartbeats = true;
    /** Keep every socket open and keep reading, but send nothing at all (a hung server behind a live TCP path). */
    volatile boolean silent;
    /** When the server last wrote anything to an agent WebSocket (upgrade response included). */
    volatile long lastWriteToAgentNanos;
    /** Accept the TCP connection and the upgrade request, but never answer it. */
    volatile boolean stallUpgrade;
    volatile int failLogins;
    volatile long tokenLifetimeSeconds = 3600;
    volatile int rest401Remaining;
    final AtomicInteger tokenRequests = new AtomicInteger();
    final AtomicInteger connections = new AtomicInteger();
    final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    final List<String> issuedTokens = new CopyOnWriteArrayList<>();
    final Set<String> validTokens = ConcurrentHashMap.newKeySet();
    final Map<String, Map<String, Object>> resources = new ConcurrentHashMap<>();
    final List<byte[]> binaries = new CopyOnWriteArrayList<>();
    volatile String lastBinaryContentType;
    volatile String lastCacheControl;

    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel server;
    private final List<Channel> sockets = new CopyOnWriteArrayList<>();

    private final io.netty.handler.ssl.SslContext tls;

    FakeMedplumServer(String clientId, String clientSecret) throws InterruptedException {
        this(clientId, clientSecret, null);
    }

    FakeMedplumServer(String clientId, String clientSecret, io.netty.handler.ssl.SslContext tls) throws InterruptedException {
        this.tls = tls;
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(16 * 1024 * 1024), new Handler());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((java.net.InetSocketAddress) server.localAddress()).getPort();
    }

    String baseUrl() {
        return (tls == null ? "http" : "https") + "://127.0.0.1:" + port() + "/";
    }

    /** Sends a frame to the most recent agent socket. */
    void sendToAgent(AgentMessage m) {
        sendRaw(MessageCodec.encode(m));
    }

    void sendRaw(String text) {
        Channel ch = sockets.get(sockets.size() - 1);
        lastWriteToAgentNanos = System.nanoTime();
        ch.writeAndFlush(new TextWebSocketFrame(text));
    }

    /** Closes every agent socket with a WebSocket close frame. */
    void closeAgentSockets() {
        for (Channel ch : sockets) {
            ch.writeAndFlush(new CloseWebSocketFrame(1001, "going away")).addListener(ChannelFutureListener.CLOSE);
        }
    }

    int openSockets() {
        int n = 0;
        for (Channel ch : sockets) {
            n += ch.isActive() ? 1 : 0;
        }
        return n;
    }

    /** The next frame of the given type (skipping others), or null after the timeout. */
    Received next(String type, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (true) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                return null;
            }
            Received r = received.poll(left, TimeUnit.MILLISECONDS);
            if (r == null) {
                return null;
            }
            if (r.message().type().equals(type)) {
                return r;
            }
        }
    }

    /** Every frame received so far of the given type, without waiting. */
    List<Received> drain(String type) {
        List<Received> all = new ArrayList<>();
        received.drainTo(all);
        all.removeIf(r -> !r.message().type().equals(type));
        return all;
    }

    @Override
    public void close() {
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private String issueToken() {
        long exp = System.currentTimeMillis() / 1000 + tokenLifetimeSeconds;
        String header = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        String payload = b64("{\"client_id\":\"" + clientId + "\",\"exp\":" + exp + ",\"n\":" + tokenRequests.get() + "}");
        String token = header + "." + payload + ".sig";
        issuedTokens.add(token);
        validTokens.add(token);
        return token;
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String outcome(String text) {
        return "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"processing\",\"details\":{\"text\":\""
                + text + "\"}}]}";
    }

    private final class Handler extends SimpleChannelInboundHandler<Object> {
        private WebSocketServerHandshaker handshaker;
        private int connection;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpRequest) {
                http(ctx, (FullHttpRequest) msg);
            } else if (msg instanceof WebSocketFrame) {
                frame(ctx, (WebSocketFrame) msg);
            }
        }

        private void http(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = new QueryStringDecoder(req.uri()).path();
            if (path.equals("/ws/agent")) {
                if (stallUpgrade) {
                    connections.incrementAndGet();
                    sockets.add(ctx.channel());
                    return;
                }
                handshaker = new WebSocketServerHandshakerFactory("ws://127.0.0.1/ws/agent", null, false, 64 * 1024 * 1024)
                        .newHandshaker(req);
                connection = connections.incrementAndGet();
                sockets.add(ctx.channel());
                lastWriteToAgentNanos = System.nanoTime();
                handshaker.handshake(ctx.channel(), req);
                return;
            }
            if (path.equals("/oauth2/token") && req.method().equals(HttpMethod.POST)) {
                tokenRequests.incrementAndGet();
                QueryStringDecoder form = new QueryStringDecoder(req.content().toString(StandardCharsets.UTF_8), false);
                Map<String, List<String>> p = form.parameters();
                boolean ok = List.of("client_credentials").equals(p.get("grant_type"))
                        && List.of(clientId).equals(p.get("client_id")) && List.of(clientSecret).equals(p.get("client_secret"));
                if (failLogins > 0) {
                    failLogins--;
                    ok = false;
                }
                if (!ok) {
                    respond(ctx, HttpResponseStatus.BAD_REQUEST, "{\"error\":\"invalid_request\",\"error_description\":\"Invalid secret\"}");
                    return;
                }
                respond(ctx, HttpResponseStatus.OK, "{\"token_type\":\"Bearer\",\"access_token\":\"" + issueToken()
                        + "\",\"expires_in\":" + tokenLifetimeSeconds + "}");
                return;
            }
            if (path.startsWith("/fhir/R4/")) {
                String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION, "");
                lastCacheControl = req.headers().get(HttpHeaderNames.CACHE_CONTROL);
                if (!auth.startsWith("Bearer ") || !validTokens.contains(auth.substring(7)) || rest401Remaining > 0) {
                    if (rest401Remaining > 0) {
                        rest401Remaining--;
                    }
                    respond(ctx, HttpResponseStatus.UNAUTHORIZED, outcome("Unauthorized"));
                    return;
                }
                String rest = path.substring("/fhir/R4/".length());
                if (rest.equals("Binary") && req.method().equals(HttpMethod.POST)) {
                    byte[] body = new byte[req.content().readableBytes()];
                    req.content().readBytes(body);
                    binaries.add(body);
                    lastBinaryContentType = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
                    respond(ctx, HttpResponseStatus.CREATED, "{\"resourceType\":\"Binary\",\"id\":\"bin-" + binaries.size() + "\"}");
                    return;
                }
                Map<String, Object> r = resources.get(rest);
                if (r == null) {
                    respond(ctx, HttpResponseStatus.NOT_FOUND, outcome("Not found"));
                } else {
                    respond(ctx, HttpResponseStatus.OK, MessageCodec.toJson(r));
                }
                return;
            }
            respond(ctx, HttpResponseStatus.NOT_FOUND, "no such path");
        }

        private void frame(ChannelHandlerContext ctx, WebSocketFrame frame) {
            if (frame instanceof CloseWebSocketFrame) {
                handshaker.close(ctx.channel(), (CloseWebSocketFrame) frame.retain());
                return;
            }
            if (!(frame instanceof TextWebSocketFrame)) {
                return;
            }
            AgentMessage m;
            try {
                m = MessageCodec.decode(((TextWebSocketFrame) frame).text());
            } catch (Exception e) {
                return;
            }
            received.add(new Received(connection, m));
            if (silent) {
                return;
            }
            if (m.type().equals(MessageTypes.CONNECT_REQUEST) && m.accessToken() != null && m.accessToken().equals(rejectedToken)) {
                lastWriteToAgentNanos = System.nanoTime();
                ctx.writeAndFlush(new TextWebSocketFrame(MessageCodec.encode(AgentMessage.error("Invalid access token", null))));
            } else if (m.type().equals(MessageTypes.CONNECT_REQUEST) && answerConnect) {
                lastWriteToAgentNanos = System.nanoTime();
                ctx.writeAndFlush(new TextWebSocketFrame(MessageCodec.encode(AgentMessage.of(MessageTypes.CONNECT_RESPONSE))));
            } else if (m.type().equals(MessageTypes.HEARTBEAT_REQUEST) && answerHeartbeats) {
                lastWriteToAgentNanos = System.nanoTime();
                ctx.writeAndFlush(new TextWebSocketFrame(MessageCodec.encode(AgentMessage.heartbeatResponse("9.9.9-test"))));
            }
        }

        private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
            ctx.writeAndFlush(res);
        }
    }
}
