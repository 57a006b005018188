package dev.edgeagent.hub;

import dev.edgeagent.hub.internal.LogSetup;
import java.nio.file.Path;

/** {@code java -jar hub.jar [--host H] [--port P] [--seed FILE] [--token-lifetime S] [--heartbeat-ms MS]}. */
public final class Main {
    static {
        LogSetup.init();
    }

    private static final String USAGE = "Usage: java -jar hub.jar [--host 127.0.0.1] [--port 8103] [--seed FILE]"
            + " [--token-lifetime SECONDS] [--heartbeat-ms 10000]";

    private Main() {
    }

    public static void main(String[] args) {
        HubOptions options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("hub: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        if (options == null) {
            System.out.println(USAGE);
            return;
        }
        Hub hub;
        try {
            hub = Hub.start(options);
        } catch (Exception e) {
            System.err.println("hub: " + e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(hub::stop, "hub-shutdown"));
    }

    /** Returns null for --help. */
    static HubOptions parse(String[] args) {
        HubOptions o = HubOptions.defaults();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                return null;
            }
            String value;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for " + a);
                }
                value = args[++i];
            }
            switch (a) {
                case "--host" -> o.host(value);
                case "--port" -> o.port(number(a, value));
                case "--seed" -> o.seedFile(Path.of(value));
                case "--token-lifetime" -> o.tokenLifetimeSeconds(number(a, value));
                case "--heartbeat-ms" -> o.heartbeatMs(number(a, value));
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        return o;
    }

    private static int number(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs an integer, got '" + value + "'");
        }
    }
}
