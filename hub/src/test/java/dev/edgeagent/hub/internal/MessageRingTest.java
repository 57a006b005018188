package dev.edgeagent.hub.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.hub.ReceivedMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageRingTest {
    private static com.fasterxml.jackson.databind.node.ObjectNode frame(String body) {
        return Json.object().put("type", "agent:transmit:request").put("accessToken", "secret")
                .put("channel", "c").put("body", body);
    }

    @Test
    void keepsOnlyTheNewestEntriesInOrder() {
        MessageRing ring = new MessageRing(3, 1_000_000);
        for (int i = 0; i < 5; i++) {
            ring.add("a", frame("m" + i));
        }
        List<ReceivedMessage> all = ring.messages(100);
        assertEquals(List.of("m2", "m3", "m4"), all.stream().map(ReceivedMessage::body).toList());
        assertEquals(List.of("m3", "m4"), ring.messages(2).stream().map(ReceivedMessage::body).toList());
        assertEquals(5, ring.totalAccepted());
        assertFalse(all.get(0).frameJson().contains("secret"));
        ring.clear();
        assertTrue(ring.messages(100).isEmpty());
        ring.add("a", frame("m5"));
        assertEquals(1, ring.toJson(100).size());
    }

    @Test
    void truncatesBodiesOnceTheBudgetIsSpent() {
        MessageRing ring = new MessageRing(10, 5000);
        String big = "x".repeat(4000);
        ring.add("a", frame(big));
        ring.add("a", frame(big));
        List<ReceivedMessage> all = ring.messages(10);
        assertFalse(all.get(0).bodyTruncated());
        assertEquals(4000, all.get(0).body().length());
        assertTrue(all.get(1).bodyTruncated());
        assertEquals(MessageRing.TRUNCATED_CHARS, all.get(1).body().length());
        assertTrue(all.get(1).frameJson().contains("\"bodyLength\":4000"));
    }
}
