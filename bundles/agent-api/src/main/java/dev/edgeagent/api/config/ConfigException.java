package dev.edgeagent.api.config;

/** A configuration value is missing or invalid; {@link #key()} names it. */
public class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String key;

    public ConfigException(String key, String problem) {
        super("Configuration key '" + key + "' " + problem);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
