package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.transport.CloudException;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.core.internal.Fakes.FakeChannel;
import dev.edgeagent.core.internal.Fakes.FakeTransport;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Spec §1.5/§3.5: last-good snapshot, boot fallback, port probe and rollback (checklist B 29, 32-34). */
class SnapshotAndRollbackTest extends RuntimeFixture {

    /** A second runtime over the same home, as after a restart; {@code offlineStart} null = key absent. */
    private CoreRuntime restart(String offlineStart) {
        rt.close();
        LogCapture.clear();
        transport = new FakeTransport();
        hl7 = new Fakes.FakeFactory("HL7", "mllp");
        rt = new CoreRuntime(null, home, new CoreRuntime.Timing(RESPONSE_TIMEOUT, Duration.ofMillis(20), Duration.ofMillis(50)),
                clock::get, options());
        Map<String, Object> b = bootstrap();
        if (offlineStart != null) b.put(BootstrapManager.KEY_OFFLINE_START, offlineStart);
        rt.addFactory(hl7);
        rt.configure(b);
        return rt;
    }

    private ConfigSnapshot.Content snapshot() throws Exception {
        return new ConfigSnapshot(snapshotFile()).read();
    }

    private List<String> names() {
        return rt.channels().stream().map(ChannelStats::name).toList();
    }

    @Test
    void fullApplyWritesTheSnapshotWithAgentVersionAndResolvedEndpoints() throws Exception {
        assertNull(snapshot(), "nothing applied yet");
        startLive(channels("adt", "mllp://0.0.0.0:4001?enhanced=true", "orm", "mllp://0.0.0.0:4002"));

        ConfigSnapshot.Content c = snapshot();
        assertEquals(AGENT, c.agentId());
        assertNotNull(c.agentVersion());
        assertFalse(c.appliedAt().isBlank());
        assertEquals(List.of("ep-adt", "ep-orm"), c.endpoints().stream().map(e -> e.get("id")).toList());
        assertEquals("mllp://0.0.0.0:4001?enhanced=true", c.endpoints().get(0).get("address"));
        assertFalse(Files.exists(snapshotFile().resolveSibling(ConfigSnapshot.FILE_NAME + ".tmp")), "temp file renamed");
    }

    @Test
    void failedReloadsLeaveTheSnapshotUntouched() throws Exception {
        startLive(channels("a", "mllp://0.0.0.0:4001"));
        byte[] before = Files.readAllBytes(snapshotFile());

        // Invalid config.
        transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:4001", "b", ""));
        assertEquals("agent:error", reload("cb-invalid").type());
        // Port taken by another process.
        busyPorts.add(4009);
        transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:4001", "b", "mllp://0.0.0.0:4009"));
        assertEquals("agent:error", reload("cb-port").type());
        // A channel that fails to start (rolled back).
        busyPorts.clear();
        hl7.failStart.put("b", "boom");
        assertEquals("agent:error", reload("cb-start").type());
        // Server unreachable.
        transport.cloud.failures.put("Agent/" + AGENT, new CloudException(0, "Connection refused"));
        assertEquals("agent:error", reload("cb-down").type());

        assertArrayEquals(before, Files.readAllBytes(snapshotFile()));
    }

    @Test
    void offlineBootStartsTheSnapshotAfterTheGraceThenTheServerConfigReplacesItInPlace() throws Exception {
        startLive(channels("adt", "mllp://0.0.0.0:4001?enhanced=true", "off-ep", "mllp://0.0.0.0:4003"));
        String writtenAt = snapshot().appliedAt();

        restart("1");
        rt.bindTransport(transport); // CONNECTING: the server is not reachable
        Thread.sleep(300);
        assertTrue(hl7.created.isEmpty(), "nothing listens before the grace");
        Fakes.await("channels from the snapshot", () -> hl7.latest("adt") != null && hl7.latest("adt").running());
        FakeChannel adt = hl7.latest("adt");
        assertEquals("true", adt.config.param("enhanced"));
        assertEquals(AGENT, adt.config.agentId());
        assertFalse(rt.isLoaded(), "the server's config has not been read");
        // Logged once the channels are applied, so it can trail the channel's start.
        Fakes.await("the snapshot log line", () -> !LogCapture.containing("WARN", "running the configuration from snapshot").isEmpty());
        assertEquals(1, LogCapture.containing("WARN", "Agent/agent-1 not read from the server within 1 s of start; "
                + "running the configuration from snapshot written at " + writtenAt).size());
        assertTrue(transport.cloud.reads.isEmpty());

        // The link comes up: the Agent is read and applied as a reload; same port = reconfigured in place.
        transport.cloud.agent(AGENT, "active", Map.of(), channels("adt", "mllp://0.0.0.0:4001?enhanced=true&encoding=latin1"));
        transport.state = LinkState.LIVE;
        rt.onLinkState(LinkState.LIVE);
        Fakes.await("server config applied", rt::isLoaded);
        assertSame(adt, hl7.latest("adt"));
        assertEquals(0, adt.stops, "connections of a same-port channel stay open");
        assertEquals("latin1", adt.config.param("encoding"));
        assertEquals(List.of("adt"), names());
        assertEquals(1, LogCapture.containing("INFO", "it replaces the configuration from snapshot written at " + writtenAt).size());
        assertNotEquals(writtenAt, snapshot().appliedAt(), "the server's config is the new snapshot");
    }

