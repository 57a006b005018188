package dev.edgeagent.itests.fault;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.edgeagent.itests.fault.FaultSupport.HubRunner;
import dev.edgeagent.itests.fault.FaultSupport.Sender;
import dev.edgeagent.itests.support.AgentProcess;
import dev.edgeagent.itests.support.MllpIo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * A deep queue across a crash: with the hub down, {@code fault.queued} messages (100,000 in CI, more with
 * scripts/fault-queued.sh) are CA'd into the queue, the agent is killed with -9 and restarted, then
 * the hub comes back. All must arrive, and memory must stay bounded while the agent drains:
 * <ul>
 * <li>RSS under {@code fault.rssLimitMib} (300 MiB) throughout: bin/setenv caps heap (96 MiB), metaspace (96), code
 *     cache (32) and direct memory (64), so a restart that loaded the queue into memory would blow the heap, not this
 *     bound; the bound catches native growth (SQLite page cache, malloc arenas) proportional to the queue.</li>
 * <li>No growth with the number of messages delivered: the highest RSS of the second half of the drain may exceed
 *     the highest of the first half by at most {@code fault.rssGrowthMib} (24 MiB). By the end of the first half
 *     (50,000 messages) the JIT and the heap have reached their working size, so what still grows is per-message
 *     state: at 24 MiB over 50,000 messages, anything kept at about 500 bytes or more per delivered message fails
 *     this, long before it could fail the absolute bound.</li>
 * </ul>
 */
public class QueuedRestartIT {
    private static final String AGENT_ID = "fault-queued";
    private static final String CHANNEL = "queued-in";
    private static final int SENDERS = 4;

    private static int port;
    private static HubRunner hub;
    private static AgentProcess agent;

    @BeforeClass
    public static void startHubAndAgent() throws Exception {
        port = MllpIo.freePort();
        // The channel list comes from the server, so the hub is up for the first start only.
        hub = FaultSupport.startHub(FaultSupport.seed(AGENT_ID, Map.of(CHANNEL, port)), 4_000_000);
        agent = FaultSupport.startAgent("fault-queued-agent", hub, AGENT_ID, true, port);
    }

    @AfterClass
    public static void stopAgentAndHub() throws Exception {
        FaultSupport.stopAll(agent, hub);
    }

