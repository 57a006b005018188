package dev.edgeagent.shell.command;

import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.ops.AgentRuntime;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "agent", name = "channels", description = "Lists channels: name, type, address, state, connections, messages in/out, errors")
@Service
public class ChannelsCommand implements Action {

    @Reference
    AgentRuntime runtime;

    @Argument(index = 0, name = "channel", description = "Show only this channel, with its details", required = false)
    @Completion(ChannelNameCompleter.class)
    String channel;

    @Override
    public Object execute() {
        List<ChannelStats> all = runtime.channels();
        if (channel != null) {
            List<ChannelStats> one = all.stream().filter(c -> c.name().equals(channel)).collect(Collectors.toList());
            if (one.isEmpty()) {
                System.err.println("No channel named '" + channel + "'. Configured: "
                        + all.stream().map(ChannelStats::name).collect(Collectors.joining(", ")));
                return null;
            }
            printDetail(one.get(0), System.out);
            return null;
        }
        table(all).print(System.out);
        return null;
    }

    static ShellTable table(List<ChannelStats> channels) {
        ShellTable t = new ShellTable();
        t.column("Name");
        t.column("Type");
        t.column("Address");
        t.column("State");
        t.column("Conns").alignRight();
        t.column("In").alignRight();
        t.column("Out").alignRight();
        t.column("Errors").alignRight();
        for (ChannelStats c : channels) {
            t.addRow().addContent(c.name(), Format.orDash(c.type()), Format.orDash(c.address()), c.state(),
                    c.connections(), c.messagesIn(), c.messagesOut(), c.errors());
        }
        return t;
    }

    static void printDetail(ChannelStats c, PrintStream out) {
        out.println("Name        : " + c.name());
        out.println("Type        : " + Format.orDash(c.type()));
        out.println("Address     : " + Format.orDash(c.address()));
        out.println("State       : " + c.state());
        out.println("Connections : " + c.connections());
        out.println("Messages in : " + c.messagesIn());
        out.println("Messages out: " + c.messagesOut());
        out.println("Errors      : " + c.errors());
        if (c.lastError() != null) {
            out.println("Last error  : " + c.lastError());
        }
        if (c.detail() != null) {
            for (Map.Entry<String, Object> e : c.detail().entrySet()) {
                out.println(String.format("%-12s: %s", e.getKey(), e.getValue()));
            }
        }
    }
}
