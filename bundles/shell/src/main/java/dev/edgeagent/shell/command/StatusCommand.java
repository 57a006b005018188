package dev.edgeagent.shell.command;

import dev.edgeagent.api.ops.AgentRuntime;
import dev.edgeagent.api.ops.AgentStatus;
import dev.edgeagent.api.transport.TransportStatus;
import java.io.PrintStream;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "status", description = "Shows the cloud link, agent id, server, version and uptime")
@Service
public class StatusCommand implements Action {

    @Reference
    AgentRuntime runtime;

    @Override
    public Object execute() {
        print(runtime.status(), System.out);
        return null;
    }

    static void print(AgentStatus s, PrintStream out) {
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
        if (s.configError() != null) {
            out.println("Config problem: " + s.configError());
        }
    }
}
