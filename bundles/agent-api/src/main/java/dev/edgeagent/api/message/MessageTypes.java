package dev.edgeagent.api.message;

/** The {@code type} values of the Medplum agent protocol, with the legacy aliases that must still be accepted. */
public final class MessageTypes {
    private MessageTypes() {}

    public static final String CONNECT_REQUEST = "agent:connect:request";
    public static final String CONNECT_RESPONSE = "agent:connect:response";
    public static final String HEARTBEAT_REQUEST = "agent:heartbeat:request";
    public static final String HEARTBEAT_RESPONSE = "agent:heartbeat:response";
    public static final String TRANSMIT_REQUEST = "agent:transmit:request";
    public static final String TRANSMIT_RESPONSE = "agent:transmit:response";
    public static final String RELOADCONFIG_REQUEST = "agent:reloadconfig:request";
    public static final String RELOADCONFIG_RESPONSE = "agent:reloadconfig:response";
    public static final String UPGRADE_REQUEST = "agent:upgrade:request";
    public static final String UPGRADE_RESPONSE = "agent:upgrade:response";
    public static final String LOGS_REQUEST = "agent:logs:request";
    public static final String LOGS_RESPONSE = "agent:logs:response";
    public static final String STATS_REQUEST = "agent:stats:request";
    public static final String STATS_RESPONSE = "agent:stats:response";
    public static final String ERROR = "agent:error";

    /** Legacy aliases (spec §2.4): server→agent {@code connected}, {@code transmit}, {@code push}; agent→server {@code connect}. */
    public static final String LEGACY_CONNECTED = "connected";
    public static final String LEGACY_TRANSMIT = "transmit";
    public static final String LEGACY_PUSH = "push";
    public static final String LEGACY_CONNECT = "connect";

    /**
     * Maps a type received by the agent to its modern name. {@code transmit} is ambiguous in the protocol
     * (a response when it arrives at the agent), so it maps to {@link #TRANSMIT_RESPONSE}.
     */
    public static String normalizeInbound(String type) {
        if (type == null) {
            return null;
        }
        switch (type) {
            case LEGACY_CONNECTED: return CONNECT_RESPONSE;
            case LEGACY_TRANSMIT: return TRANSMIT_RESPONSE;
            case LEGACY_PUSH: return TRANSMIT_REQUEST;
            default: return type;
        }
    }
}
