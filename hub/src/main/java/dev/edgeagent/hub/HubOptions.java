package dev.edgeagent.hub;

import java.nio.file.Path;

/**
 * Settings for {@link Hub#start(HubOptions)}. Fluent setters; defaults match the CLI
 * ({@code 127.0.0.1:8103}, built-in sample seed, 3600 s tokens, 10 s heartbeats).
 */
public final class HubOptions {
    private String host = "127.0.0.1";
    private int port = 8103;
    private Path seedFile;
    private String seedJson;
    private long tokenLifetimeSeconds = 3600;
    private long heartbeatMs = 10_000;
    private long operationTimeoutMs = 5_000;
    private int maxMessageBytes = 16 * 1024 * 1024;
    private int messageRingSize = 10_000;

    public static HubOptions defaults() {
        return new HubOptions();
    }

    /** Interface to bind; keep loopback unless devices on other hosts must reach the hub. */
    public HubOptions host(String value) {
        this.host = value;
        return this;
    }

    /** TCP port; 0 picks a free ephemeral port (read it back with {@link Hub#port()}). */
    public HubOptions port(int value) {
        this.port = value;
        return this;
    }

    /** Seed file in the documented format; replaces the built-in sample seed. */
    public HubOptions seedFile(Path value) {
        this.seedFile = value;
        return this;
    }

    /** Seed document given inline (same format as the file); wins over {@link #seedFile}. */
    public HubOptions seedJson(String value) {
        this.seedJson = value;
        return this;
    }

    public HubOptions tokenLifetimeSeconds(long value) {
        this.tokenLifetimeSeconds = value;
        return this;
    }

    /** Period of server heartbeat requests to each connected agent; 0 disables them. */
    public HubOptions heartbeatMs(long value) {
        this.heartbeatMs = value;
        return this;
    }

    /** How long $reload-config, $stats and $fetch-logs wait for the agent (Medplum: 5000 ms). */
    public HubOptions operationTimeoutMs(long value) {
        this.operationTimeoutMs = value;
        return this;
    }

    /** Largest WebSocket message and HTTP request body accepted, in bytes. */
    public HubOptions maxMessageBytes(int value) {
        this.maxMessageBytes = value;
        return this;
    }

    /** How many accepted transmit requests {@link Hub#receivedMessages()} keeps. */
    public HubOptions messageRingSize(int value) {
        this.messageRingSize = value;
        return this;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public Path seedFile() {
        return seedFile;
    }

    public String seedJson() {
        return seedJson;
    }

    public long tokenLifetimeSeconds() {
        return tokenLifetimeSeconds;
    }

    public long heartbeatMs() {
        return heartbeatMs;
    }

    public long operationTimeoutMs() {
        return operationTimeoutMs;
    }

    public int maxMessageBytes() {
        return maxMessageBytes;
    }

    public int messageRingSize() {
        return messageRingSize;
    }

    void validate() {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
        if (tokenLifetimeSeconds <= 0) {
            throw new IllegalArgumentException("token lifetime must be positive, got " + tokenLifetimeSeconds);
        }
        if (heartbeatMs < 0 || operationTimeoutMs < 0) {
            throw new IllegalArgumentException("heartbeat and operation timeout must not be negative");
        }
        if (maxMessageBytes < 1024 || messageRingSize < 1) {
            throw new IllegalArgumentException("maxMessageBytes must be >= 1024 and messageRingSize >= 1");
        }
    }
}
