package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Agent operations of spec §7: $push, $reload-config, $status, $stats, $fetch-logs. */
public final class AgentOperations {
    private static final Logger LOG = LoggerFactory.getLogger(AgentOperations.class);
    static final String PING = "x-application/ping";
    static final int DEFAULT_PUSH_WAIT_MS = 10_000;
    static final int MAX_PUSH_WAIT_MS = 55_000;
    private static final Pattern IPV4 = Pattern.compile(
            "^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$");
    private static final Pattern HOSTNAME = Pattern.compile(
            "^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$");

    /** A $push result before it is turned into an HTTP reply or an AsyncJob. */
    record PushResult(int status, ObjectNode outcome, String contentType, String body) {
        static PushResult outcome(int status, ObjectNode outcome) {
            return new PushResult(status, outcome, null, null);
        }

        Reply toReply() {
            return outcome != null ? Reply.fhir(status, outcome) : Reply.text(status, contentType, body);
        }
    }

    private final FhirStore store;
    private final AgentHub agents;
    private final AsyncJobs jobs;
    private final long operationTimeoutMs;

    public AgentOperations(FhirStore store, AgentHub agents, AsyncJobs jobs, long operationTimeoutMs) {
        this.store = store;
        this.agents = agents;
        this.jobs = jobs;
        this.operationTimeoutMs = operationTimeoutMs;
    }

    /** Instance form when {@code id} is set, else {@code ?identifier=system|value}. */
    ObjectNode resolveAgent(String id, Map<String, List<String>> query) {
        if (id != null) {
            return store.read("Agent", id);
        }
        String identifier = HttpApi.first(query, "identifier");
        if (identifier != null && !identifier.isEmpty()) {
            List<ObjectNode> found = store.search("Agent", Map.of("identifier", List.of(identifier)));
            if (!found.isEmpty()) {
                return found.get(0);
            }
        }
        throw HubException.badRequest("Must specify agent ID or identifier");
    }

    CompletableFuture<Reply> push(String id, Map<String, List<String>> query, JsonNode body, String prefer,
            String requestUrl, String baseUrl) {
        if ("respond-async".equals(prefer)) {
            String jobId = jobs.create(requestUrl);
            String location = baseUrl + "fhir/R4/job/" + jobId + "/status";
            CompletableFuture<PushResult> work;
            try {
                work = runPush(id, query, body);
            } catch (RuntimeException e) {
                work = CompletableFuture.failedFuture(e);
            }
            work.whenComplete((r, t) -> finishJob(jobId, r, t));
            return CompletableFuture.completedFuture(Reply.fhir(202, Json.accepted(location))
                    .withHeaders(Map.of("Content-Location", location)));
        }
        return runPush(id, query, body).handle((r, t) -> {
            if (t == null) {
                return r.toReply();
            }
            return Reply.error(toHubException(t));
        });
    }

    private void finishJob(String jobId, PushResult r, Throwable t) {
        ObjectNode output = Json.object().put("resourceType", "Parameters");
        ArrayNode params = output.putArray("parameter");
        if (t != null) {
            HubException e = toHubException(t);
            // Validation failures are returned outcomes in Medplum, so the job completes; thrown errors
            // (timeout, internal) mark it as error.
            String status = unwrap(t) instanceof HubException && e.status() < 500 ? "completed" : "error";
            params.addObject().put("name", "outcome").set("resource", Json.error(e.code(), e.getMessage()));
            jobs.finish(jobId, status, output);
            return;
        }
        if (r.outcome() != null) {
            params.addObject().put("name", "outcome").set("resource", r.outcome());
        } else {
            params.addObject().put("name", "outcome").set("resource", Json.allOk());
            params.addObject().put("name", "responseBody").put("valueString", r.body());
        }
        jobs.finish(jobId, "completed", output);
    }

