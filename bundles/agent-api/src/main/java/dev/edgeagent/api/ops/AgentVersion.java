package dev.edgeagent.api.ops;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The agent's version string, as reported in heartbeat responses and status. Set at build time. */
public final class AgentVersion {
    private static final String VERSION = load();

    private AgentVersion() {}

    public static String get() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = AgentVersion.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            }
        } catch (IOException e) {
            // fall through: an unknown version must not stop the agent
        }
        return "unknown";
    }
}
