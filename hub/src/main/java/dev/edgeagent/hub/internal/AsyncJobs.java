package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** FHIR AsyncJob records for {@code Prefer: respond-async}; only the newest {@value #MAX_JOBS} are kept. */
public final class AsyncJobs {
    static final int MAX_JOBS = 1000;

    private final Map<String, ObjectNode> jobs = new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ObjectNode> eldest) {
            return size() > MAX_JOBS;
        }
    };

    public synchronized String create(String requestUrl) {
        String id = UUID.randomUUID().toString();
        ObjectNode job = Json.object().put("resourceType", "AsyncJob").put("id", id);
        job.putObject("meta").put("lastUpdated", Json.now());
        job.put("status", "accepted").put("requestTime", Json.now()).put("request", requestUrl);
        jobs.put(id, job);
        return id;
    }

    /** Marks the job finished; {@code status} is {@code completed} or {@code error}. */
    public synchronized void finish(String id, String status, ObjectNode output) {
        ObjectNode job = jobs.get(id);
        if (job == null) {
            return;
        }
        ObjectNode done = job.deepCopy();
        done.put("status", status).put("transactionTime", Json.now());
        done.putObject("meta").put("lastUpdated", Json.now());
        done.set("output", output);
        jobs.put(id, done);
    }

    public synchronized ObjectNode get(String id) {
        ObjectNode job = jobs.get(id);
        return job == null ? null : job.deepCopy();
    }
}
