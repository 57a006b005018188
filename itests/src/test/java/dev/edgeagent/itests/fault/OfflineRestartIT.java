package dev.edgeagent.itests.fault;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.edgeagent.itests.fault.FaultSupport.HubRunner;
import dev.edgeagent.itests.fault.FaultSupport.Sender;
import dev.edgeagent.itests.support.AgentProcess;
import dev.edgeagent.itests.support.MllpIo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * A restart while the server is down (spec §1.5 boot fallback, done earlier than Medplum): the agent has run once
 * with the hub, so it holds a last-good config snapshot; it is stopped, the hub is stopped, and the agent starts
 * again. Its enhanced channel must open from the snapshot without the server, CA what devices send, and deliver
 * all of it, in order, once the hub is back.
 */
public class OfflineRestartIT {
    private static final String AGENT_ID = "fault-offline";
    private static final String CHANNEL = "offline-in";

    private static int port;
    private static HubRunner hub;
    private static AgentProcess agent;

    @BeforeClass
    public static void startHubAndAgent() throws Exception {
        port = MllpIo.freePort();
        hub = FaultSupport.startHub(FaultSupport.seed(AGENT_ID, Map.of(CHANNEL, port)), 1_000_000);
        agent = FaultSupport.startAgent("fault-offline-agent", hub, AGENT_ID, true, port);
    }

    @AfterClass
    public static void stopAgentAndHub() throws Exception {
        FaultSupport.stopAll(agent, hub);
    }

    @Test
    public void restartWithTheServerDownOpensChannelsFromTheSnapshotAndDeliversLater() throws Exception {
        int total = FaultSupport.intProp("fault.offlineMessages", 300);
        int openLimitSeconds = FaultSupport.intProp("fault.offlineOpenSeconds", 30);
        Path snapshot = agent.home.resolve("data/edge-agent/applied-config.json");
        awaitTrue("the config snapshot " + snapshot, () -> Files.isRegularFile(snapshot), 30_000);
        String snapshotText = Files.readString(snapshot, StandardCharsets.UTF_8);
        assertTrue(snapshotText, snapshotText.contains("\"id\":\"" + AGENT_ID + "\"") && snapshotText.contains(":" + port + "?enhanced=true"));

        agent.stop();
        hub.stop();
        long logBefore = Files.exists(agent.log()) ? Files.size(agent.log()) : 0;
        long t0 = System.currentTimeMillis();
        agent.start();
        long started = System.currentTimeMillis();
        agent.awaitPorts(openLimitSeconds * 1000L, port);
        long opened = System.currentTimeMillis();
        System.out.println("FAULT offline: bin/start took " + (started - t0) + " ms; channel port open " + (opened - started)
                + " ms after it, with the hub down");
        awaitLog("running the configuration from snapshot written at", logBefore, 10_000);

        Sender s = new Sender(CHANNEL, port, "O", 15_000, total).start();
        s.join(300_000);
        assertEquals("every message should be CA'd (stored) while the hub is down; negatives: " + s.negative.get()
                + ", last: " + s.lastNegative + "\nAgent log WARN/ERROR:\n" + agent.problems(40), total, s.acked.size());
        assertEquals("nothing can have reached a stopped hub", 0, hub.total());

        hub.start();
        Set<String> lost = FaultSupport.awaitDelivered(hub, s.acked, 180_000);
        List<FaultSupport.Arrival> all = hub.all();
        long dup = FaultSupport.duplicates(all);
        System.out.println("FAULT offline: sent=" + s.sent.get() + " acked=" + s.acked.size() + " lost=" + lost.size()
                + " dup=" + dup);
        assertTrue(lost.size() + " of " + s.acked.size() + " CA'd messages never reached the hub: " + FaultSupport.sample(lost)
                + "\nAgent log WARN/ERROR:\n" + agent.problems(60), lost.isEmpty());
        List<String> arrived = FaultSupport.firstArrivals(all).getOrDefault(CHANNEL, List.of());
        assertEquals("order of first arrival at the hub differs from CA order", s.acked, arrived);
        // Once live, the server's Agent replaces the snapshot's config as a normal reload.
        awaitLog("it replaces the configuration from snapshot written at", logBefore, 60_000);
        assertTrue("the channel must stay open across the switch to the server's config", MllpIo.accepts(port));
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void awaitTrue(String what, Check check, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!check.ok()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; log tail:\n" + agent.logTail(40));
            }
            Thread.sleep(100);
        }
    }

    /** Waits for {@code text} in the log written after byte {@code from} (the whole log if it was rotated). */
    private static void awaitLog(String text, long from, long timeoutMs) throws Exception {
        awaitTrue("'" + text + "' in the agent log", () -> {
            byte[] all = Files.exists(agent.log()) ? Files.readAllBytes(agent.log()) : new byte[0];
            int start = all.length >= from ? (int) from : 0;
            return new String(all, start, all.length - start, StandardCharsets.UTF_8).contains(text);
        }, timeoutMs);
    }
}
