package dev.edgeagent.hub.internal;

import org.eclipse.jetty.server.Server;

/**
 * Defaults for slf4j-simple (bundled in the hub jar): one readable line per event, Jetty's own chatter
 * at WARN. Must run before the first logger is created; user-supplied -D settings win.
 */
public final class LogSetup {
    private static final String PREFIX = "org.slf4j.simpleLogger.";

    private LogSetup() {
    }

    public static void init() {
        setDefault(PREFIX + "showDateTime", "true");
        setDefault(PREFIX + "dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        setDefault(PREFIX + "showShortLogName", "true");
        setDefault(PREFIX + "levelInBrackets", "true");
        setDefault(PREFIX + "showThreadName", "false");
        // Derived at runtime so it stays right when the shaded jar relocates Jetty's packages.
        String jetty = Server.class.getName().substring(0, Server.class.getName().length() - ".server.Server".length());
        setDefault(PREFIX + "log." + jetty, "warn");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
