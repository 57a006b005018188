package dev.edgeagent.core.internal;

import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.ContentTypes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code x-application/ping} pushes (spec §7.2): validates like Medplum, then runs the OS ping command. */
final class Pinger {
    private static final Logger LOG = LoggerFactory.getLogger(Pinger.class);
    static final long TIMEOUT_MS = 3600;
    private static final int MAX_OUTPUT = 64 * 1024;

    private static final Pattern IPV4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    // RFC 1123 host name; also what keeps an option such as "-f" from reaching the command line.
    private static final Pattern HOSTNAME = Pattern.compile(
            "(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");
    private static final Pattern NUMBER = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)");
    private static final boolean WINDOWS = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

    /** Runs the ping (blocking, at most {@value #TIMEOUT_MS} ms) and returns the transmit response to send. */
    AgentMessage ping(AgentMessage request) {
        String host = request.remote() == null ? "" : request.remote().trim();
        String result;
        try {
            result = run(host, countOf(host, request.body()));
        } catch (PingException e) {
            LOG.warn("Ping to '{}' failed: {}", host, e.getMessage());
            return AgentMessage.transmitResponse(request.channel(), request.remote(), ContentTypes.TEXT, 400,
                    e.getMessage(), request.callback());
        }
        return AgentMessage.transmitResponse(request.channel(), request.remote(), ContentTypes.PING, 200, result,
                request.callback());
    }

    static final class PingException extends Exception {
        private static final long serialVersionUID = 1L;

        PingException(String message) {
            super(message);
        }
    }

    static String countOf(String host, String body) throws PingException {
        if (isIpv6(host)) {
            throw new PingException("Attempted to ping an IPv6 address: " + host + "\n\nIPv6 is currently unsupported.");
        }
        if (!IPV4.matcher(host).matches() && !HOSTNAME.matcher(host).matches()) {
            throw new PingException("Attempted to ping an invalid host.\n\n\"" + host
                    + "\" is not a valid IPv4 address or a resolvable hostname.");
        }
        String b = body == null ? "" : body.trim();
        if (!b.isEmpty() && !b.startsWith("PING")) {
            LOG.warn("Message body present but unused. Body for a ping request should be empty or a message formatted as `PING[ count]`.");
        }
        String[] parts = b.startsWith("PING") ? b.split("\\s+") : new String[0];
        if (parts.length < 2) return "1";
        String count = parts[1];
        if (!NUMBER.matcher(count).matches()) {
            throw new PingException("Unable to ping " + host + " \"" + count + "\" times. \"" + count + "\" is not a number.");
        }
        return count;
    }

    private static boolean isIpv6(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.indexOf(':') < 0) return false;
        return h.matches("[0-9A-Fa-f:.]+(%[\\w.-]+)?") && h.chars().filter(c -> c == ':').count() >= 2;
    }

    private static String run(String host, String count) throws PingException {
        List<String> cmd = WINDOWS ? List.of("ping", "/n", count, host) : List.of("ping", "-c", count, host);
        String cmdText = String.join(" ", cmd);
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            throw new PingException("Unable to run '" + cmdText + "': " + e.getMessage());
        }
        try {
            p.getOutputStream().close();
            if (!p.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new PingException("Command failed: " + cmdText + " (timed out after " + TIMEOUT_MS + " ms)");
            }
            String out = read(p.getInputStream());
            String err = read(p.getErrorStream());
            if (!err.isBlank()) {
                throw new PingException(err.trim());
            }
            if (p.exitValue() != 0) {
                throw new PingException("Command failed: " + cmdText + " (exit code " + p.exitValue() + ")\n" + out.trim());
            }
            return out.trim();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new PingException("Command failed: " + cmdText + " (interrupted)");
        } catch (IOException e) {
            throw new PingException("Command failed: " + cmdText + ": " + e.getMessage());
        } finally {
            if (p.isAlive()) p.destroyForcibly();
        }
    }

    private static String read(InputStream in) throws IOException {
        // The process has exited, so this only drains what is buffered; capped so a chatty command cannot bloat memory.
        byte[] bytes = in.readNBytes(MAX_OUTPUT);
        in.close();
        return new String(bytes, Charset.defaultCharset());
    }
}
