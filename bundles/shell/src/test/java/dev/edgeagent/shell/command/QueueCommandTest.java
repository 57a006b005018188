package dev.edgeagent.shell.command;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgeagent.api.queue.MessageState;
import dev.edgeagent.api.queue.QueueStats;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class QueueCommandTest {
    private static Map<MessageState, Long> counts(long q, long i, long p, long f) {
        Map<MessageState, Long> m = new EnumMap<>(MessageState.class);
        m.put(MessageState.QUEUED, q);
        m.put(MessageState.INFLIGHT, i);
        m.put(MessageState.PROCESSED, p);
        m.put(MessageState.FAILED, f);
        return m;
    }

    @Test
    void rendersDepthPerChannelAndState() {
        long now = 10_000_000L;
        Map<String, QueueStats.ChannelDepth> ch = new TreeMap<>();
        ch.put("adt-in", new QueueStats.ChannelDepth(counts(3, 1, 120, 2), now - 95_000));
        ch.put("orm", new QueueStats.ChannelDepth(counts(0, 0, 7, 0), -1));
        QueueStats st = new QueueStats(40960, counts(3, 1, 127, 2), ch, now - 30_000, 12);
        assertEquals(String.join("\n",
                "Channel                     Queued  Inflight  Processed    Failed  Oldest pending",
                "adt-in                           3         1        120         2  1 min 35 s",
                "orm                              0         0          7         0  -",
                "(total)                          3         1        127         2  ",
                "Database size: 40 KiB; last retention sweep 30 s ago deleted 12 message(s)", ""),
                QueueCommand.render(st, now));
    }
}
