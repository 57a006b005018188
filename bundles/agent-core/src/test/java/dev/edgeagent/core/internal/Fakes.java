package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.fail;

import dev.edgeagent.api.channel.Channel;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.ConfigIssue;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.OutboundConnector;
import dev.edgeagent.api.channel.OutboundRequest;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.CloudException;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.api.transport.Transport;
import dev.edgeagent.api.transport.TransportException;
import dev.edgeagent.api.transport.TransportStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;

/** Hand-written fakes of the services the core talks to. */
final class Fakes {
    private Fakes() {}

    static void await(String what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("Timed out waiting for " + what);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    // ---------------------------------------------------------------- cloud

    /** Serves FHIR resources from maps the test controls; records which thread read them. */
    static final class FakeCloud implements CloudClient {
        final Map<String, Map<String, Object>> resources = new ConcurrentHashMap<>();
        final Map<String, CloudException> failures = new ConcurrentHashMap<>();
        final List<String> reads = new CopyOnWriteArrayList<>();
        final List<String> readThreads = new CopyOnWriteArrayList<>();

        @Override
        public Map<String, Object> read(String resourceType, String id) throws CloudException {
            String key = resourceType + "/" + id;
            reads.add(key);
            readThreads.add(Thread.currentThread().getName());
            CloudException f = failures.get(key);
            if (f != null) throw f;
            Map<String, Object> r = resources.get(key);
            if (r == null) throw new CloudException(404, "Not found: " + key);
            return r;
        }

        @Override
        public String createBinary(String contentType, Path file) {
            throw new UnsupportedOperationException();
        }

        /** Agent with the given status, settings and channels {name → address}; endpoints are Endpoint/ep-<name>. */
        void agent(String agentId, String status, Map<String, Object> settings, Map<String, String> channels) {
            List<Object> ch = new ArrayList<>();
            for (Map.Entry<String, String> e : channels.entrySet()) {
                ch.add(Map.of("name", e.getKey(), "endpoint", Map.of("reference", "Endpoint/ep-" + e.getKey())));
                endpoint("ep-" + e.getKey(), e.getValue(), "active");
            }
            agentRaw(agentId, status, settings, ch);
        }

        void agentRaw(String agentId, String status, Map<String, Object> settings, List<Object> channels) {
            List<Object> s = new ArrayList<>();
            settings.forEach((k, v) -> s.add(Map.of("name", k,
                    v instanceof Boolean ? "valueBoolean" : v instanceof Number ? "valueInteger" : "valueString", v)));
            Map<String, Object> agent = new LinkedHashMap<>();
            agent.put("resourceType", "Agent");
            agent.put("id", agentId);
            if (status != null) agent.put("status", status);
            agent.put("setting", s);
            agent.put("channel", channels);
            resources.put("Agent/" + agentId, agent);
        }

        void endpoint(String id, String address, String status) {
            Map<String, Object> ep = new LinkedHashMap<>();
            ep.put("resourceType", "Endpoint");
            ep.put("id", id);
            ep.put("status", status);
            if (address != null) ep.put("address", address);
            resources.put("Endpoint/" + id, ep);
        }
    }

    // ---------------------------------------------------------------- transport

    static final class FakeTransport implements Transport {
        final FakeCloud cloud = new FakeCloud();
        final List<AgentMessage> sent = new CopyOnWriteArrayList<>();
        volatile LinkState state = LinkState.CONNECTING;
        volatile String refuse; // when set, send() throws with this text
        volatile TransportStatus status = new TransportStatus(LinkState.LIVE, "ws://127.0.0.1:1/ws/agent", 0, 7, 1, 3, "5.0.0", null);

        @Override
        public LinkState state() {
            return state;
        }

        @Override
        public void send(AgentMessage message) throws TransportException {
            if (refuse != null) throw new TransportException(refuse);
            sent.add(message);
        }

        @Override
        public TransportStatus status() {
            return status;
        }

        @Override
        public CloudClient cloud() {
            return cloud;
        }

        List<AgentMessage> sentOfType(String type) {
            List<AgentMessage> out = new ArrayList<>();
            for (AgentMessage m : sent) if (type.equals(m.type())) out.add(m);
            return out;
        }

        AgentMessage awaitSent(String what, Predicate<AgentMessage> p) {
            Fakes.await(what, () -> sent.stream().anyMatch(p));
            return sent.stream().filter(p).findFirst().orElseThrow();
        }

        AgentMessage awaitReply(String callback) {
            return awaitSent("a frame with callback " + callback, m -> callback.equals(m.callback()));
        }
    }

    // ---------------------------------------------------------------- channels

    static final class FakeChannel implements Channel {
        final FakeFactory factory;
        final ChannelContext context;
        volatile ChannelConfig config;
        volatile int starts;
        volatile int stops;
        final List<ChannelConfig> reconfigures = new CopyOnWriteArrayList<>();
        final List<String> unmatched = new CopyOnWriteArrayList<>();
        volatile boolean remoteConnected = true;
        volatile Map<String, Object> detail = Map.of();

        FakeChannel(FakeFactory factory, ChannelConfig config, ChannelContext context) {
            this.factory = factory;
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
            starts++;
            String failure = factory.failStart.get(config.name());
            if (failure != null) throw new ChannelException(failure);
        }

        @Override
        public boolean reconfigure(ChannelConfig next) {
            reconfigures.add(next);
            if (next.port() != config.port()) return false;
            config = next;
            return true;
        }

        @Override
        public void stop() {
            stops++;
        }

        boolean running() {
            return starts > 0 && stops == 0;
        }

        @Override
        public ChannelStats stats() {
            return new ChannelStats(name(), factory.type, config.address().raw(), ChannelState.LISTENING, 1, 2, 3, 0, detail, null);
        }

        @Override
        public boolean deliverUnmatched(String remote, DeviceReply reply) {
            unmatched.add(remote + " " + reply.statusCode() + " " + reply.body());
            return remoteConnected;
        }
    }

    static final class FakeFactory implements ChannelFactory {
        final String type;
        final Set<String> schemes;
        final List<FakeChannel> created = new CopyOnWriteArrayList<>();
        final Map<String, String> failStart = new ConcurrentHashMap<>();
        volatile Function<ChannelConfig, List<ConfigIssue>> validator = c -> List.of();

        FakeFactory(String type, String... schemes) {
            this.type = type;
            this.schemes = Set.of(schemes);
        }

        @Override
        public String type() {
            return type;
        }

        @Override
        public Set<String> schemes() {
            return schemes;
        }

        @Override
        public List<ConfigIssue> validate(ChannelConfig config) {
            return validator.apply(config);
        }

        @Override
        public Channel create(ChannelConfig config, ChannelContext context) {
            FakeChannel ch = new FakeChannel(this, config, context);
            created.add(ch);
            return ch;
        }

        /** The newest instance created for a channel name. */
        FakeChannel latest(String name) {
            FakeChannel found = null;
            for (FakeChannel c : created) if (c.config.name().equals(name)) found = c;
            return found;
        }

        List<FakeChannel> all(String name) {
            List<FakeChannel> out = new ArrayList<>();
            for (FakeChannel c : created) if (c.config.name().equals(name)) out.add(c);
            return out;
        }
    }

    // ---------------------------------------------------------------- outbound

    static final class FakeConnector implements OutboundConnector {
        final Set<String> schemes;
        final List<OutboundRequest> requests = new CopyOnWriteArrayList<>();
        final List<Object> settings = new CopyOnWriteArrayList<>();
        volatile Function<OutboundRequest, CompletionStage<DeviceReply>> behaviour =
                r -> CompletableFuture.completedFuture(new DeviceReply(200, "x-application/hl7-v2+er7", "MSH|ack"));
        volatile Map<String, Object> stats = Map.of();

        FakeConnector(String... schemes) {
            this.schemes = Set.of(schemes);
        }

        @Override
        public Set<String> schemes() {
            return schemes;
        }

        @Override
        public CompletionStage<DeviceReply> send(OutboundRequest request) {
            requests.add(request);
            return behaviour.apply(request);
        }

        @Override
        public void applySettings(dev.edgeagent.api.channel.AgentSettings s) {
            settings.add(s);
        }

        @Override
        public Map<String, Object> stats() {
            return stats;
        }
    }

    // ---------------------------------------------------------------- config admin

    static final class MapConfigStore implements ConfigStore {
        final Map<String, Hashtable<String, Object>> configs = new HashMap<>();
        final List<String> updates = new ArrayList<>();

        @Override
        public synchronized Dictionary<String, Object> get(String pid) throws IOException {
            Hashtable<String, Object> c = configs.get(pid);
            return c == null ? null : new Hashtable<>(c);
        }

        @Override
        public synchronized void update(String pid, Dictionary<String, Object> properties) throws IOException {
            Hashtable<String, Object> copy = new Hashtable<>();
            for (var e = properties.keys(); e.hasMoreElements(); ) {
                String k = e.nextElement();
                copy.put(k, properties.get(k));
            }
            configs.put(pid, copy);
            updates.add(pid);
        }
    }
}
