package dev.edgeagent.shell.command;

import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.ops.AgentRuntime;
import java.util.List;
import java.util.Map;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "agent", name = "stats", description = "Shows the $stats object: connections, queue depths, ping, per-channel and per-client RTT")
@Service
public class StatsCommand implements Action {

    @Reference
    AgentRuntime runtime;

    @Option(name = "--json", description = "Print the stats as one line of JSON, exactly as $stats returns them")
    boolean json;

    @Override
    public Object execute() {
        Map<String, Object> stats = runtime.stats();
        System.out.println(json ? MessageCodec.toJson(stats) : render(stats));
        return null;
    }

    /** An indented, human-readable rendering of nested maps and lists. */
    static String render(Object value) {
        StringBuilder sb = new StringBuilder();
        render(value, 0, sb);
        return sb.toString().stripTrailing();
    }

    private static void render(Object value, int indent, StringBuilder sb) {
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                sb.append("  ".repeat(indent)).append(e.getKey()).append(':');
                if (e.getValue() instanceof Map<?, ?> m && !m.isEmpty()) {
                    sb.append('\n');
                    render(e.getValue(), indent + 1, sb);
                } else {
                    sb.append(' ').append(scalar(e.getValue())).append('\n');
                }
            }
        } else {
            sb.append("  ".repeat(indent)).append(scalar(value)).append('\n');
        }
    }

    private static String scalar(Object v) {
        if (v instanceof Map<?, ?> m && m.isEmpty()) return "{}";
        if (v instanceof List<?> l) return MessageCodec.toJson(l);
        return String.valueOf(v);
    }
}
