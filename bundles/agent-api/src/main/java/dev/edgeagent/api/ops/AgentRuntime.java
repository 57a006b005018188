package dev.edgeagent.api.ops;

import dev.edgeagent.api.channel.ChannelStats;
import java.util.List;
import java.util.Map;

/** The running agent, as seen by operators (shell commands). Registered by the core. */
public interface AgentRuntime {
    AgentStatus status();

    /** Every configured channel, in configuration order, including those not running. */
    List<ChannelStats> channels();

    /** The {@code $stats} object (spec §9.1). */
    Map<String, Object> stats();

    /** Re-reads the Agent resource and applies the difference; returns a summary or throws with the problems. */
    String reloadConfig() throws Exception;
}
