package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.core.internal.Fakes.FakeFactory;
import dev.edgeagent.core.internal.Fakes.FakeTransport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A runtime wired to fakes, with millisecond timers and a controllable clock for the pending-purge. */
abstract class RuntimeFixture {
    static final String AGENT = "agent-1";
    static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(300);

    @TempDir
    Path home;
    final AtomicLong clock = new AtomicLong();
    FakeTransport transport;
    FakeFactory hl7;
    CoreRuntime rt;
    /** Ports the fake probe reports as taken by another process; real binds are left to the probe's own test. */
    final Set<Integer> busyPorts = ConcurrentHashMap.newKeySet();

    @BeforeEach
    void createRuntime() {
        LogCapture.clear();
        transport = new FakeTransport();
        hl7 = new FakeFactory("HL7", "mllp");
        rt = new CoreRuntime(null, home,
                new CoreRuntime.Timing(RESPONSE_TIMEOUT, Duration.ofMillis(20), Duration.ofMillis(50)), clock::get, options());
        rt.configure(bootstrap());
    }

    /** Snapshot under the test's home; a port probe that never touches the machine's ports. */
    CoreRuntime.Options options() {
        return new CoreRuntime.Options(snapshotFile(), port -> busyPorts.contains(port) ? "EADDRINUSE" : null);
    }

    Path snapshotFile() {
        return home.resolve("data/edge-agent/applied-config.json");
    }

    @AfterEach
    void closeRuntime() {
        rt.close();
    }

    static Map<String, Object> bootstrap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("baseUrl", "http://127.0.0.1:8103/");
        m.put("clientId", "client");
        m.put("clientSecret", "secret");
        m.put("agentId", AGENT);
        return m;
    }

    static Map<String, String> channels(String... nameAddressPairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < nameAddressPairs.length; i += 2) m.put(nameAddressPairs[i], nameAddressPairs[i + 1]);
        return m;
    }

    /** Serves an active Agent with these channels, binds the HL7 factory and the transport, goes LIVE, waits for the load. */
    void startLive(Map<String, String> channels) {
        startLive("active", Map.of(), channels);
    }

    void startLive(String status, Map<String, Object> settings, Map<String, String> channels) {
        transport.cloud.agent(AGENT, status, settings, channels);
        rt.addFactory(hl7);
        rt.bindTransport(transport);
        transport.state = LinkState.LIVE;
        rt.onLinkState(LinkState.LIVE);
        Fakes.await("initial configuration load", rt::isLoaded);
    }

    /** Sends a reload request and returns the answer frame. */
    AgentMessage reload(String callback) {
        rt.onMessage(AgentMessage.of("agent:reloadconfig:request").with("callback", callback));
        return transport.awaitReply(callback);
    }

    static void assertContains(String haystack, String needle) {
        assertTrue(haystack != null && haystack.contains(needle), () -> "expected to contain <" + needle + "> but was <" + haystack + ">");
    }
}
