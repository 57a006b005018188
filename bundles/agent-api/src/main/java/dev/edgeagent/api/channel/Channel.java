package dev.edgeagent.api.channel;

/**
 * One running instance of a protocol listener, created by a {@link ChannelFactory} for one
 * {@code Agent.channel} entry. All methods may be called from any thread; implementations are thread-safe.
 */
public interface Channel {
    String name();

    ChannelConfig config();

    /**
     * Binds the listener.
     *
     * @throws ChannelException with an operator-readable reason (e.g. the port is in use)
     */
    void start() throws ChannelException;

    /**
     * Applies a new configuration with the same name and type in place, keeping open connections
     * (spec §3.4). The core calls this only with a configuration the factory validated.
     *
     * @return true when applied; false when the change needs a restart (e.g. a new port), in which case the
     *         channel is unchanged and the core stops it and creates a new one
     */
    boolean reconfigure(ChannelConfig config);

    /** Closes the listener and every device connection. Idempotent. */
    void stop();

    ChannelStats stats();

    /**
     * Delivers a server answer that arrived without a callback the runtime could match, addressed by
     * {@code remote} (legacy Medplum routing, spec §4.5).
     *
     * @return false when no connection with that remote is open (the caller logs it)
     */
    default boolean deliverUnmatched(String remote, DeviceReply reply) {
        return false;
    }
}
