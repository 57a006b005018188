package dev.edgeagent.queue.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The {@code dev.edgeagent.queue} configuration, with Medplum's setting names and defaults (spec §3.3). */
record QueueSettings(Path dbPath, SqliteMessageStore.Retention retention, int sweepIntervalSecs, List<String> warnings) {
    static final String DB_PATH = "queueDbPath";
    static final String RETENTION_DAYS = "queueRetentionDays";
    static final String ERRORED_RETENTION_DAYS = "queueErroredRetentionDays";
    static final String MAX_MB = "queueRetentionMaxMb";
    static final String SWEEP_SECS = "queueSweepIntervalSecs";

    static QueueSettings from(Map<String, ?> props) {
        List<String> warnings = new ArrayList<>();
        Object p = props.get(DB_PATH);
        Path path = p instanceof String s && !s.isBlank() ? Path.of(s.trim()) : defaultPath();
        int days = positive(props, RETENTION_DAYS, 7, warnings);
        int erroredDays = positive(props, ERRORED_RETENTION_DAYS, 90, warnings);
        int maxMb = positive(props, MAX_MB, 512, warnings);
        int sweep = positive(props, SWEEP_SECS, 3600, warnings);
        return new QueueSettings(path, new SqliteMessageStore.Retention(days, erroredDays, maxMb * 1024L * 1024L), sweep,
                warnings);
    }

    /** {@code ${karaf.data}/edge-queue/queue.sqlite}; {@code ./data/edge-queue/queue.sqlite} outside Karaf. */
    static Path defaultPath() {
        String data = System.getProperty("karaf.data");
        return Path.of(data != null && !data.isBlank() ? data : "data", "edge-queue", "queue.sqlite");
    }

    private static int positive(Map<String, ?> props, String key, int dflt, List<String> warnings) {
        Object v = props.get(key);
        if (v == null) return dflt;
        try {
            int n = v instanceof Number num ? num.intValue() : Integer.parseInt(v.toString().trim());
            if (n > 0) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        warnings.add("Invalid " + key + " setting '" + v + "'; expected a positive integer. Using " + dflt + ".");
        return dflt;
    }
}
