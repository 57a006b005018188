package dev.edgeagent.shell.command;

import dev.edgeagent.api.ops.AgentRuntime;
import dev.edgeagent.api.ops.AgentStatus;
import dev.edgeagent.api.transport.TransportStatus;
import java.io.PrintStream;
import java.util.Map;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "status", description = "Shows the cloud link, agent id, server, version, uptime and durable queue counts")
@Service
public class StatusCommand implements Action {

    @Reference
    AgentRuntime runtime;

    @Override
    public Object execute() {
        Object queue;
        try {
            // AgentStatus has no queue figures; $stats carries them (spec §9.1 durableQueue), absent without a store.
            queue = runtime.stats().get("durableQueue");
        } catch (RuntimeException e) {
            queue = Map.of("error", "cannot read the agent's stats: " + e.getMessage());
        }
        print(runtime.status(), queue, System.out);
        return null;
    }

    static void print(AgentStatus s, PrintStream out) {
        print(s, null, out);
    }

    /** @param durableQueue the {@code durableQueue} object of {@code $stats}, or null when no store is deployed */
    static void print(AgentStatus s, Object durableQueue, PrintStream out) {
        TransportStatus link = s.link();
        out.println("Agent id      : " + Format.orDash(s.agentId()));
        out.println("Agent status  : " + Format.orDash(s.agentStatus()));
        out.println("Server        : " + Format.orDash(s.server()));
        out.println("Version       : " + s.version());
        out.println("Uptime        : " + Format.duration(System.currentTimeMillis() - s.startedAt()));
        if (link == null) {
            out.println("Link          : no transport deployed");
        } else {
            out.println("Link          : " + link.state() + " since " + Format.since(link.since()));
            out.println("WebSocket     : " + Format.orDash(link.serverUrl()));
            out.println("Ping          : " + (link.pingMillis() < 0 ? "-" : link.pingMillis() + " ms"));
            out.println("Queued frames : " + link.queuedFrames());
            out.println("Server version: " + Format.orDash(link.serverVersion()));
            if (link.lastError() != null) {
                out.println("Last link error: " + link.lastError());
            }
        }
        out.println("Channels      : " + s.channels());
        out.println("Durable queue : " + queueLine(durableQueue));
        if (s.configError() != null) {
            out.println("Config problem: " + s.configError());
        }
    }

    static String queueLine(Object durableQueue) {
        if (!(durableQueue instanceof Map<?, ?> q)) {
            return "not deployed (messages go straight to the server)";
        }
        if (q.get("error") != null) {
            return "cannot read it: " + q.get("error");
        }
        StringBuilder sb = new StringBuilder();
        if (Boolean.FALSE.equals(q.get("enabled"))) {
            sb.append("off for new messages (setting durableQueue=false); ");
        }
        Map<?, ?> counts = q.get("countsByState") instanceof Map<?, ?> m ? m : Map.of();
        sb.append(count(counts, "queued")).append(" queued, ").append(count(counts, "inflight")).append(" in flight, ")
                .append(count(counts, "failed")).append(" failed, ").append(count(counts, "processed")).append(" processed");
        if (q.get("channelDepth") instanceof Map<?, ?> depth) {
            long oldest = -1;
            for (Object d : depth.values()) {
                if (d instanceof Map<?, ?> dm && dm.get("oldestQueuedAgeMs") instanceof Number n) {
                    oldest = Math.max(oldest, n.longValue());
                }
            }
            if (oldest >= 0) sb.append("; oldest pending ").append(Format.duration(oldest));
        }
        if (count(counts, "failed") > 0) sb.append(" (agent:queue --failed)");
        return sb.toString();
    }

    private static long count(Map<?, ?> counts, String state) {
        return counts.get(state) instanceof Number n ? n.longValue() : 0;
    }
}
