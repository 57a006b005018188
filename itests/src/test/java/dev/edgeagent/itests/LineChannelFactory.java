package dev.edgeagent.itests;

import dev.edgeagent.api.channel.Channel;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.ConfigIssue;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.InboundMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A second protocol bundle's worth of channel, registered from inside the test probe: one text line in, the
 * server's answer out. It proves that channels of other bundles keep working while channel-hl7 is swapped.
 */
final class LineChannelFactory implements ChannelFactory {

    @Override
    public String type() {
        return "LINE";
    }

    @Override
    public Set<String> schemes() {
        return Set.of("tcp");
    }

    @Override
    public List<ConfigIssue> validate(ChannelConfig config) {
        return List.of();
    }

    @Override
    public Channel create(ChannelConfig config, ChannelContext context) {
        return new LineChannel(config, context);
    }

    static final class LineChannel implements Channel {
        private final ChannelConfig config;
        private final ChannelContext context;
        private final AtomicLong in = new AtomicLong();
        private final AtomicLong out = new AtomicLong();
        private volatile ServerSocket server;

        LineChannel(ChannelConfig config, ChannelContext context) {
            this.config = config;
            this.context = context;
        }

        @Override
        public String name() {
            return config.name();
        }

        @Override
        public ChannelConfig config() {
            return config;
        }

        @Override
        public void start() throws ChannelException {
            try {
                ServerSocket ss = new ServerSocket();
                ss.setReuseAddress(true);
                ss.bind(new InetSocketAddress(config.port()));
                server = ss;
            } catch (IOException e) {
                throw new ChannelException("Unable to bind port " + config.port() + ": " + e.getMessage(), e);
            }
            Thread t = new Thread(this::acceptLoop, "itest-line-" + name());
            t.setDaemon(true);
            t.start();
        }

        private void acceptLoop() {
            ServerSocket ss = server;
            while (ss != null && !ss.isClosed()) {
                try {
                    Socket s = ss.accept();
                    Thread t = new Thread(() -> serve(s), "itest-line-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                OutputStream os = s.getOutputStream();
                String remote = s.getInetAddress().getHostAddress() + ":" + s.getPort();
                String line;
                while ((line = r.readLine()) != null) {
                    in.incrementAndGet();
                    String answer;
                    try {
                        DeviceReply reply = context.submit(new InboundMessage(remote, "text/plain", line, null))
                                .reply().toCompletableFuture().get(20, TimeUnit.SECONDS);
                        answer = reply.statusCode() + " " + reply.body().replace('\n', ' ');
                    } catch (Exception e) {
                        answer = "ERR " + e;
                    }
                    os.write((answer + "\n").getBytes(StandardCharsets.UTF_8));
                    os.flush();
                    out.incrementAndGet();
                }
            } catch (IOException e) {
                // peer closed
            }
        }

        @Override
        public boolean reconfigure(ChannelConfig newConfig) {
            return false;
        }

        @Override
        public void stop() {
            ServerSocket ss = server;
            server = null;
            if (ss != null) {
                try {
                    ss.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }

        @Override
        public ChannelStats stats() {
            return new ChannelStats(name(), "LINE", config.address().raw(),
                    server != null ? ChannelState.LISTENING : ChannelState.STOPPED, 0, in.get(), out.get(), 0, Map.of(), null);
        }
    }
}
