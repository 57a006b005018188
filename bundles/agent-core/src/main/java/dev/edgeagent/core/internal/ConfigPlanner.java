package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ConfigIssue;
import dev.edgeagent.api.channel.EndpointAddress;
import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.CloudException;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The plan phase of a reload (spec §3.5): reads the Agent and its Endpoints and checks the whole configuration
 * without touching anything that runs. Either every problem is reported at once, or a {@link Plan} comes out
 * that the apply phase can execute.
 */
final class ConfigPlanner {
    static final String STRICT = "strictConfigValidation";
    static final String LOG_STATS_FREQ = "logStatsFreqSecs";

    /** One configured channel, ready to apply. {@code config} is non-null (validated). */
    record PlannedChannel(String name, ChannelConfig config, boolean endpointOff) {
        String address() {
            return config.address().raw();
        }
    }

    record Plan(String agentStatus, AgentSettings settings, List<PlannedChannel> channels, List<String> warnings) {
        boolean active() {
            return "active".equals(agentStatus);
        }
    }

    /** The configuration has problems; nothing was applied. The message is the full operator text. */
    static final class ConfigRejectedException extends Exception {
        private static final long serialVersionUID = 1L;
        private final List<String> problems;

        ConfigRejectedException(List<String> problems) {
            this(problems.size() + " problem(s) found in agent config; no changes applied", problems);
        }

        ConfigRejectedException(String summary, List<String> problems) {
            super(summary + "\n" + String.join("\n", problems));
            this.problems = List.copyOf(problems);
        }

        List<String> problems() {
            return problems;
        }
    }

    /** Tries to take a port; answers null when it is free, else why not (e.g. {@code EADDRINUSE}). */
    @FunctionalInterface
    interface PortProbe {
        String tryBind(int port);

