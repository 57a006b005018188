package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.EndpointAddress;
import dev.edgeagent.core.internal.DeliveryConfig.RetryMode;
import dev.edgeagent.core.internal.DeliveryConfig.RetryPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeliveryConfigTest {
    static ChannelConfig channel(String address, Map<String, Object> settings) {
        return new ChannelConfig("adt", EndpointAddress.parse(address), new AgentSettings(settings), "agent-1");
    }

    @Test
    void defaultsFollowTheSpec() {
        DeliveryConfig c = DeliveryConfig.of(channel("mllp://0.0.0.0:2575", Map.of()), AgentSettings.EMPTY);
        assertEquals(new RetryPolicy(RetryMode.GUARANTEED, 1000, 60_000, 0, 2.0), c.retry());
        assertEquals(1, c.maxWorkers());
        assertNull(c.key());
        assertFalse(c.rejectDuplicates());
        assertEquals(10, DeliveryConfig.of(channel("mllp://0.0.0.0:2575?retryMode=normal", Map.of()), AgentSettings.EMPTY)
                .retry().maxAttempts(), "normal mode gives up after 10 attempts unless told otherwise");
    }

    @Test
    void endpointParametersOverrideAgentSettings() {
        ChannelConfig cfg = channel("mllp://0.0.0.0:2575?retryMode=NORMAL&autoRetryBaseDelayMs=50&autoRetryMaxAttempts=3"
                        + "&autoRetryBackoffMultiplier=1.5&maxWorkers=8&logicalChannelKey=PID-3.1&duplicateBehavior=Reject",
                Map.of("channelRetryMode", "none", "channelAutoRetryBaseDelayMs", 10, "channelAutoRetryMaxDelayMs", 5000,
                        "channelAutoRetryMaxAttempts", 7, "channelMaxWorkers", 2, "channelLogicalChannelKey", "PID-2"));
        DeliveryConfig c = DeliveryConfig.of(cfg, AgentSettings.EMPTY);
        assertEquals(new RetryPolicy(RetryMode.NORMAL, 50, 5000, 3, 1.5), c.retry());
        assertEquals(8, c.maxWorkers());
        assertEquals("PID-3.1", c.key().spec());
        assertTrue(c.rejectDuplicates());

        DeliveryConfig agentOnly = DeliveryConfig.of(channel("mllp://0.0.0.0:2575", cfg.settings().values()), AgentSettings.EMPTY);
        assertEquals(new RetryPolicy(RetryMode.NONE, 10, 5000, 7, 2.0), agentOnly.retry());
        assertEquals(2, agentOnly.maxWorkers());
        assertEquals("PID-2", agentOnly.key().spec());
        assertEquals(2, DeliveryConfig.of(null, cfg.settings()).maxWorkers(), "an unconfigured channel uses the Agent settings");
    }

    @Test
    void invalidValuesWarnAndAreIgnored() {
        ChannelConfig cfg = channel("mllp://0.0.0.0:2575?retryMode=always&autoRetryBaseDelayMs=-1&autoRetryMaxDelayMs=1.5"
                        + "&autoRetryBackoffMultiplier=0&maxWorkers=501&logicalChannelKey=PID&duplicateBehavior=drop",
                Map.of("channelRetryMode", "normal", "channelMaxWorkers", 0, "channelAutoRetryMaxAttempts", "x"));
        List<String> agent = new ArrayList<>();
        List<String> endpoint = new ArrayList<>();
        DeliveryConfig.check(cfg.settings(), cfg, agent::add, endpoint::add);
        assertEquals(List.of(
                "Invalid channelAutoRetryMaxAttempts setting 'x'; expected a non-negative integer. Ignoring.",
                "Invalid channelMaxWorkers setting '0'; expected an integer from 1 to 500. Ignoring."), agent);
        assertEquals(List.of(
                "Invalid retryMode value 'always'; expected one of none, normal, guaranteed. Ignoring.",
                "Invalid autoRetryBaseDelayMs value '-1'; expected a non-negative integer. Ignoring.",
                "Invalid autoRetryMaxDelayMs value '1.5'; expected a non-negative integer. Ignoring.",
                "Invalid autoRetryBackoffMultiplier value '0'; expected a number greater than 0. Ignoring.",
                "Invalid maxWorkers value '501'; expected an integer from 1 to 500. Ignoring.",
                "Invalid logicalChannelKey value 'PID'; expected comma-separated HL7 field paths such as PID-3.1,PID-3.4"
                        + " ('PID' is not a field path). Ignoring.",
                "Invalid duplicateBehavior value 'drop'; expected 'idempotent' or 'reject'. Using idempotent."), endpoint);
        DeliveryConfig c = DeliveryConfig.of(cfg, AgentSettings.EMPTY);
        assertEquals(new RetryPolicy(RetryMode.NORMAL, 1000, 60_000, 10, 2.0), c.retry());
        assertEquals(1, c.maxWorkers());
        assertNull(c.key());
        assertFalse(c.rejectDuplicates());
    }

    @Test
    void backOffGrowsIsCappedAndJittered() {
        RetryPolicy p = new RetryPolicy(RetryMode.GUARANTEED, 1000, 60_000, 0, 2.0);
        for (int i = 0; i < 50; i++) {
            long d1 = p.delayMs(1);
            long d3 = p.delayMs(3);
            long d20 = p.delayMs(20);
            assertTrue(d1 >= 500 && d1 <= 1000, "attempt 1: " + d1);
            assertTrue(d3 >= 2000 && d3 <= 4000, "attempt 3: " + d3);
            assertTrue(d20 >= 30_000 && d20 <= 60_000, "capped: " + d20);
        }
        assertTrue(p.retries(1_000_000), "guaranteed with 0 attempts is unlimited");
        assertFalse(new RetryPolicy(RetryMode.NORMAL, 1, 1, 3, 2).retries(3));
        assertTrue(new RetryPolicy(RetryMode.NORMAL, 1, 1, 3, 2).retries(2));
        assertFalse(new RetryPolicy(RetryMode.NONE, 1, 1, 0, 2).retries(1));
    }
}
