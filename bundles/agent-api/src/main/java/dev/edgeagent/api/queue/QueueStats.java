package dev.edgeagent.api.queue;

import java.util.Map;

/**
 * A snapshot of the store for stats and the shell.
 *
 * @param dbSizeBytes      size on disk (database and write-ahead log)
 * @param countsByState    rows per state, every state present
 * @param channels         per channel: rows per state (every state present) and the oldest pending message
 * @param lastSweepAt      epoch ms of the last retention sweep, -1 if none yet
 * @param lastSweepDeleted rows the last sweep deleted, -1 if none yet
 */
public record QueueStats(long dbSizeBytes, Map<MessageState, Long> countsByState, Map<String, ChannelDepth> channels,
                         long lastSweepAt, long lastSweepDeleted) {

    /**
     * @param counts          rows per state
     * @param oldestQueuedAt  epoch ms of the oldest pending (queued or inflight) message, -1 when none
     */
    public record ChannelDepth(Map<MessageState, Long> counts, long oldestQueuedAt) {
        public long count(MessageState s) {
            Long n = counts.get(s);
            return n == null ? 0 : n;
        }
    }
}
