package dev.edgeagent.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.helpers.FormattingTuple;
import org.slf4j.helpers.MarkerIgnoringBase;
import org.slf4j.helpers.MessageFormatter;

/** Records log events in memory (and echoes WARN/ERROR to stderr for debugging failed runs). */
public final class LogCapture {
    public record Event(String level, String logger, String message) {
        @Override
        public String toString() {
            return level + " " + message;
        }
    }

    private static final List<Event> EVENTS = new CopyOnWriteArrayList<>();

    private LogCapture() {}

    public static void clear() {
        EVENTS.clear();
    }

    public static List<Event> events() {
        return new ArrayList<>(EVENTS);
    }

    public static List<Event> at(String level) {
        List<Event> out = new ArrayList<>();
        for (Event e : EVENTS) if (e.level().equals(level)) out.add(e);
        return out;
    }

    public static List<Event> containing(String level, String text) {
        List<Event> out = new ArrayList<>();
        for (Event e : EVENTS) if (e.level().equals(level) && e.message().contains(text)) out.add(e);
        return out;
    }

    public static Logger logger(String name) {
        return new Capturing(name);
    }

    private static final class Capturing extends MarkerIgnoringBase {
        private static final long serialVersionUID = 1L;

        Capturing(String name) {
            this.name = name;
        }

        private void log(String level, FormattingTuple t) {
            String msg = t.getMessage();
            if (t.getThrowable() != null) msg = msg + " " + t.getThrowable();
            EVENTS.add(new Event(level, name, msg));
            if (level.equals("WARN") || level.equals("ERROR")) System.err.println(level + " [" + name + "] " + msg);
        }

        private void log(String level, String msg, Throwable th) {
            log(level, new FormattingTuple(msg, null, th));
        }

        public boolean isTraceEnabled() { return false; }
        public void trace(String msg) {}
        public void trace(String f, Object a) {}
        public void trace(String f, Object a, Object b) {}
        public void trace(String f, Object... a) {}
        public void trace(String msg, Throwable t) {}
        public boolean isDebugEnabled() { return true; }
        public void debug(String msg) { log("DEBUG", msg, null); }
        public void debug(String f, Object a) { log("DEBUG", MessageFormatter.format(f, a)); }
        public void debug(String f, Object a, Object b) { log("DEBUG", MessageFormatter.format(f, a, b)); }
        public void debug(String f, Object... a) { log("DEBUG", MessageFormatter.arrayFormat(f, a)); }
        public void debug(String msg, Throwable t) { log("DEBUG", msg, t); }
        public boolean isInfoEnabled() { return true; }
        public void info(String msg) { log("INFO", msg, null); }
        public void info(String f, Object a) { log("INFO", MessageFormatter.format(f, a)); }
        public void info(String f, Object a, Object b) { log("INFO", MessageFormatter.format(f, a, b)); }
        public void info(String f, Object... a) { log("INFO", MessageFormatter.arrayFormat(f, a)); }
        public void info(String msg, Throwable t) { log("INFO", msg, t); }
        public boolean isWarnEnabled() { return true; }
        public void warn(String msg) { log("WARN", msg, null); }
        public void warn(String f, Object a) { log("WARN", MessageFormatter.format(f, a)); }
        public void warn(String f, Object a, Object b) { log("WARN", MessageFormatter.format(f, a, b)); }
        public void warn(String f, Object... a) { log("WARN", MessageFormatter.arrayFormat(f, a)); }
        public void warn(String msg, Throwable t) { log("WARN", msg, t); }
        public boolean isErrorEnabled() { return true; }
        public void error(String msg) { log("ERROR", msg, null); }
        public void error(String f, Object a) { log("ERROR", MessageFormatter.format(f, a)); }
        public void error(String f, Object a, Object b) { log("ERROR", MessageFormatter.format(f, a, b)); }
        public void error(String f, Object... a) { log("ERROR", MessageFormatter.arrayFormat(f, a)); }
        public void error(String msg, Throwable t) { log("ERROR", msg, t); }
    }
}