    private CompletableFuture<PushResult> runPush(String id, Map<String, List<String>> query, JsonNode body) {
        ObjectNode agent = resolveAgent(id, query);
        String agentId = Json.text(agent, "id");
        Map<String, JsonNode> p = pushParams(body);
        String contentType = str(p.get("contentType"));
        if ("off".equals(Json.text(agent, "status")) && !PING.equals(contentType)) {
            throw HubException.badRequest("Agent is currently disabled. Agent.status is 'off'");
        }
        String text = str(p.get("body"));
        if (text == null || text.isEmpty()) {
            throw HubException.badRequest("Missing body parameter");
        }
        if (contentType == null || contentType.isEmpty()) {
            throw HubException.badRequest("Missing contentType parameter");
        }
        String destination = str(p.get("destination"));
        if (destination == null || destination.isEmpty()) {
            throw HubException.badRequest("Missing destination parameter");
        }
        long waitTimeout = DEFAULT_PUSH_WAIT_MS;
        JsonNode wt = p.get("waitTimeout");
        if (wt != null && !wt.isNull()) {
            if (!wt.isIntegralNumber() || wt.asLong() < 0 || wt.asLong() > MAX_PUSH_WAIT_MS) {
                throw HubException.badRequest("Invalid wait timeout");
            }
            waitTimeout = wt.asLong();
        }
        String remote = resolveRemote(destination, contentType);
        ObjectNode msg = Json.object().put("type", "agent:transmit:request").put("remote", remote)
                .put("contentType", contentType).put("body", text);
        String returnAck = str(p.get("returnAck"));
        if (returnAck != null) {
            msg.put("returnAck", returnAck);
        }
        JsonNode wait = p.get("waitForResponse");
        boolean waitForResponse = wait != null && (wait.asBoolean(false) || "true".equals(wait.asText()));
        if (!waitForResponse) {
            if (!agents.publish(agentId, msg)) {
                LOG.warn("$push to Agent/{} ({}) answered 200 but the agent is not connected: message lost",
                        agentId, remote);
            }
            return CompletableFuture.completedFuture(PushResult.outcome(200, Json.allOk()));
        }
        return agents.request(agentId, msg, waitTimeout).thenApply(AgentOperations::pushResponse);
    }

    private static PushResult pushResponse(ObjectNode response) {
        String type = Json.text(response, "type");
        String body = Json.text(response, "body");
        if ("agent:error".equals(type)) {
            return PushResult.outcome(400, Json.error("invalid", body == null ? "" : body));
        }
        if (!"agent:transmit:response".equals(type)) {
            return PushResult.outcome(500, Json.error("exception", "Invalid response received from agent"));
        }
        JsonNode sc = response.get("statusCode");
        int status = sc != null && sc.canConvertToInt() ? sc.asInt() : 200;
        if (status >= 400) {
            return PushResult.outcome(400, Json.error("invalid", body == null ? "" : body));
        }
        String ct = Json.text(response, "contentType");
        return new PushResult(status, null, ct == null ? "text/plain" : ct, body == null ? "" : body);
    }

    private String resolveRemote(String destination, String contentType) {
        if (PING.equals(contentType) && (IPV4.matcher(destination).matches()
                || HOSTNAME.matcher(destination).matches())) {
            return destination;
        }
        ObjectNode device = null;
        if (destination.startsWith("Device/")) {
            device = store.peek("Device", destination.substring("Device/".length()));
        } else if (destination.startsWith("Device?")) {
            List<ObjectNode> found = store.search("Device",
                    HttpApi.parseQuery(destination.substring("Device?".length())));
            device = found.isEmpty() ? null : found.get(0);
        }
        if (device == null) {
            throw HubException.badRequest("Destination device not found");
        }
        String url = Json.text(device, "url");
        if (url == null || url.isEmpty()) {
            throw HubException.badRequest("Destination device missing url");
        }
        return url;
    }