        /** Binds on all interfaces and releases at once, as the channel would bind (spec §3.5 "Port probe"). */
        PortProbe SYSTEM = port -> {
            try (ServerSocket s = new ServerSocket()) {
                // Like the channels' listeners: a port whose old connections linger in TIME_WAIT is not taken.
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(port), 1);
                return null;
            } catch (BindException e) {
                String m = String.valueOf(e.getMessage());
                if (m.contains("in use")) return "EADDRINUSE";
                if (m.contains("ermission denied")) return "EACCES";
                return m;
            } catch (IOException | RuntimeException e) {
                return e.getMessage() != null ? e.getMessage() : e.toString();
            }
        };
    }

    /**
     * The port probe of an apply: every port a channel of {@code plan} would start on and that no running channel
     * holds already must be free, else nothing is applied.
     *
     * @param held ports of channels running now (they move or stay within this agent)
     * @throws ConfigRejectedException {@code "<n> port(s) unavailable; no changes applied"}, one line per channel
     */
    static void probePorts(Plan plan, Set<Integer> held, PortProbe probe) throws ConfigRejectedException {
        if (!plan.active()) return;
        List<String> problems = new ArrayList<>();
        Set<Integer> probed = new HashSet<>();
        for (PlannedChannel pc : plan.channels()) {
            int port = pc.config().port();
            if (pc.endpointOff() || held.contains(port) || !probed.add(port)) continue;
            String why = probe.tryBind(port);
            if (why != null) {
                problems.add("Channel '" + pc.name() + "' cannot start: Unable to bind port " + port + ": " + why);
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigRejectedException(problems.size() + " port(s) unavailable; no changes applied", problems);
        }
    }

    /**
     * @throws CloudException            when the Agent itself cannot be read (a server problem, not a config one)
     * @throws ConfigRejectedException   listing every error (and every warning under strictConfigValidation)
     */
    Plan plan(CloudClient cloud, String agentId, Collection<ChannelFactory> factories)
            throws CloudException, ConfigRejectedException {
        Map<String, Object> agent = cloud.read("Agent", agentId);
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();

        Object status = agent.get("status");
        AgentSettings settings = AgentSettings.fromFhir(agent.get("setting") instanceof List<?> l ? l : null);
        checkNonNegativeInt(settings, LOG_STATS_FREQ, warnings);
        List<String> agentWarnings = new ArrayList<>();
        DeliveryConfig.check(settings, null, agentWarnings::add, w -> { });
        warnings.addAll(agentWarnings);
        boolean strict = settings.getBoolean(STRICT, false);

        List<PlannedChannel> planned = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Map<Integer, PlannedChannel> ports = new HashMap<>();
        Object channelField = agent.get("channel");
        List<?> channels = channelField instanceof List<?> l ? l : List.of();
        for (int i = 0; i < channels.size(); i++) {
            if (!(channels.get(i) instanceof Map<?, ?> ch)) {
                errors.add("Agent.channel[" + i + "] is not an object");
                continue;
            }
            Object nameValue = ch.get("name");
            if (!(nameValue instanceof String name) || name.isBlank()) {
                errors.add("Agent.channel[" + i + "] has no name");
                continue;
            }
            if (!names.add(name)) {
                errors.add("Duplicate channel name '" + name + "' (duplicate-channel-name): channel names must be unique");
                continue;
            }
            String ref = reference(ch.get("endpoint"));
            if (ref == null) {
                errors.add("Unable to read endpoint '<none>' for channel '" + name + "': the channel has no endpoint reference");
                continue;
            }
            Map<String, Object> endpoint;
            try {
                endpoint = readEndpoint(cloud, ref);
            } catch (CloudException | IllegalArgumentException e) {
                errors.add("Unable to read endpoint '" + ref + "' for channel '" + name + "': " + e.getMessage());
                continue;
            }
            Object addressValue = endpoint.get("address");
            String address = addressValue == null ? "" : addressValue.toString().trim();
            if (address.isEmpty()) {
                errors.add("Invalid empty endpoint address for channel '" + name + "'");
                continue;
            }
            if (!Schemes.isKnown(address, factories)) {
                errors.add("Unsupported endpoint type: " + address);
                continue;
            }
            EndpointAddress parsed;
            try {
                parsed = EndpointAddress.parse(address);
                parsed.requirePort();
            } catch (IllegalArgumentException e) {
                errors.add("Error while validating endpoint address for channel '" + name + "': " + e.getMessage());
                continue;
            }
            boolean off = "off".equals(endpoint.get("status"));
            PlannedChannel pc = new PlannedChannel(name, new ChannelConfig(name, parsed, settings, agentId), off);
            // Spec Q16: endpoints that are off still reserve their port.
            PlannedChannel other = ports.putIfAbsent(parsed.port(), pc);
            if (other != null) {
                errors.add("Invalid agent config. Both '" + other.name() + "' (" + other.address() + ") and '" + name
                        + "' (" + address + ") declare use of port " + parsed.port());
                continue;
            }
            // Durable-queue parameters (retryMode, maxWorkers, duplicateBehavior, ...) are the core's, for every type.
            List<String> queueWarnings = new ArrayList<>();
            DeliveryConfig.check(settings, pc.config(), w -> { }, queueWarnings::add);
            for (String w : queueWarnings) warnings.add("Channel '" + name + "': " + w);
            ChannelFactory factory = Schemes.factoryFor(address, factories);
            if (factory != null && !off) {
                List<ConfigIssue> issues;
                try {
                    issues = factory.validate(pc.config());
                } catch (RuntimeException e) {
                    issues = List.of(ConfigIssue.error("validation failed: " + e));
                }
                for (ConfigIssue issue : issues == null ? List.<ConfigIssue>of() : issues) {
                    String text = "Channel '" + name + "': " + issue.message();
                    (issue.severity() == ConfigIssue.Severity.ERROR ? errors : warnings).add(text);
                }
            }
            planned.add(pc);
        }
        if (strict) {
            errors.addAll(warnings);
            warnings = List.of();
        }
        if (!errors.isEmpty()) {
            throw new ConfigRejectedException(errors);
        }
        return new Plan(status instanceof String s ? s : null, settings, List.copyOf(planned), List.copyOf(warnings));
    }

    private static void checkNonNegativeInt(AgentSettings settings, String name, List<String> warnings) {
        if (settings.has(name) && settings.getNonNegativeInt(name, -1) < 0) {
            warnings.add("Invalid " + name + " setting '" + settings.get(name) + "'; expected a non-negative integer. Ignoring.");
        }
    }

    private static String reference(Object endpointField) {
        if (endpointField instanceof Map<?, ?> m && m.get("reference") instanceof String r && !r.isBlank()) {
            return r.trim();
        }
        return null;
    }

    private static Map<String, Object> readEndpoint(CloudClient cloud, String ref) throws CloudException {
        int slash = ref.indexOf('/');
        if (slash <= 0 || slash == ref.length() - 1 || !ref.substring(0, slash).equals("Endpoint")) {
            throw new IllegalArgumentException("not an Endpoint reference");
        }
        return cloud.read("Endpoint", ref.substring(slash + 1));
    }
}
