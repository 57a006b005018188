package dev.edgeagent.api.channel;

/**
 * A problem found while validating a channel configuration. Warnings keep the channel running with a
 * fallback (Medplum semantics); errors reject the configuration (as do warnings under
 * {@code strictConfigValidation}).
 */
public record ConfigIssue(Severity severity, String message) {
    public enum Severity { ERROR, WARNING }

    public static ConfigIssue error(String message) {
        return new ConfigIssue(Severity.ERROR, message);
    }

    public static ConfigIssue warning(String message) {
        return new ConfigIssue(Severity.WARNING, message);
    }
}
