package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.Channel;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ConfigIssue;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Creates HL7 v2 / MLLP channels. All channels share one accept thread and one pool of I/O threads, so the
 * thread count does not grow with the number of channels.
 */
@Component(service = ChannelFactory.class, property = {ChannelFactory.SCHEMES_PROPERTY + "=mllp"})
public final class Hl7ChannelFactory implements ChannelFactory {
    private static final Logger LOG = LoggerFactory.getLogger(Hl7ChannelFactory.class);
    private static final int IO_THREADS = Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors() * 2));

    private final EventLoopGroup boss = new NioEventLoopGroup(1, new DefaultThreadFactory("edge-hl7-accept", true));
    private final EventLoopGroup worker = new NioEventLoopGroup(IO_THREADS, new DefaultThreadFactory("edge-hl7-io", true));
    private final Set<Hl7Channel> channels = ConcurrentHashMap.newKeySet();
    private final AckBuilder ackBuilder = new AckBuilder();

    @Activate
    public Hl7ChannelFactory() {
        // event loops and the ACK builder are created with the instance
    }

    @Deactivate
    void deactivate() {
        for (Hl7Channel c : new ArrayList<>(channels)) {
            c.stop();
        }
        channels.clear();
        // No quiet period: every socket is closed already, and a bundle stop should not hang for seconds.
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        worker.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        boss.terminationFuture().awaitUninterruptibly(3, TimeUnit.SECONDS);
        worker.terminationFuture().awaitUninterruptibly(3, TimeUnit.SECONDS);
        LOG.debug("HL7 channel factory stopped");
    }

    @Override
    public String type() {
        return Hl7Channel.TYPE;
    }

    @Override
    public Set<String> schemes() {
        return Set.of("mllp");
    }

    @Override
    public List<ConfigIssue> validate(ChannelConfig config) {
        return Hl7Params.from(config).issues();
    }

    @Override
    public Channel create(ChannelConfig config, ChannelContext context) {
        Hl7Channel channel = new Hl7Channel(config, context, this);
        channels.add(channel);
        return channel;
    }

    EventLoopGroup bossGroup() {
        return boss;
    }

    EventLoopGroup workerGroup() {
        return worker;
    }

    AckBuilder ackBuilder() {
        return ackBuilder;
    }

    void channelStarted(Hl7Channel channel) {
        channels.add(channel);
    }

    void channelStopped(Hl7Channel channel) {
        channels.remove(channel);
    }
}
