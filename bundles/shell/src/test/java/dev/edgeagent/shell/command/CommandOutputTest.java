package dev.edgeagent.shell.command;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.ops.AgentStatus;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.api.transport.TransportStatus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommandOutputTest {

    private static String capture(java.util.function.Consumer<PrintStream> body) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (PrintStream ps = new PrintStream(bos, true, StandardCharsets.UTF_8)) {
            body.accept(ps);
        }
        return bos.toString(StandardCharsets.UTF_8);
    }

    @Test
    void channelTableListsEveryChannelWithCounters() {
        List<ChannelStats> cs = List.of(
                new ChannelStats("adt-in", "HL7", "mllp://0.0.0.0:2575", ChannelState.LISTENING, 2, 10, 9, 1, Map.of(), null),
                new ChannelStats("lab", "DICOM", "dicom://0.0.0.0:104", ChannelState.NO_PROTOCOL, 0, 0, 0, 0, Map.of(), null));
        String out = capture(ps -> ChannelsCommand.table(cs).print(ps));
        assertTrue(out.contains("adt-in"), out);
        assertTrue(out.contains("LISTENING"), out);
        assertTrue(out.contains("NO_PROTOCOL"), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("adt-in") && l.contains("10") && l.contains("9")), out);
    }

    @Test
    void channelDetailShowsLastErrorAndDetail() {
        ChannelStats c = new ChannelStats("adt-in", "HL7", "mllp://0.0.0.0:2575", ChannelState.FAILED, 0, 0, 0, 3,
                Map.of("hl7ConnectionsOpen", 0), "Unable to bind port 2575: Address already in use");
        String out = capture(ps -> ChannelsCommand.printDetail(c, ps));
        assertTrue(out.contains("Last error  : Unable to bind port 2575"), out);
        assertTrue(out.contains("hl7ConnectionsOpen"), out);
    }

    @Test
    void statusShowsLinkAndConfigProblem() {
        long now = System.currentTimeMillis();
        AgentStatus s = new AgentStatus("a1", "http://127.0.0.1:8103/", "0.1.0", now - 65_000,
                new TransportStatus(LinkState.LIVE, "ws://127.0.0.1:8103/ws/agent", now - 5_000, 3, 0, 0, "hub-1", null),
                "active", null, 1);
        String out = capture(ps -> StatusCommand.print(s, ps));
        assertTrue(out.contains("Link          : LIVE"), out);
        assertTrue(out.contains("Uptime        : 1m 5s"), out);
        assertTrue(out.contains("Ping          : 3 ms"), out);
        assertFalse(out.contains("Config problem"), out);
        AgentStatus bad = new AgentStatus(null, null, "0.1.0", now, null, null, "Configuration key 'clientSecret' is missing", 0);
        String out2 = capture(ps -> StatusCommand.print(bad, ps));
        assertTrue(out2.contains("no transport deployed"), out2);
        assertTrue(out2.contains("Config problem: Configuration key 'clientSecret' is missing"), out2);
    }

    @Test
    void statsRenderNestsChannelAndClientFigures() {
        java.util.Map<String, Object> rtt = new java.util.LinkedHashMap<>();
        rtt.put("count", 12);
        rtt.put("p99", 40);
        java.util.Map<String, Object> stats = new java.util.LinkedHashMap<>();
        stats.put("hl7ConnectionsOpen", 1);
        stats.put("live", true);
        stats.put("channelStats", Map.of("adt-in", Map.of("rtt", rtt)));
        stats.put("clientStats", Map.of());
        String out = StatsCommand.render(stats);
        assertEquals("hl7ConnectionsOpen: 1\nlive: true\nchannelStats:\n  adt-in:\n    rtt:\n      count: 12\n      p99: 40\nclientStats: {}", out);
    }
}