    @Test
    void offlineFallbackIsRetriedWhileTheSnapshotsPortIsHeld() throws Exception {
        startLive(channels("adt", "mllp://0.0.0.0:4001?enhanced=true"));
        busyPorts.add(4001); // e.g. the previous agent process still releasing it

        restart("1");
        rt.bindTransport(transport); // the server stays unreachable: no Agent read will come to retry it
        Fakes.await("the failed fallback", () -> !LogCapture.containing("ERROR", "cannot be applied").isEmpty());
        assertTrue(hl7.created.isEmpty());
        assertTrue(LogCapture.containing("ERROR", "cannot be applied").get(0).message()
                .contains("Unable to bind port 4001: EADDRINUSE; it is tried again until Agent/agent-1 has been read"));

        busyPorts.clear();
        Fakes.await("channel from the snapshot once the port is free",
                () -> hl7.latest("adt") != null && hl7.latest("adt").running());
        assertEquals(1, LogCapture.containing("ERROR", "cannot be applied").size(), "the failure is logged once per boot");
        Fakes.await("the snapshot log line", () -> !LogCapture.containing("WARN", "running the configuration from snapshot").isEmpty());
        assertFalse(rt.isLoaded());
    }

    @Test
    void agentReadFailureAtBootFallsBackAtOnceAndKeepsRetrying() throws Exception {
        startLive(channels("a", "mllp://0.0.0.0:4001"));
        restart("-1"); // no grace timer: only the failed read triggers the fallback (Medplum's rule)
        transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:4001"));
        transport.cloud.failures.put("Agent/" + AGENT, new CloudException(503, "Service Unavailable"));
        rt.bindTransport(transport);
        transport.state = LinkState.LIVE;
        rt.onLinkState(LinkState.LIVE);
        Fakes.await("channel from the snapshot", () -> hl7.latest("a") != null && hl7.latest("a").running());
        Fakes.await("the snapshot log line", () -> !LogCapture.containing("WARN", "running the configuration from snapshot").isEmpty());
        assertEquals(1, LogCapture.containing("WARN", "Unable to read Agent/agent-1 from the server: Service Unavailable (HTTP 503); "
                + "running the configuration from snapshot written at").size());
        Fakes.await("a retry", () -> LogCapture.containing("ERROR", "Unable to read Agent/agent-1").size() >= 2);

        transport.cloud.failures.clear();
        Fakes.await("server config applied", rt::isLoaded);
        assertEquals(1, hl7.created.size(), "unchanged channel kept");
        assertTrue(hl7.latest("a").running());
    }

    @Test
    void snapshotOfAnotherAgentIsIgnored() throws Exception {
        Map<String, Object> other = new LinkedHashMap<>();
        other.put("resourceType", "Agent");
        other.put("id", "other-agent");
        other.put("status", "active");
        other.put("channel", List.of(Map.of("name", "x", "endpoint", Map.of("reference", "Endpoint/ep-x"))));
        Map<String, Map<String, Object>> eps = new LinkedHashMap<>();
        eps.put("ep-x", Map.of("resourceType", "Endpoint", "address", "mllp://0.0.0.0:4005", "status", "active"));
        new ConfigSnapshot(snapshotFile()).write(other, eps, "1.0");

        restart("0");
        Fakes.await("the warning", () -> !LogCapture.containing("WARN", "ignoring the configuration snapshot").isEmpty());
        assertContains(LogCapture.containing("WARN", "ignoring the configuration snapshot").get(0).message(),
                "it belongs to Agent/other-agent, this agent is Agent/agent-1");
        assertTrue(hl7.created.isEmpty());
        assertTrue(rt.channels().isEmpty());
    }

    @Test
    void noSnapshotIsOneInfoLineAndNothingStarts() {
        restart("0");
        Fakes.await("the line", () -> !LogCapture.containing("INFO", "no configuration snapshot at").isEmpty());
        assertTrue(hl7.created.isEmpty());
    }

