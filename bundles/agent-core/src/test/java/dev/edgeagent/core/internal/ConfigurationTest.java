package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.ConfigIssue;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.transport.CloudException;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.core.internal.Fakes.FakeChannel;
import dev.edgeagent.core.internal.Fakes.FakeConnector;
import dev.edgeagent.core.internal.Fakes.FakeFactory;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigurationTest extends RuntimeFixture {

    private ChannelState stateOf(String name) {
        return rt.channels().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow().state();
    }

    @Test
    void initialLoadOnLiveCreatesChannelsOnAWorkerThread() {
        FakeConnector connector = new FakeConnector("mllp");
        rt.addConnector(connector);
        startLive("active", Map.of("keepAlive", true), channels("adt", "mllp://0.0.0.0:2575", "orm", "mllp://0.0.0.0:2576?encoding=latin1"));

        assertTrue(hl7.latest("adt").running());
        assertTrue(hl7.latest("orm").running());
        assertEquals("latin1", hl7.latest("orm").config.param("encoding"));
        assertEquals(AGENT, hl7.latest("adt").config.agentId());
        assertEquals(List.of("adt", "orm"), rt.channels().stream().map(ChannelStats::name).toList());
        assertEquals(List.of("Agent/agent-1", "Endpoint/ep-adt", "Endpoint/ep-orm"), transport.cloud.reads);
        for (String t : transport.cloud.readThreads) assertTrue(t.startsWith("edgeagent-core-"), t);
        assertEquals("active", rt.status().agentStatus());
        assertNull(rt.status().configError());
        assertEquals(2, rt.status().channels());
        // Settings reach the outbound connectors after the apply.
        assertEquals(Boolean.TRUE, ((dev.edgeagent.api.channel.AgentSettings) connector.settings.get(connector.settings.size() - 1)).get("keepAlive"));
    }

    @Test
    void transportAlreadyLiveWhenBoundTriggersTheLoad() {
        transport.cloud.agent(AGENT, "active", Map.of(), channels("adt", "mllp://0.0.0.0:2575"));
        rt.addFactory(hl7);
        transport.state = LinkState.LIVE;
        rt.bindTransport(transport);
        Fakes.await("load", rt::isLoaded);
        assertTrue(hl7.latest("adt").running());
    }

    @Test
    void reloadAppliesTheDifferenceByName() {
        startLive(channels("same", "mllp://0.0.0.0:2001", "params", "mllp://0.0.0.0:2002",
                "moved", "mllp://0.0.0.0:2003", "removed", "mllp://0.0.0.0:2004", "old-name", "mllp://0.0.0.0:2005"));
        FakeChannel same = hl7.latest("same");
        FakeChannel params = hl7.latest("params");
        FakeChannel moved = hl7.latest("moved");
        FakeChannel removed = hl7.latest("removed");
        FakeChannel renamed = hl7.latest("old-name");

        transport.cloud.agent(AGENT, "active", Map.of(), channels("same", "mllp://0.0.0.0:2001",
                "params", "mllp://0.0.0.0:2002?encoding=latin1", "moved", "mllp://0.0.0.0:2013",
                "new-name", "mllp://0.0.0.0:2005", "added", "mllp://0.0.0.0:2006"));
        AgentMessage answer = reload("cb-1");

        assertEquals("agent:reloadconfig:response", answer.type());
        assertEquals(200, answer.statusCode());
        assertSame(same, hl7.latest("same"));
        assertTrue(same.running());
        assertTrue(same.reconfigures.isEmpty(), "an unchanged channel is left alone");
        assertSame(params, hl7.latest("params"));
        assertTrue(params.running());
        assertEquals(1, params.reconfigures.size());
        assertEquals("latin1", params.config.param("encoding"));
        assertEquals(1, moved.stops, "a new port needs a restart");
        assertNotSame(moved, hl7.latest("moved"));
        assertEquals(2013, hl7.latest("moved").config.port());
        assertTrue(hl7.latest("moved").running());
        assertEquals(1, removed.stops);
        assertEquals(1, renamed.stops);
        assertTrue(hl7.latest("new-name").running());
        assertTrue(hl7.latest("added").running());
        assertEquals(List.of("same", "params", "moved", "new-name", "added"),
                rt.channels().stream().map(ChannelStats::name).toList());
    }

    @Test
    void everyProblemIsReportedAtOnceAndNothingChanges() {
        startLive(channels("a", "mllp://0.0.0.0:3001", "b", "mllp://0.0.0.0:3002"));
        FakeChannel a = hl7.latest("a");
        FakeChannel b = hl7.latest("b");
        int created = hl7.created.size();

        List<Object> ch = List.of(
                Map.of("name", "a", "endpoint", Map.of("reference", "Endpoint/ep-a")),
                Map.of("name", "a", "endpoint", Map.of("reference", "Endpoint/ep-a")),
                Map.of("name", "b", "endpoint", Map.of("reference", "Endpoint/ep-b2")),
                Map.of("name", "empty", "endpoint", Map.of("reference", "Endpoint/ep-empty")),
                Map.of("name", "foo", "endpoint", Map.of("reference", "Endpoint/ep-foo")),
                Map.of("name", "gone", "endpoint", Map.of("reference", "Endpoint/missing")));
        transport.cloud.endpoint("ep-a", "mllp://0.0.0.0:3001?encoding=latin1", "active");
        transport.cloud.endpoint("ep-b2", "mllp://0.0.0.0:3001", "off");
        transport.cloud.endpoint("ep-empty", "", "active");
        transport.cloud.endpoint("ep-foo", "foo:", "active");
        transport.cloud.agentRaw(AGENT, "active", Map.of(), ch);

        AgentMessage answer = reload("cb-bad");
        assertEquals("agent:error", answer.type());
        String body = answer.body();
        assertTrue(body.startsWith("5 problem(s) found in agent config; no changes applied\n"), body);
        assertContains(body, "Duplicate channel name 'a'");
        assertContains(body, "Invalid agent config. Both 'a' (mllp://0.0.0.0:3001?encoding=latin1) and 'b' (mllp://0.0.0.0:3001) declare use of port 3001");
        assertContains(body, "Invalid empty endpoint address for channel 'empty'");
        assertContains(body, "Unsupported endpoint type: foo:");
        assertContains(body, "Unable to read endpoint 'Endpoint/missing' for channel 'gone'");
        assertEquals(6, body.split("\n").length, "one line per issue");

        assertEquals(created, hl7.created.size());
        assertTrue(a.running() && a.reconfigures.isEmpty());
        assertTrue(b.running() && b.reconfigures.isEmpty());
        assertEquals(body, rt.status().configError());
        assertEquals(1, LogCapture.containing("ERROR", "5 problem(s) found").size());

        // Fixed configuration: the next reload succeeds and clears the error.
        transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:3001", "b", "mllp://0.0.0.0:3002"));
        assertEquals("agent:reloadconfig:response", reload("cb-fixed").type());
        assertNull(rt.status().configError());
    }

    @Test
    void badPortAndUnparsableAddressAreErrors() {
        startLive(channels("a", "mllp://0.0.0.0:3001"));
        transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:70000", "b", "mllp://0.0.0.0:abc",
                "c", "mllp://0.0.0.0"));
        String body = reload("cb").body();
        assertTrue(body.startsWith("3 problem(s) found"), body);
        assertContains(body, "Error while validating endpoint address for channel 'a': Invalid port in endpoint address 'mllp://0.0.0.0:70000'");
        assertContains(body, "channel 'b': Invalid port 'abc'");
        assertContains(body, "channel 'c'");
    }

    @Test
    void knownSchemeWithoutBundleIsNoProtocolAndStartsWhenABundleAppears() {
        startLive(channels("adt", "mllp://0.0.0.0:2575", "pacs", "dicom://0.0.0.0:11112"));
        assertEquals(ChannelState.NO_PROTOCOL, stateOf("pacs"));
        assertNull(rt.status().configError());
        int reads = transport.cloud.reads.size();

        FakeFactory dicom = new FakeFactory("DICOM", "dicom");
        rt.addFactory(dicom);
        assertTrue(dicom.latest("pacs").running());
        assertEquals(reads, transport.cloud.reads.size(), "started from the current config, no server round trip");
        assertSame(hl7.latest("adt"), hl7.all("adt").get(0));
    }

    @Test
    void factoryUnbindStopsOnlyItsChannelsAndRebindRestartsThem() {
        FakeFactory dicom = new FakeFactory("DICOM", "dicom");
        rt.addFactory(dicom);
        startLive(channels("adt", "mllp://0.0.0.0:2575", "orm", "mllp://0.0.0.0:2576", "pacs", "dicom://0.0.0.0:11112"));
        FakeChannel adt = hl7.latest("adt");
        FakeChannel pacs = dicom.latest("pacs");

        rt.removeFactory(hl7);
        assertEquals(1, adt.stops);
        assertEquals(1, hl7.latest("orm").stops);
        assertEquals(0, pacs.stops);
        assertEquals(ChannelState.NO_PROTOCOL, stateOf("adt"));
        assertEquals(ChannelState.NO_PROTOCOL, stateOf("orm"));
        assertEquals(ChannelState.LISTENING, stateOf("pacs"));

        // The new bundle version gets the current config, not the one of the first load.
        transport.cloud.agent(AGENT, "active", Map.of(), channels("adt", "mllp://0.0.0.0:2575", "orm", "mllp://0.0.0.0:2577",
                "pacs", "dicom://0.0.0.0:11112"));
        assertEquals("agent:reloadconfig:response", reload("cb").type());
        FakeFactory hl7v2 = new FakeFactory("HL7", "mllp");
        rt.addFactory(hl7v2);
        assertTrue(hl7v2.latest("adt").running());
        assertEquals(2577, hl7v2.latest("orm").config.port());
        assertEquals(0, pacs.stops);
        assertEquals(ChannelState.LISTENING, stateOf("adt"));
    }

    @Test
    void aChannelThatFailsToStartDoesNotStopTheOthers() {
        hl7.failStart.put("b", "Unable to bind port 2002: Address already in use");
        startLive(channels("a", "mllp://0.0.0.0:2001", "b", "mllp://0.0.0.0:2002", "c", "mllp://0.0.0.0:2003"));
        assertTrue(hl7.latest("a").running());
        assertTrue(hl7.latest("c").running());
        ChannelStats b = rt.channels().get(1);
        assertEquals(ChannelState.FAILED, b.state());
        assertEquals("Unable to bind port 2002: Address already in use", b.lastError());
        assertEquals("mllp://0.0.0.0:2002", b.address());
        assertEquals(1, hl7.latest("b").stops, "a failed channel is cleaned up");
        assertEquals(1, LogCapture.containing("ERROR", "[HL7:b] Channel failed to start: Unable to bind port 2002").size());

        // The next reload retries it.
        hl7.failStart.clear();
        reload("cb");
        assertTrue(hl7.latest("b").running());
    }

    @Test
    void agentStatusOffDisablesEverythingAndRefusesTraffic() {
        startLive("off", Map.of(), channels("adt", "mllp://0.0.0.0:2575"));
        assertTrue(hl7.created.isEmpty());
        assertEquals(ChannelState.DISABLED, stateOf("adt"));
        assertEquals(1, LogCapture.containing("WARN",
                "Agent status is currently 'off'. All channels are disconnected until status is set back to 'active'").size());

        rt.onMessage(AgentMessage.of("agent:transmit:request").with("remote", "mllp://127.0.0.1:1").with("body", "MSH|")
                .with("callback", "push-1"));
        AgentMessage err = transport.awaitReply("push-1");
        assertEquals("agent:error", err.type());
        assertEquals("Agent.status is currently set to off", err.body());

        rt.onMessage(AgentMessage.of("agent:transmit:response").with("channel", "adt").with("remote", "1.2.3.4:5")
                .with("body", "MSH|").with("callback", "resp-1"));
        assertEquals("Agent.status is currently set to off", transport.awaitReply("resp-1").body());

        // Back to active: the channel starts.
        transport.cloud.agent(AGENT, "active", Map.of(), channels("adt", "mllp://0.0.0.0:2575"));
        reload("cb");
        assertTrue(hl7.latest("adt").running());
        transport.cloud.agent(AGENT, null, Map.of(), channels("adt", "mllp://0.0.0.0:2575"));
        reload("cb2");
        assertEquals(1, hl7.latest("adt").stops, "a missing Agent.status disables too (Q1)");
    }

    @Test
    void endpointOffDisablesOnlyThatChannel() {
        transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:2001", "b", "mllp://0.0.0.0:2002"));
        transport.cloud.endpoint("ep-b", "mllp://0.0.0.0:2002", "off");
        rt.addFactory(hl7);
        rt.bindTransport(transport);
        rt.onLinkState(LinkState.LIVE);
        Fakes.await("load", rt::isLoaded);
        assertTrue(hl7.latest("a").running());
        assertNull(hl7.latest("b"));
        assertEquals(ChannelState.DISABLED, stateOf("b"));
        assertEquals(1, LogCapture.containing("WARN",
                "[HL7:b] Channel currently has status of 'off'. Channel will not reconnect until status is set to 'active'").size());
    }

    @Test
    void factoryWarningsAreWarningsUnlessStrict() {
        hl7.validator = c -> "bogus".equals(c.param("enhanced"))
                ? List.of(ConfigIssue.warning("Invalid enhanced value 'bogus'")) : List.of();
        startLive(channels("a", "mllp://0.0.0.0:2001?enhanced=bogus"));
        assertTrue(hl7.latest("a").running());
        assertEquals(1, LogCapture.containing("WARN", "Channel 'a': Invalid enhanced value 'bogus'").size());

        transport.cloud.agent(AGENT, "active", Map.of("strictConfigValidation", true),
                channels("a", "mllp://0.0.0.0:2001?enhanced=bogus&x=1"));
        AgentMessage err = reload("cb");
        assertEquals("agent:error", err.type());
        assertContains(err.body(), "1 problem(s) found in agent config; no changes applied\nChannel 'a': Invalid enhanced value 'bogus'");
        assertTrue(hl7.latest("a").reconfigures.isEmpty());
    }

    @Test
    void failedInitialLoadIsRetriedWithOneLinePerFailure() {
        transport.cloud.failures.put("Agent/" + AGENT, new CloudException(503, "Service Unavailable"));
        transport.cloud.agent(AGENT, "active", Map.of(), channels("a", "mllp://0.0.0.0:2001"));
        rt.addFactory(hl7);
        rt.bindTransport(transport);
        rt.onLinkState(LinkState.LIVE);
        Fakes.await("two failed attempts", () -> LogCapture.containing("ERROR", "Unable to read Agent/agent-1").size() >= 2);
        assertContains(LogCapture.containing("ERROR", "Unable to read Agent/agent-1").get(0).message(),
                "Unable to read Agent/agent-1 from the server: Service Unavailable (HTTP 503); retrying in 50 ms");
        assertContains(rt.status().configError(), "Service Unavailable");
        transport.cloud.failures.clear();
        Fakes.await("load after the server recovered", rt::isLoaded);
        assertTrue(hl7.latest("a").running());
        assertNull(rt.status().configError());
    }

    @Test
    void noRetryWhileTheLinkIsDown() throws Exception {
        transport.cloud.failures.put("Agent/" + AGENT, new CloudException(0, "Connection refused"));
        rt.bindTransport(transport);
        rt.onLinkState(LinkState.LIVE);
        Fakes.await("first failure", () -> !LogCapture.containing("ERROR", "Connection refused").isEmpty());
        rt.onLinkState(LinkState.CONNECTING);
        int reads = transport.cloud.reads.size();
        Thread.sleep(200);
        assertTrue(transport.cloud.reads.size() <= reads + 1, "retries stop when the link is not live");
    }

    @Test
    void invalidLogStatsSettingIsAWarning() {
        startLive("active", Map.of("logStatsFreqSecs", -5), channels("a", "mllp://0.0.0.0:2001"));
        assertEquals(1, LogCapture.containing("WARN",
                "Invalid logStatsFreqSecs setting '-5'; expected a non-negative integer. Ignoring.").size());
    }

    @Test
    void logStatsFreqSecsLogsAgentStats() {
        startLive("active", Map.of("logStatsFreqSecs", 1), channels("a", "mllp://0.0.0.0:2001"));
        Fakes.await("an Agent stats line", () -> !LogCapture.containing("INFO", "Agent stats {").isEmpty());
        assertContains(LogCapture.containing("INFO", "Agent stats {").get(0).message(), "\"hl7QueueDepth\":0");
    }
}