    /** Accepts a plain JSON object or a FHIR Parameters resource carrying the same names. */
    private static Map<String, JsonNode> pushParams(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw HubException.badRequest("Request body must be a JSON object or a FHIR Parameters resource");
        }
        Map<String, JsonNode> out = new java.util.HashMap<>();
        if ("Parameters".equals(Json.text(body, "resourceType"))) {
            for (JsonNode param : body.path("parameter")) {
                String name = Json.text(param, "name");
                if (name == null) {
                    continue;
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = param.fields(); it.hasNext();) {
                    Map.Entry<String, JsonNode> f = it.next();
                    if (f.getKey().startsWith("value")) {
                        out.put(name, f.getValue());
                        break;
                    }
                }
            }
        } else {
            body.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
        }
        return out;
    }

    private static String str(JsonNode n) {
        return n == null || n.isNull() || n.isContainerNode() ? null : n.asText();
    }

    CompletableFuture<Reply> reloadConfig(String id, Map<String, List<String>> query) {
        ObjectNode agent = resolveAgent(id, query);
        return call(agent, Json.object().put("type", "agent:reloadconfig:request"), "agent:reloadconfig:response",
                r -> Json.allOk());
    }

    CompletableFuture<Reply> stats(String id, Map<String, List<String>> query) {
        ObjectNode agent = resolveAgent(id, query);
        return call(agent, Json.object().put("type", "agent:stats:request"), "agent:stats:response", r -> {
            ObjectNode params = Json.object().put("resourceType", "Parameters");
            JsonNode stats = r.get("stats");
            params.putArray("parameter").addObject().put("name", "stats")
                    .put("valueString", Json.write(stats == null ? Json.object() : stats));
            return params;
        });
    }

    CompletableFuture<Reply> fetchLogs(String id, Map<String, List<String>> query) {
        ObjectNode agent = resolveAgent(id, query);
        ObjectNode req = Json.object().put("type", "agent:logs:request");
        String limit = HttpApi.first(query, "limit");
        if (limit != null) {
            try {
                req.put("limit", Integer.parseInt(limit));
            } catch (NumberFormatException e) {
                // The agent owns limit validation and names the bad value in its error.
                req.put("limit", limit);
            }
        }
        return call(agent, req, "agent:logs:response", r -> {
            StringBuilder sb = new StringBuilder();
            for (JsonNode entry : r.path("logs")) {
                if (sb.length() > 0) {
                    sb.append('\n');
                }
                sb.append(Json.write(entry));
            }
            ObjectNode params = Json.object().put("resourceType", "Parameters");
            params.putArray("parameter").addObject().put("name", "logs").put("valueString", sb.toString());
            return params;
        });
    }

    Reply status(String id, Map<String, List<String>> query) {
        ObjectNode agent = resolveAgent(id, query);
        AgentInfo info = agents.info(Json.text(agent, "id"));
        ObjectNode params = Json.object().put("resourceType", "Parameters");
        ArrayNode list = params.putArray("parameter");
        list.addObject().put("name", "status").put("valueCode", info.status());
        list.addObject().put("name", "version").put("valueString", info.version());
        if (info.lastUpdated() != null) {
            list.addObject().put("name", "lastUpdated").put("valueInstant", info.lastUpdated());
        }
        return Reply.fhir(200, params);
    }

    /** Medplum's sendAndHandleAgentRequest: expected type ⇒ success, agent:error ⇒ 400, other ⇒ 500. */
    private CompletableFuture<Reply> call(ObjectNode agent, ObjectNode request, String expectedType,
            java.util.function.Function<ObjectNode, ObjectNode> onSuccess) {
        String agentId = Json.text(agent, "id");
        return agents.request(agentId, request, operationTimeoutMs).handle((r, t) -> {
            if (t != null) {
                return Reply.error(toHubException(t));
            }
            String type = Json.text(r, "type");
            if ("agent:error".equals(type)) {
                String body = Json.text(r, "body");
                return Reply.fhir(400, Json.error("invalid", body == null ? "" : body));
            }
            if (!expectedType.equals(type)) {
                LOG.warn("Agent/{} answered {} with {}", agentId, Json.text(request, "type"), type);
                return Reply.fhir(500, Json.error("exception", "Invalid response received from agent"));
            }
            return Reply.fhir(200, onSuccess.apply(r));
        });
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static HubException toHubException(Throwable t) {
        Throwable c = unwrap(t);
        if (c instanceof HubException h) {
            return h;
        }
        if (c instanceof TimeoutException) {
            return HubException.badRequest("Timeout");
        }
        LOG.warn("Agent operation failed: {}", c.toString(), c);
        return new HubException(500, "exception", "Internal server error: " + c.getMessage());
    }
}
