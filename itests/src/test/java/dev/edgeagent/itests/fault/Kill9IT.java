package dev.edgeagent.itests.fault;

import static org.junit.Assert.assertTrue;

import dev.edgeagent.itests.fault.FaultSupport.HubRunner;
import dev.edgeagent.itests.fault.FaultSupport.Sender;
import dev.edgeagent.itests.support.AgentProcess;
import dev.edgeagent.itests.support.MllpIo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * kill -9 of the agent at random moments under enhanced-mode load: every message that got a CA must reach the
 * hub (at least once, same MSH-10), however often the process dies. {@code -Dfault.rounds=N} for longer runs
 * (scripts/fault-kill9.sh).
 */
public class Kill9IT {
    private static final String AGENT_ID = "fault-kill9";
    private static final String CHANNEL = "kill9-in";
    private static final int SENDERS = 4;

    private static int port;
    private static HubRunner hub;
    private static AgentProcess agent;

    @BeforeClass
    public static void startHubAndAgent() throws Exception {
        port = MllpIo.freePort();
        hub = FaultSupport.startHub(FaultSupport.seed(AGENT_ID, Map.of(CHANNEL, port)), 4_000_000);
        agent = FaultSupport.startAgent("fault-kill9-agent", hub, AGENT_ID, true, port);
    }

    @AfterClass
    public static void stopAgentAndHub() throws Exception {
        FaultSupport.stopAll(agent, hub);
    }

    @Test
    public void noCommitAckedMessageIsLostAcrossKill9() throws Exception {
        int rounds = FaultSupport.intProp("fault.rounds", 10);
        List<Sender> senders = new ArrayList<>();
        for (int i = 0; i < SENDERS; i++) {
            senders.add(new Sender(CHANNEL, port, "K" + i, 10_000, Long.MAX_VALUE).start());
        }
        long started = System.currentTimeMillis();
        long restartMsTotal = 0;
        try {
            for (int r = 1; r <= rounds; r++) {
                Thread.sleep(ThreadLocalRandom.current().nextLong(500, 3001));
                long ackedBefore = acked(senders);
                long pid = agent.kill9();
                long t0 = System.currentTimeMillis();
                agent.start();
                agent.awaitPorts(120_000, port);
                long restartMs = System.currentTimeMillis() - t0;
                restartMsTotal += restartMs;
                System.out.println("FAULT kill9 round " + r + ": killed pid " + pid + " with " + ackedBefore
                        + " acked so far; channel port back after " + restartMs + " ms");
            }
            // Let the senders see the last restarted agent too.
            Thread.sleep(1000);
        } finally {
            senders.forEach(Sender::stop);
            for (Sender s : senders) {
                s.join(30_000);
            }
        }
        long sendMs = System.currentTimeMillis() - started;

        List<String> acked = new ArrayList<>();
        long sent = 0;
        long negative = 0;
        long noAnswer = 0;
        String lastNegative = null;
        for (Sender s : senders) {
            acked.addAll(s.acked);
            sent += s.sent.get();
            negative += s.negative.get();
            noAnswer += s.noAnswer.get();
            lastNegative = s.lastNegative != null ? s.lastNegative : lastNegative;
        }
        long drainStart = System.currentTimeMillis();
        Set<String> lost = FaultSupport.awaitDelivered(hub, acked, 180_000);
        long drainMs = System.currentTimeMillis() - drainStart;
        List<FaultSupport.Arrival> all = hub.all();
        long dup = FaultSupport.duplicates(all);
        System.out.println("FAULT kill9: rounds=" + rounds + " sent=" + sent + " acked=" + acked.size() + " lost="
                + lost.size() + " dup=" + dup + " negative=" + negative + " unanswered=" + noAnswer + " hubArrivals="
                + all.size() + " sendPhaseMs=" + sendMs + " avgRestartMs=" + restartMsTotal / Math.max(1, rounds)
                + " drainAfterLoadMs=" + drainMs);
        if (lastNegative != null) {
            System.out.println("FAULT kill9: last negative ACK: " + lastNegative);
        }
        assertTrue("the senders got no CA at all; the test proved nothing. Log problems:\n" + agent.problems(40),
                acked.size() > rounds);
        assertTrue(lost.size() + " of " + acked.size() + " CA'd messages never reached the hub after " + rounds
                + " kill -9 rounds: " + FaultSupport.sample(lost) + "\nAgent log WARN/ERROR:\n" + agent.problems(60),
                lost.isEmpty());
    }

    private static long acked(List<Sender> senders) {
        // Sizes only, read racily: for the progress line, not for the assertion.
        long n = 0;
        for (Sender s : senders) {
            n += s.acked.size();
        }
        return n;
    }
}
