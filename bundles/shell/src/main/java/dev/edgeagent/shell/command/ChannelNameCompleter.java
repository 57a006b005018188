package dev.edgeagent.shell.command;

import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.ops.AgentRuntime;
import java.util.List;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the names of configured channels. */
@Service
public class ChannelNameCompleter implements Completer {

    @Reference
    AgentRuntime runtime;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        for (ChannelStats c : runtime.channels()) {
            delegate.getStrings().add(c.name());
        }
        return delegate.complete(session, commandLine, candidates);
    }
}
