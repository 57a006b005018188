package dev.edgeagent.shell.command;

import java.time.Duration;
import java.time.Instant;

/** Text helpers shared by the commands. */
final class Format {
    private Format() {}

    static String duration(long millis) {
        Duration d = Duration.ofMillis(Math.max(0, millis));
        long days = d.toDays();
        long h = d.toHoursPart();
        long m = d.toMinutesPart();
        long s = d.toSecondsPart();
        if (days > 0) return days + "d " + h + "h " + m + "m";
        if (h > 0) return h + "h " + m + "m " + s + "s";
        if (m > 0) return m + "m " + s + "s";
        return s + "s";
    }

    static String since(long epochMillis) {
        if (epochMillis <= 0) return "-";
        return Instant.ofEpochMilli(epochMillis) + " (" + duration(System.currentTimeMillis() - epochMillis) + " ago)";
    }

    static String orDash(Object o) {
        return o == null ? "-" : o.toString();
    }
}
