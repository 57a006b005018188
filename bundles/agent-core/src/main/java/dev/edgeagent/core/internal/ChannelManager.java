package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.Channel;
import dev.edgeagent.api.channel.ChannelConfig;
import dev.edgeagent.api.channel.ChannelContext;
import dev.edgeagent.api.channel.ChannelException;
import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the configured channels: the apply phase of a reload (spec §3.4) and the hot swap of protocol bundles.
 * Every mutation happens under one lock; the routing hot path only reads {@link #running}.
 */
final class ChannelManager {
    private static final Logger LOG = LoggerFactory.getLogger(ChannelManager.class);

    /** One configured channel; a Channel instance exists only while it runs (or tries to). */
    private static final class Entry {
        final String name;
        ChannelConfig config;
        boolean endpointOff;
        ChannelState state = ChannelState.STOPPED;
        ChannelFactory factory;
        Channel channel;
        String lastError;

        Entry(String name, ChannelConfig config, boolean endpointOff) {
            this.name = name;
            this.config = config;
            this.endpointOff = endpointOff;
        }

        String type() {
            return factory != null ? factory.type() : Schemes.defaultType(config.address().raw());
        }

        String prefix() {
            return "[" + type() + ":" + name + "] ";
        }
    }

    private final Object lock = new Object();
    private final List<ChannelFactory> factories = new CopyOnWriteArrayList<>();
    private final Map<String, Channel> running = new ConcurrentHashMap<>();
    private final Function<String, ChannelContext> contexts;
    /** Configured channels in configuration order; guarded by {@link #lock}. */
    private List<Entry> entries = List.of();
    private volatile Map<String, ChannelConfig> configs = Map.of();
    private boolean agentActive;

    ChannelManager(Function<String, ChannelContext> contexts) {
        this.contexts = contexts;
    }

    List<ChannelFactory> factories() {
        return List.copyOf(factories);
    }

    /** The running instance for a channel name, or null. Lock-free: used for server answers. */
    Channel running(String name) {
        return name == null ? null : running.get(name);
    }

    Map<String, Channel> runningChannels() {
        return Map.copyOf(running);
    }

    /** The current configuration of a configured channel, or null. Lock-free: read for every dispatched message. */
    ChannelConfig config(String name) {
        return name == null ? null : configs.get(name);
    }

    private void publishConfigs() {
        Map<String, ChannelConfig> m = new HashMap<>();
        for (Entry e : entries) m.put(e.name, e.config);
        configs = Map.copyOf(m);
    }

    int configuredCount() {
        synchronized (lock) {
            return entries.size();
        }
    }

    /** Ports of the channels that hold (or are taking) their listener now: the port probe skips them. */
    Set<Integer> heldPorts() {
        synchronized (lock) {
            Set<Integer> out = new HashSet<>();
            for (Entry e : entries) {
                if (e.channel != null) out.add(e.config.port());
            }
            return out;
        }
    }

    /**
     * Applies a validated plan. A channel that cannot start is marked FAILED; the others are unaffected (the caller
     * decides whether to roll back).
     *
     * @return one {@code Channel '<name>' failed to start: <reason>} line per channel that did not start
     */
    List<String> apply(ConfigPlanner.Plan plan) {
        synchronized (lock) {
            Map<String, Entry> old = new HashMap<>();
            for (Entry e : entries) old.put(e.name, e);
            List<Entry> next = new ArrayList<>();
            for (ConfigPlanner.PlannedChannel pc : plan.channels()) {
                Entry e = old.remove(pc.name());
                if (e == null) {
                    e = new Entry(pc.name(), pc.config(), pc.endpointOff());
                }
                next.add(e);
            }
            // Removed channels go first so a port they held is free for a new channel (spec §3.5 apply order).
            for (Entry gone : old.values()) {
                stop(gone, ChannelState.STOPPED);
                LOG.info("{}Channel removed from configuration", gone.prefix());
            }
            agentActive = plan.active();
            if (!agentActive) {
                for (Entry e : next) {
                    stop(e, ChannelState.DISABLED);
                }
                assign(next, plan);
                LOG.warn("Agent status is currently 'off'. All channels are disconnected until status is set back to 'active'");
                entries = List.copyOf(next);
                publishConfigs();
                return List.of();
            }
            List<Entry> toStart = new ArrayList<>();
            Map<String, ConfigPlanner.PlannedChannel> byName = new HashMap<>();
            for (ConfigPlanner.PlannedChannel pc : plan.channels()) byName.put(pc.name(), pc);
            for (Entry e : next) {
                ConfigPlanner.PlannedChannel pc = byName.get(e.name);
                ChannelFactory factory = pc.endpointOff() ? null : Schemes.factoryFor(pc.address(), factories);
                if (pc.endpointOff()) {
                    stop(e, ChannelState.DISABLED);
                    e.config = pc.config();
                    e.endpointOff = true;
                    LOG.warn("{}Channel currently has status of 'off'. Channel will not reconnect until status is set to 'active'", e.prefix());
                    continue;
                }
                if (e.channel != null && e.factory == factory
                        && e.config.address().scheme().equals(pc.config().address().scheme())) {
                    if (!e.config.equals(pc.config())) {
                        boolean applied;
                        try {
                            applied = e.channel.reconfigure(pc.config());
                        } catch (RuntimeException ex) {
                            LOG.warn("{}Reconfiguration failed, restarting the channel: {}", e.prefix(), ex.toString());
                            applied = false;
                        }
                        if (applied) {
                            e.config = pc.config();
                            LOG.info("{}Channel reconfigured in place", e.prefix());
                            continue;
                        }
                        LOG.info("{}Configuration change needs a restart", e.prefix());
                    } else {
                        continue; // unchanged: keep the instance and its connections
                    }
                }
                stop(e, ChannelState.STOPPED);
                e.config = pc.config();
                e.endpointOff = false;
                e.factory = factory;
                if (factory == null) {
                    e.state = ChannelState.NO_PROTOCOL;
                    e.lastError = null;
                    LOG.warn("{}No deployed protocol bundle serves '{}'; the channel starts when one is installed",
                            e.prefix(), pc.address());
                } else {
                    toStart.add(e);
                }
            }
            entries = List.copyOf(next);
            publishConfigs();
            List<String> failures = new ArrayList<>();
            for (Entry e : toStart) {
                String error = start(e);
                if (error != null) failures.add("Channel '" + e.name + "' failed to start: " + error);
            }
            return failures;
        }
    }

    private static void assign(List<Entry> next, ConfigPlanner.Plan plan) {
        Map<String, ConfigPlanner.PlannedChannel> byName = new HashMap<>();
        for (ConfigPlanner.PlannedChannel pc : plan.channels()) byName.put(pc.name(), pc);
        for (Entry e : next) {
            ConfigPlanner.PlannedChannel pc = byName.get(e.name);
            e.config = pc.config();
            e.endpointOff = pc.endpointOff();
        }
    }

    /** A protocol bundle appeared: start the configured channels waiting for it, from the current config. */
    void factoryAdded(ChannelFactory factory) {
        synchronized (lock) {
            factories.add(factory);
            if (!agentActive) return;
            for (Entry e : entries) {
                if (e.state == ChannelState.NO_PROTOCOL
                        && Schemes.factoryFor(e.config.address().raw(), factories) == factory) {
                    e.factory = factory;
                    start(e);
                }
            }
        }
    }

    /** A protocol bundle is going away: stop exactly the channels it created, before it is gone. */
    void factoryRemoved(ChannelFactory factory) {
        synchronized (lock) {
            factories.remove(factory);
            for (Entry e : entries) {
                if (e.factory != factory) continue;
                stop(e, ChannelState.NO_PROTOCOL);
                e.factory = null;
                LOG.warn("{}Protocol bundle removed; channel stopped until a bundle serving '{}' is installed",
                        e.prefix(), e.config.address().raw());
                // Another deployed bundle may serve the same scheme.
                ChannelFactory other = agentActive ? Schemes.factoryFor(e.config.address().raw(), factories) : null;
                if (other != null) {
                    e.factory = other;
                    start(e);
                }
            }
        }
    }

    /** Stops every channel (deactivation); late factory events start nothing afterwards. */
    void stopAll() {
        synchronized (lock) {
            agentActive = false;
            for (Entry e : entries) {
                stop(e, ChannelState.STOPPED);
            }
        }
    }

    List<ChannelStats> stats() {
        List<Entry> snapshot;
        synchronized (lock) {
            snapshot = entries;
        }
        List<ChannelStats> out = new ArrayList<>(snapshot.size());
        for (Entry e : snapshot) {
            out.add(statsOf(e));
        }
        return out;
    }

    private ChannelStats statsOf(Entry e) {
        Channel ch;
        ChannelState state;
        String lastError;
        String type;
        String address;
        synchronized (lock) {
            ch = e.channel;
            state = e.state;
            lastError = e.lastError;
            type = e.type();
            address = e.config.address().raw();
        }
        if (ch != null) {
            try {
                ChannelStats s = ch.stats();
                if (s != null) return s;
            } catch (RuntimeException ex) {
                lastError = "stats unavailable: " + ex;
            }
        }
        return new ChannelStats(e.name, type, address, state, 0, 0, 0, 0, Map.of(), lastError);
    }

    /** @return null when the channel started, else the reason */
    private String start(Entry e) {
        e.state = ChannelState.STARTING;
        e.lastError = null;
        Channel ch = null;
        try {
            ch = e.factory.create(e.config, contexts.apply(e.name));
            e.channel = ch;
            ch.start();
            e.state = ChannelState.LISTENING;
            running.put(e.name, ch);
            LOG.info("{}Channel started on port {}", e.prefix(), e.config.port());
            return null;
        } catch (ChannelException | RuntimeException ex) {
            String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            e.state = ChannelState.FAILED;
            e.lastError = msg;
            e.channel = null;
            running.remove(e.name);
            if (ch != null) {
                safeStop(e, ch);
            }
            LOG.error("{}Channel failed to start: {}", e.prefix(), msg);
            return msg;
        }
    }

    private void stop(Entry e, ChannelState after) {
        Channel ch = e.channel;
        e.channel = null;
        running.remove(e.name, ch);
        if (ch != null) {
            safeStop(e, ch);
        }
        e.state = after;
        if (after != ChannelState.FAILED) e.lastError = null;
    }

    private static void safeStop(Entry e, Channel ch) {
        try {
            ch.stop();
        } catch (RuntimeException ex) {
            LOG.warn("{}Error while stopping channel: {}", e.prefix(), ex.toString());
        }
    }
}