    @Test
    public void deepQueueSurvivesKill9AndDrainsInBoundedMemory() throws Exception {
        int total = FaultSupport.intProp("fault.queued", 100_000);
        long growthLimitKib = FaultSupport.intProp("fault.rssGrowthMib", 24) * 1024L;
        long rssLimitKib = FaultSupport.intProp("fault.rssLimitMib", 300) * 1024L;
        hub.stop();
        long t0 = System.currentTimeMillis();
        List<Sender> senders = new ArrayList<>();
        for (int i = 0; i < SENDERS; i++) {
            int share = total / SENDERS + (i < total % SENDERS ? 1 : 0);
            senders.add(new Sender(CHANNEL, port, "Q" + i, 30_000, share).start());
        }
        for (Sender s : senders) {
            s.join(600_000);
        }
        long fillMs = System.currentTimeMillis() - t0;
        List<String> acked = new ArrayList<>();
        long negative = 0;
        String lastNegative = null;
        for (Sender s : senders) {
            acked.addAll(s.acked);
            negative += s.negative.get();
            lastNegative = s.lastNegative != null ? s.lastNegative : lastNegative;
        }
        long rssFilled = agent.rssKib();
        System.out.println("FAULT queued: " + acked.size() + " of " + total + " CA'd with the hub down in " + fillMs
                + " ms; RSS " + rssFilled / 1024 + " MiB");
        assertEquals("every message should be CA'd (stored) while the hub is down; negatives: " + negative
                + ", last: " + lastNegative + "\nAgent log WARN/ERROR:\n" + agent.problems(40), total, acked.size());

        long logBefore = java.nio.file.Files.size(agent.log());
        long pid = agent.kill9();
        agent.start();
        // Recovery is visible in the log; the port reopening from the config snapshot is OfflineRestartIT's subject.
        awaitLog("Resuming delivery of", logBefore, 120_000);
        long rssRestarted = agent.rssKib();
        System.out.println("FAULT queued: killed pid " + pid + ", restarted with the hub down; RSS " + rssRestarted / 1024
                + " MiB; channel port open: " + MllpIo.accepts(port));

        hub.start();
        long drainStart = System.currentTimeMillis();
        long maxRss = rssRestarted;
        long maxFirstHalf = rssRestarted;
        long maxSecondHalf = 0;
        long firstArrival = -1;
        long deadline = drainStart + FaultSupport.intProp("fault.drainTimeoutSeconds", 300) * 1000L;
        long delivered;
        while ((delivered = hub.total()) < total && System.currentTimeMillis() < deadline) {
            if (delivered > 0 && firstArrival < 0) firstArrival = System.currentTimeMillis();
            long rss = agent.rssKib();
            maxRss = Math.max(maxRss, rss);
            if (delivered < total / 2) maxFirstHalf = Math.max(maxFirstHalf, rss);
            else maxSecondHalf = Math.max(maxSecondHalf, rss);
            Thread.sleep(250);
        }
        Set<String> lost = FaultSupport.awaitDelivered(hub, acked, Math.max(1000, deadline - System.currentTimeMillis()));
        long drainMs = System.currentTimeMillis() - drainStart;
        long sinceFirstMs = firstArrival < 0 ? drainMs : System.currentTimeMillis() - firstArrival;
        long rssDrained = agent.rssKib();
        maxSecondHalf = Math.max(maxSecondHalf, rssDrained);
        agent.awaitPorts(30_000, port);
        maxRss = Math.max(maxRss, agent.rssKib());
        List<FaultSupport.Arrival> all = hub.all();
        long dup = FaultSupport.duplicates(all);
        System.out.println("FAULT queued: queued=" + total + " acked=" + acked.size() + " lost=" + lost.size() + " dup="
                + dup + " fillMs=" + fillMs + " drainMs=" + drainMs + " (link up to first arrival "
                + (firstArrival < 0 ? "n/a" : (firstArrival - drainStart) + " ms") + ") drainRate="
                + (drainMs == 0 ? 0 : all.size() * 1000L / drainMs) + "/s (from the first arrival "
                + (sinceFirstMs == 0 ? 0 : all.size() * 1000L / sinceFirstMs) + "/s) rssFilledMiB=" + rssFilled / 1024
                + " rssRestartedMiB=" + rssRestarted / 1024 + " rssMaxDrainMiB=" + maxRss / 1024 + " rssMaxFirstHalfMiB="
                + maxFirstHalf / 1024 + " rssMaxSecondHalfMiB=" + maxSecondHalf / 1024 + " rssDrainedMiB=" + rssDrained / 1024);
        assertTrue(lost.size() + " of " + acked.size() + " queued messages never reached the hub after the restart: "
                + FaultSupport.sample(lost) + "\nAgent log WARN/ERROR:\n" + agent.problems(60), lost.isEmpty());
        assertTrue("agent RSS reached " + maxRss / 1024 + " MiB while draining " + total + " messages; bound "
                + rssLimitKib / 1024 + " MiB", maxRss < rssLimitKib);
        assertTrue("agent RSS kept growing while draining: highest " + maxFirstHalf / 1024 + " MiB in the first half, "
                + maxSecondHalf / 1024 + " MiB in the second half of " + total + " messages; allowed growth "
                + growthLimitKib / 1024 + " MiB", maxSecondHalf - maxFirstHalf <= growthLimitKib);
    }

    /** Waits for {@code text} in the log written after byte {@code from} (the whole log if it was rotated). */
    private static void awaitLog(String text, long from, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            byte[] all = java.nio.file.Files.exists(agent.log()) ? java.nio.file.Files.readAllBytes(agent.log()) : new byte[0];
            int start = all.length >= from ? (int) from : 0;
            if (new String(all, start, all.length - start, java.nio.charset.StandardCharsets.UTF_8).contains(text)) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("the restarted agent never logged '" + text + "' within " + timeoutMs
                        + " ms. Log tail:\n" + agent.logTail(60));
            }
            Thread.sleep(200);
        }
    }
}
