package dev.edgeagent.api.config;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The local configuration an agent needs before it can reach its server: Config Admin PID
 * {@value #PID} ({@code etc/dev.edgeagent.cfg}) or, for migrated installs, a Medplum {@code agent.properties}
 * file with the same keys. Shared by the core and the transport so both validate identically.
 *
 * @param baseUrl      server base URL, always ending in {@code /}
 * @param clientId     OAuth2 client id
 * @param clientSecret OAuth2 client secret
 * @param agentId      id of the Agent resource
 * @param logLevel     NONE/ERROR/WARN/INFO/DEBUG
 * @param trustStore   optional path of a custom trust store for TLS (JDK default when null)
 * @param trustStorePassword optional password of that trust store
 */
public record BootstrapConfig(String baseUrl, String clientId, String clientSecret, String agentId,
                              String logLevel, String trustStore, String trustStorePassword) {
    public static final String PID = "dev.edgeagent";
    public static final String KEY_BASE_URL = "baseUrl";
    public static final String KEY_CLIENT_ID = "clientId";
    public static final String KEY_CLIENT_SECRET = "clientSecret";
    public static final String KEY_AGENT_ID = "agentId";
    public static final String KEY_LOG_LEVEL = "logLevel";
    public static final String KEY_TRUST_STORE = "trustStore";
    public static final String KEY_TRUST_STORE_PASSWORD = "trustStorePassword";

    private static final Set<String> LEVELS = Set.of("NONE", "ERROR", "WARN", "INFO", "DEBUG");

    /**
     * Validates raw key/value pairs.
     *
     * @throws ConfigException naming the first missing or invalid key
     */
    public static BootstrapConfig parse(Map<String, ?> raw) throws ConfigException {
        String baseUrl = required(raw, KEY_BASE_URL);
        try {
            URI u = new URI(baseUrl);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null) {
                throw new ConfigException(KEY_BASE_URL, "must be an http:// or https:// URL with a host, was '" + baseUrl + "'");
            }
        } catch (URISyntaxException e) {
            throw new ConfigException(KEY_BASE_URL, "is not a valid URL: " + e.getMessage());
        }
        if (!baseUrl.endsWith("/")) {
            baseUrl = baseUrl + "/";
        }
        String clientId = required(raw, KEY_CLIENT_ID);
        String clientSecret = required(raw, KEY_CLIENT_SECRET);
        String agentId = required(raw, KEY_AGENT_ID);
        String level = optional(raw, KEY_LOG_LEVEL);
        if (level == null) {
            level = "INFO";
        } else {
            level = level.toUpperCase(Locale.ROOT);
            if (!LEVELS.contains(level)) {
                throw new ConfigException(KEY_LOG_LEVEL, "must be one of NONE, ERROR, WARN, INFO, DEBUG, was '" + level + "'");
            }
        }
        String trustStore = optional(raw, KEY_TRUST_STORE);
        if (trustStore != null && !Files.isReadable(Path.of(trustStore))) {
            throw new ConfigException(KEY_TRUST_STORE, "file is not readable: " + trustStore);
        }
        return new BootstrapConfig(baseUrl, clientId, clientSecret, agentId, level, trustStore,
                optional(raw, KEY_TRUST_STORE_PASSWORD));
    }

    /** Converts a Config Admin dictionary to a plain map. */
    public static Map<String, Object> toMap(Dictionary<String, ?> dict) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (dict != null) {
            for (Enumeration<String> e = dict.keys(); e.hasMoreElements(); ) {
                String k = e.nextElement();
                m.put(k, dict.get(k));
            }
        }
        return m;
    }

    /**
     * Reads a Medplum {@code agent.properties} file the way the Medplum Agent does (spec §1.3, Q24): lines
     * split on newline, each line split on {@code =} and trimmed. Unlike Medplum, lines starting with
     * {@code #} are comments and a value may contain {@code =} (everything after the first one is kept).
     */
    public static Map<String, String> readAgentProperties(Path file) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            int eq = t.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            m.put(t.substring(0, eq).trim(), t.substring(eq + 1).trim());
        }
        return m;
    }

    /** The WebSocket URL: https→wss, anything else→ws, path replaced by {@code /ws/agent} (spec §2.1). */
    public String webSocketUrl() {
        URI u = URI.create(baseUrl);
        String scheme = "https".equalsIgnoreCase(u.getScheme()) ? "wss" : "ws";
        String port = u.getPort() == -1 ? "" : ":" + u.getPort();
        String query = u.getRawQuery() == null ? "" : "?" + u.getRawQuery();
        return scheme + "://" + u.getHost() + port + "/ws/agent" + query;
    }

    /** Which keys are absent or blank, for a one-line diagnosis. */
    public static List<String> missingKeys(Map<String, ?> raw) {
        List<String> missing = new ArrayList<>();
        for (String k : List.of(KEY_BASE_URL, KEY_CLIENT_ID, KEY_CLIENT_SECRET, KEY_AGENT_ID)) {
            if (optional(raw, k) == null) {
                missing.add(k);
            }
        }
        return missing;
    }

    @Override
    public String toString() {
        return "BootstrapConfig[baseUrl=" + baseUrl + ", clientId=" + clientId + ", agentId=" + agentId
                + ", logLevel=" + logLevel + ", trustStore=" + trustStore + "]";
    }

    private static String required(Map<String, ?> raw, String key) throws ConfigException {
        String v = optional(raw, key);
        if (v == null) {
            throw new ConfigException(key, "is missing");
        }
        return v;
    }

    private static String optional(Map<String, ?> raw, String key) {
        Object v = raw.get(key);
        if (v == null) {
            return null;
        }
        String s = v.toString().trim();
        return s.isEmpty() ? null : s;
    }
}