    @Test
    void invalidOfflineStartSecondsIsAWarningAndTheDefaultIsUsed() {
        restart("soon");
        assertEquals(1, LogCapture.containing("WARN",
                "Invalid offlineStartSeconds 'soon' in etc/dev.edgeagent.cfg; expected whole seconds. Using 5").size());
    }

    @Test
    void portHeldByAnotherProcessRejectsThePlanAndChangesNothing() throws Exception {
        rt.close();
        // The real probe: the fake channels bind nothing, so only the ServerSocket holds a port.
        rt = new CoreRuntime(null, home, new CoreRuntime.Timing(RESPONSE_TIMEOUT, Duration.ofMillis(20), Duration.ofMillis(50)),
                clock::get, new CoreRuntime.Options(snapshotFile(), ConfigPlanner.PortProbe.SYSTEM));
        rt.configure(bootstrap());
        try (ServerSocket held = new ServerSocket()) {
            held.bind(new InetSocketAddress(0));
            int busy = held.getLocalPort();
            int a;
            try (ServerSocket s = new ServerSocket(0)) {
                a = s.getLocalPort();
            }
            startLive(channels("a", "mllp://0.0.0.0:" + a));
            FakeChannel first = hl7.latest("a");

            transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:" + a + "?encoding=latin1",
                    "lab", "mllp://0.0.0.0:" + busy));
            AgentMessage answer = reload("cb-busy");
            assertEquals("agent:error", answer.type());
            assertEquals("1 port(s) unavailable; no changes applied\nChannel 'lab' cannot start: Unable to bind port " + busy
                    + ": EADDRINUSE", answer.body());
            assertEquals(List.of("a"), names());
            assertTrue(first.reconfigures.isEmpty(), "nothing applied");
            assertNull(hl7.latest("lab"));

            // A port held by one of our own running channels is not probed (here: the same channel, reconfigured).
            transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:" + a + "?encoding=latin1"));
            assertEquals(200, reload("cb-own").statusCode());
            assertEquals("latin1", first.config.param("encoding"));
        }
    }

    @Test
    void systemProbeSeesABoundPortAndItsRelease() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(0));
            port = s.getLocalPort();
            assertEquals("EADDRINUSE", ConfigPlanner.PortProbe.SYSTEM.tryBind(port));
        }
        assertNull(ConfigPlanner.PortProbe.SYSTEM.tryBind(port));
    }

    @Test
    void channelFailingToStartRollsBackToTheLastGoodConfig() throws Exception {
        startLive(channels("keep", "mllp://0.0.0.0:4001", "tuned", "mllp://0.0.0.0:4002", "moved", "mllp://0.0.0.0:4003",
                "dropped", "mllp://0.0.0.0:4004"));
        FakeChannel keep = hl7.latest("keep");
        FakeChannel tuned = hl7.latest("tuned");
        FakeChannel moved = hl7.latest("moved");
        FakeChannel dropped = hl7.latest("dropped");
        byte[] before = Files.readAllBytes(snapshotFile());

        hl7.failStart.put("added", "Unable to bind port 4005: Address already in use");
        transport.cloud.agent(AGENT, "active", Map.of("logStatsFreqSecs", 3600), channels("keep", "mllp://0.0.0.0:4001",
                "tuned", "mllp://0.0.0.0:4002?encoding=latin1", "moved", "mllp://0.0.0.0:4013", "added", "mllp://0.0.0.0:4005"));
        AgentMessage answer = reload("cb-fail");

        assertEquals("agent:error", answer.type());
        assertEquals("Channel 'added' failed to start: Unable to bind port 4005: Address already in use", answer.body());
        assertEquals(1, LogCapture.containing("INFO", "Rolled back to last-good config successfully.").size());
        assertEquals(List.of("keep", "tuned", "moved", "dropped"), names());
        assertSame(keep, hl7.latest("keep"));
        assertTrue(keep.running());
        assertSame(tuned, hl7.latest("tuned"));
        assertTrue(tuned.running());
        assertNull(tuned.config.param("encoding"), "in-place change undone");
        assertEquals(4003, hl7.latest("moved").config.port());
        assertTrue(hl7.latest("moved").running());
        assertEquals(1, moved.stops);
        assertTrue(hl7.latest("dropped").running(), "removed channel restarted");
        assertEquals(1, dropped.stops);
        assertEquals(answer.body(), rt.status().configError());
        assertArrayEquals(before, Files.readAllBytes(snapshotFile()));

        // Fixed: the same reload now applies.
        hl7.failStart.clear();
        assertEquals(200, reload("cb-ok").statusCode());
        assertEquals(List.of("keep", "tuned", "moved", "added"), names());
        assertNull(rt.status().configError());
    }
}
