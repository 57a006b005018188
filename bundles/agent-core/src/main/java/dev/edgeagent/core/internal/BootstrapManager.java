package dev.edgeagent.core.internal;

import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.api.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local configuration (PID {@value BootstrapConfig#PID}): validation with one clear error line, migration from
 * a Medplum {@code agent.properties}, and the {@code logLevel} → pax-logging bridge.
 */
final class BootstrapManager {
    private static final Logger LOG = LoggerFactory.getLogger(BootstrapManager.class);
    static final String CFG_FILE = "etc/" + BootstrapConfig.PID + ".cfg";
    static final String LOGGING_PID = "org.ops4j.pax.logging";
    static final String LOGGER_NAME_KEY = "log4j2.logger.edgeagent.name";
    static final String LOGGER_LEVEL_KEY = "log4j2.logger.edgeagent.level";
    private static final List<String> MIGRATED_KEYS = List.of(BootstrapConfig.KEY_BASE_URL, BootstrapConfig.KEY_CLIENT_ID,
            BootstrapConfig.KEY_CLIENT_SECRET, BootstrapConfig.KEY_AGENT_ID, BootstrapConfig.KEY_LOG_LEVEL,
            BootstrapConfig.KEY_TRUST_STORE, BootstrapConfig.KEY_TRUST_STORE_PASSWORD);

    /**
     * Seconds to wait at boot for the server before the channels start from the last-good snapshot; 0 = at once,
     * negative = only after a failed Agent read (Medplum's behaviour). Ours, not Medplum's.
     */
    static final String KEY_OFFLINE_START = "offlineStartSeconds";
    static final Duration DEFAULT_OFFLINE_START = Duration.ofSeconds(5);

    /**
     * Outcome of one configuration event: exactly one of {@code config} and {@code error} is non-null.
     *
     * @param offlineStart the boot grace ({@value #KEY_OFFLINE_START}); null = never
     */
    record Result(BootstrapConfig config, String error, Duration offlineStart) {}

    private final ConfigStore store;
    private final Path home;
    private String lastError;
    private String lastOfflineWarning;

    /**
     * @param store Config Admin access, or null when unavailable (then nothing is written)
     * @param home  where a Medplum {@code agent.properties} may be found
     */
    BootstrapManager(ConfigStore store, Path home) {
        this.store = store;
        this.home = home;
    }

    /** {@code karaf.home}, else the working directory. */
    static Path defaultHome() {
        String h = System.getProperty("karaf.home");
        return Path.of(h != null && !h.isBlank() ? h : System.getProperty("user.dir", "."));
    }

    synchronized Result apply(Map<String, ?> properties) {
        Map<String, Object> raw = new LinkedHashMap<>(properties == null ? Map.of() : properties);
        if (BootstrapConfig.missingKeys(raw).size() == 4) {
            migrate(raw);
        }
        try {
            BootstrapConfig config = BootstrapConfig.parse(raw);
            lastError = null;
            applyLogLevel(config.logLevel());
            return new Result(config, null, offlineStart(raw.get(KEY_OFFLINE_START)));
        } catch (ConfigException e) {
            String what = BootstrapConfig.missingKeys(raw).contains(e.key()) ? "incomplete" : "invalid";
            String error = "Agent configuration " + what + ": " + e.getMessage() + " (" + CFG_FILE + ")";
            // One line per distinct problem: Config Admin may redeliver the same dictionary.
            if (!error.equals(lastError)) {
                LOG.error(error);
                lastError = error;
            }
            return new Result(null, error, null);
        }
    }

    private Duration offlineStart(Object value) {
        if (value == null || value.toString().isBlank()) return DEFAULT_OFFLINE_START;
        String v = value.toString().trim();
        try {
            long s = Long.parseLong(v);
            return s < 0 ? null : Duration.ofSeconds(s);
        } catch (NumberFormatException e) {
            String warning = "Invalid " + KEY_OFFLINE_START + " '" + v + "' in " + CFG_FILE + "; expected whole seconds. Using "
                    + DEFAULT_OFFLINE_START.toSeconds();
            if (!warning.equals(lastOfflineWarning)) {
                LOG.warn(warning);
                lastOfflineWarning = warning;
            }
            return DEFAULT_OFFLINE_START;
        }
    }

    private void migrate(Map<String, Object> raw) {
        Path file = home.resolve("agent.properties");
        if (!Files.isRegularFile(file)) return;
        Map<String, String> legacy;
        try {
            legacy = BootstrapConfig.readAgentProperties(file);
        } catch (IOException e) {
            LOG.error("Unable to read {} for migration: {}", file, e.toString());
            return;
        }
        Map<String, Object> found = new LinkedHashMap<>();
        for (String k : MIGRATED_KEYS) {
            String v = legacy.get(k);
            if (v != null && !v.isEmpty()) found.put(k, v);
        }
        if (found.isEmpty()) return;
        raw.putAll(found);
        if (store == null) {
            LOG.info("Using agent configuration from {} (Config Admin unavailable, not migrated)", file);
            return;
        }
        try {
            Dictionary<String, Object> existing = store.get(BootstrapConfig.PID);
            Dictionary<String, Object> next = copy(existing);
            next.remove("service.pid");
            found.forEach(next::put);
            store.update(BootstrapConfig.PID, next);
            LOG.info("Migrated agent configuration from {} into {}", file, CFG_FILE);
        } catch (IOException | RuntimeException e) {
            LOG.error("Unable to migrate {} into {}: {}", file, CFG_FILE, e.toString());
        }
    }

    private void applyLogLevel(String level) {
        if (store == null) return;
        String target = "NONE".equals(level) ? "OFF" : level;
        try {
            Dictionary<String, Object> current = store.get(LOGGING_PID);
            if (current == null) return; // pax-logging not configured through Config Admin: leave it alone
            if (Objects.equals(current.get(LOGGER_LEVEL_KEY), target)
                    && Objects.equals(current.get(LOGGER_NAME_KEY), "dev.edgeagent")) {
                return;
            }
            Dictionary<String, Object> next = copy(current);
            next.remove("service.pid");
            next.put(LOGGER_NAME_KEY, "dev.edgeagent");
            next.put(LOGGER_LEVEL_KEY, target);
            store.update(LOGGING_PID, next);
            LOG.info("Log level of logger 'dev.edgeagent' set to {}", target);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Unable to set log level {}: {}", target, e.toString());
        }
    }

    private static Dictionary<String, Object> copy(Dictionary<String, Object> d) {
        Hashtable<String, Object> out = new Hashtable<>();
        if (d != null) {
            BootstrapConfig.toMap(d).forEach(out::put);
        }
        return out;
    }
}
