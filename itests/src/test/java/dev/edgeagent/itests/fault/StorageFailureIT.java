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
 * The queue cannot write (a "disk full" for the agent only): devices must get CE, never CA, and the agent must
 * accept again once writes work. CI runs as root, so permission bits stop nothing, and replacing the queue
 * directory does not either (SQLite keeps writing through its open descriptors). Instead the Karaf JVM's file
 * size limit (RLIMIT_FSIZE, set with prlimit) is lowered below the WAL's first frame: every write past it fails
 * with EFBIG (the JVM ignores SIGXFSZ), exactly as on a full disk; raising it again is the space coming back.
 */
public class StorageFailureIT {
    private static final String AGENT_ID = "fault-disk";
    private static final String CHANNEL = "disk-in";

    private static int port;
    private static HubRunner hub;
    private static AgentProcess agent;

    @BeforeClass
    public static void startHubAndAgent() throws Exception {
        port = MllpIo.freePort();
        hub = FaultSupport.startHub(FaultSupport.seed(AGENT_ID, Map.of(CHANNEL, port)), 100_000);
        agent = FaultSupport.startAgent("fault-disk-agent", hub, AGENT_ID, true, port);
    }

    @AfterClass
    public static void stopAgentAndHub() throws Exception {
        FaultSupport.stopAll(agent, hub);
    }

    private static void fileSizeLimit(String limit) throws Exception {
        long pid = agent.karaf(5_000).pid();
        AgentProcess.run(agent.home, 10, "prlimit", "--pid", Long.toString(pid), "--fsize=" + limit + ":unlimited");
    }

    private static Sender send(String prefix, int count) throws InterruptedException {
        Sender s = new Sender(CHANNEL, port, prefix, 15_000, count).start();
        s.join(60_000);
        return s;
    }

    @Test
    public void storageFailureAnswersCeAndRecovers() throws Exception {
        List<String> acked = new ArrayList<>();
        Sender before = send("D0", 3);
        assertEquals("CA before the fault; last negative: " + before.lastNegative, 3, before.acked.size());
        acked.addAll(before.acked);

        Sender during;
        fileSizeLimit("4096");
        try {
            during = send("D1", 5);
        } finally {
            fileSizeLimit("unlimited");
        }
        System.out.println("FAULT disk: during the write failure acked=" + during.acked.size() + " negative="
                + during.negative.get() + " unanswered=" + during.noAnswer.get() + "; last negative: " + during.lastNegative);
        assertEquals("no CA may be sent while the queue cannot write; CA'd: " + during.acked, 0, during.acked.size());
        assertEquals("every message must get CE while the queue cannot write (unanswered: " + during.noAnswer.get() + ")",
                5, during.negative.get());
        assertTrue("the negative answer must be a CE with a reason: " + during.lastNegative,
                during.lastNegative.contains("MSA|CE|D1-") && during.lastNegative.contains("ERR|"));

        // The store reopens with the next batch; allow a few attempts for the first one to hit the healed file.
        long deadline = System.currentTimeMillis() + 30_000;
        Sender after;
        int attempt = 0;
        do {
            after = send("D2-" + attempt++, 3);
        } while (after.acked.size() < 3 && System.currentTimeMillis() < deadline);
        assertEquals("the agent must CA again once the queue can write; last negative: " + after.lastNegative
                + "\nAgent log WARN/ERROR:\n" + agent.problems(40), 3, after.acked.size());
        acked.addAll(after.acked);

        Set<String> lost = FaultSupport.awaitDelivered(hub, acked, 60_000);
        long dup = FaultSupport.duplicates(hub.all());
        System.out.println("FAULT disk: acked=" + acked.size() + " lost=" + lost.size() + " dup=" + dup
                + " recoveryAttempts=" + attempt);
        assertTrue("CA'd messages lost around the storage failure: " + lost, lost.isEmpty());
    }
}
