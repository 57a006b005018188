package dev.edgeagent.hub.internal;

/** What $status reports for an agent (Medplum keeps this in Redis as medplum:agent:<id>:info). */
public record AgentInfo(String status, String version, String lastUpdated) {
    public static final AgentInfo UNKNOWN = new AgentInfo("unknown", "unknown", null);
}
