package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgeagent.hub.ReceivedMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Lock-free ring of the last N accepted transmit requests. Writers claim a slot with one atomic
 * increment; readers skip slots that were overwritten meanwhile. A character budget over all stored
 * bodies bounds memory: once exceeded, new bodies are cut to {@link #TRUNCATED_CHARS}.
 */
public final class MessageRing {
    static final int TRUNCATED_CHARS = 1024;

    private record Entry(long seq, long receivedAt, String agentId, ObjectNode frame, long chars,
            boolean truncated) {
    }

    private final int capacity;
    private final long budgetChars;
    private final AtomicReferenceArray<Entry> slots;
    private final AtomicLong next = new AtomicLong();
    private final AtomicLong storedChars = new AtomicLong();
    private volatile long clearedBefore;

    public MessageRing(int capacity, long budgetChars) {
        this.capacity = capacity;
        this.budgetChars = budgetChars;
        this.slots = new AtomicReferenceArray<>(capacity);
    }

    /** Stores the frame (which the caller hands over and must not touch afterwards). */
    public void add(String agentId, ObjectNode frame) {
        if (frame.has("accessToken")) {
            frame.put("accessToken", "***");
        }
        String body = Json.text(frame, "body");
        long chars = body == null ? 0 : body.length();
        boolean truncated = false;
        if (chars > TRUNCATED_CHARS && storedChars.get() + chars > budgetChars) {
            frame.put("body", body.substring(0, TRUNCATED_CHARS));
            frame.put("bodyTruncated", true);
            frame.put("bodyLength", chars);
            chars = TRUNCATED_CHARS;
            truncated = true;
        }
        storedChars.addAndGet(chars);
        long seq = next.getAndIncrement();
        Entry old = slots.getAndSet((int) (seq % capacity),
                new Entry(seq, System.currentTimeMillis(), agentId, frame, chars, truncated));
        if (old != null) {
            storedChars.addAndGet(-old.chars());
        }
    }

    public long totalAccepted() {
        return next.get();
    }

    public void clear() {
        clearedBefore = next.get();
    }

    private List<Entry> snapshot(int limit) {
        long end = next.get();
        long start = Math.max(Math.max(0, end - Math.min(limit, capacity)), clearedBefore);
        List<Entry> out = new ArrayList<>((int) Math.max(0, end - start));
        for (long s = start; s < end; s++) {
            Entry e = slots.get((int) (s % capacity));
            if (e != null && e.seq() == s) {
                out.add(e);
            }
        }
        return out;
    }

    public List<ReceivedMessage> messages(int limit) {
        List<ReceivedMessage> out = new ArrayList<>();
        for (Entry e : snapshot(limit)) {
            ObjectNode f = e.frame();
            out.add(new ReceivedMessage(Instant.ofEpochMilli(e.receivedAt()), e.agentId(),
                    Json.text(f, "channel"), Json.text(f, "remote"), Json.text(f, "contentType"),
                    Json.text(f, "body"), Json.text(f, "callback"), e.truncated(), Json.write(f)));
        }
        return out;
    }

    /** JSON for /hub/messages: each frame's fields plus receivedAt and agentId, oldest first. */
    public ArrayNode toJson(int limit) {
        ArrayNode arr = Json.array();
        for (Entry e : snapshot(limit)) {
            ObjectNode o = arr.addObject();
            o.setAll(e.frame());
            o.put("receivedAt", Instant.ofEpochMilli(e.receivedAt()).toString());
            o.put("agentId", e.agentId());
        }
        return arr;
    }
}
