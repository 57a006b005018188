package dev.edgeagent.hub;

import static dev.edgeagent.hub.TestSupport.HL7;
import static dev.edgeagent.hub.TestSupport.MAPPER;
import static dev.edgeagent.hub.TestSupport.assertOutcome;
import static dev.edgeagent.hub.TestSupport.get;
import static dev.edgeagent.hub.TestSupport.json;
import static dev.edgeagent.hub.TestSupport.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgeagent.hub.TestSupport.FakeAgent;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HubOperationsTest {
    private static final String ORM = "MSH|^~\\&|EHR|HOSP|LAB|HOSP|20250101||ORM^O01|ORD0001|P|2.5\rORC|NW";
    private static Hub hub;
    private static String token;

    @BeforeAll
    static void start() throws Exception {
        hub = TestSupport.startHub(0);
        token = TestSupport.token(hub);
    }

    @AfterAll
    static void stop() {
        hub.stop();
    }

    private static HttpResponse<String> push(String path, ObjectNode body, String... headers) throws Exception {
        return post(hub, path, token, "application/fhir+json", MAPPER.writeValueAsString(body), headers);
    }

    private static ObjectNode pushBody() {
        return MAPPER.createObjectNode().put("destination", "Device/dev-1").put("contentType", HL7).put("body", ORM);
    }

    private static CompletableFuture<HttpResponse<String>> pushAsync(ObjectNode body) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return push("fhir/R4/Agent/agent-1/$push", body);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void pushValidationTextsAndOrder() throws Exception {
        assertOutcome(push("fhir/R4/Agent/$push", pushBody()), 400, "Must specify agent ID or identifier");
        assertOutcome(push("fhir/R4/Agent/$push?identifier=https://example.org/agents%7Cnobody", pushBody()), 400,
                "Must specify agent ID or identifier");
        assertOutcome(push("fhir/R4/Agent/missing/$push", pushBody()), 404, "Not found");
        String p = "fhir/R4/Agent/agent-1/$push";
        ObjectNode b = pushBody();
        b.remove("body");
        b.remove("contentType");
        assertOutcome(push(p, b), 400, "Missing body parameter");
        b = pushBody();
        b.remove("contentType");
        b.remove("destination");
        assertOutcome(push(p, b), 400, "Missing contentType parameter");
        b = pushBody();
        b.remove("destination");
        assertOutcome(push(p, b), 400, "Missing destination parameter");
        assertOutcome(push(p, pushBody().put("waitTimeout", 3_600_000).put("destination", "foo")), 400,
                "Invalid wait timeout");
        assertOutcome(push(p, pushBody().put("waitTimeout", -1)), 400, "Invalid wait timeout");
        assertOutcome(push(p, pushBody().put("destination", "foo")), 400, "Destination device not found");
        assertOutcome(push(p, pushBody().put("destination", "Device/unknown")), 400, "Destination device not found");
        assertOutcome(push(p, pushBody().put("destination", "Device?url=mllp://nowhere")), 400,
                "Destination device not found");
        assertOutcome(push(p, pushBody().put("destination", "Device/dev-nourl")), 400,
                "Destination device missing url");
        assertOutcome(post(hub, p, token, "application/json", ""), 400, "Missing body parameter");
    }

    @Test
    void disabledAgentRefusesHl7ButAllowsPing() throws Exception {
        assertOutcome(push("fhir/R4/Agent/agent-off/$push", pushBody()), 400,
                "Agent is currently disabled. Agent.status is 'off'");
        ObjectNode ping = MAPPER.createObjectNode().put("destination", "127.0.0.1")
                .put("contentType", "x-application/ping").put("body", "PING");
        HttpResponse<String> r = push("fhir/R4/Agent/agent-off/$push", ping);
        assertOutcome(r, 200, "All OK");
    }

    @Test
    void fireAndForgetPushReachesTheAgent() throws Exception {
        try (FakeAgent agent = FakeAgent.connected(hub, "agent-1", token)) {
            assertOutcome(push("fhir/R4/Agent/$push?identifier=https://example.org/agents%7Csite-a", pushBody()),
                    200, "All OK");
            JsonNode req = agent.next("agent:transmit:request");
            assertEquals("mllp://127.0.0.1:2576", req.path("remote").asText());
            assertEquals(HL7, req.path("contentType").asText());
            assertEquals(ORM, req.path("body").asText());
            assertFalse(req.has("callback"), "no callback when not waiting");
            assertFalse(req.has("returnAck"), "returnAck only when supplied");
            assertFalse(req.has("channel"));
            assertFalse(req.has("accessToken"));

            // Parameters form, Device search destination and returnAck forwarding.
            ObjectNode params = MAPPER.createObjectNode().put("resourceType", "Parameters");
            params.putArray("parameter")
                    .add(MAPPER.createObjectNode().put("name", "destination").put("valueString", "Device?model=LAB-9"))
                    .add(MAPPER.createObjectNode().put("name", "contentType").put("valueString", HL7))
                    .add(MAPPER.createObjectNode().put("name", "body").put("valueString", ORM))
                    .add(MAPPER.createObjectNode().put("name", "returnAck").put("valueString", "application"));
            assertOutcome(push("fhir/R4/Agent/agent-1/$push", params), 200, "All OK");
            req = agent.next("agent:transmit:request");
            assertEquals("mllp://127.0.0.1:2576", req.path("remote").asText());
            assertEquals("application", req.path("returnAck").asText());
        }
    }

    @Test
    void waitingPushReturnsTheRawResponse() throws Exception {
        try (FakeAgent agent = FakeAgent.connected(hub, "agent-1", token)) {
            CompletableFuture<HttpResponse<String>> f = pushAsync(pushBody().put("waitForResponse", true));
            JsonNode req = agent.answer("agent:transmit:request", r -> MAPPER.createObjectNode()
                    .put("type", "agent:transmit:response").put("remote", r.path("remote").asText())
                    .put("contentType", HL7).put("statusCode", 200)
                    .put("body", "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20250101||ACK^O01|1|P|2.5\rMSA|CA|ORD0001|Commit Accept")
                    .put("callback", r.path("callback").asText()));
            assertTrue(req.path("callback").asText().startsWith("agent:cb:"), req.toString());
            HttpResponse<String> r = f.get();
            assertEquals(200, r.statusCode());
            assertEquals(HL7, r.headers().firstValue("Content-Type").orElseThrow());
            assertTrue(r.body().endsWith("MSA|CA|ORD0001|Commit Accept"), r.body());
        }
    }

    @Test
    void waitingPushMapsAgentFailures() throws Exception {
        try (FakeAgent agent = FakeAgent.connected(hub, "agent-1", token)) {
            CompletableFuture<HttpResponse<String>> f = pushAsync(pushBody().put("waitForResponse", true));
            agent.answer("agent:transmit:request", r -> MAPPER.createObjectNode().put("type", "agent:error")
                    .put("body", "Agent.status is currently set to off").put("callback", r.path("callback").asText()));
            HttpResponse<String> r = f.get();
            assertOutcome(r, 400, "Agent.status is currently set to off");
            assertEquals("invalid", json(r).at("/issue/0/code").asText());

            f = pushAsync(pushBody().put("waitForResponse", true));
            agent.answer("agent:transmit:request", q -> MAPPER.createObjectNode()
                    .put("type", "agent:transmit:response").put("contentType", "text/plain").put("statusCode", 400)
                    .put("body", "Connection refused").put("callback", q.path("callback").asText()));
            assertOutcome(f.get(), 400, "Connection refused");
        }
    }

    @Test
    void waitingPushTimesOut() throws Exception {
        try (FakeAgent agent = FakeAgent.connected(hub, "agent-1", token)) {
            HttpResponse<String> r = push("fhir/R4/Agent/agent-1/$push",
                    pushBody().put("waitForResponse", true).put("waitTimeout", 300));
            assertOutcome(r, 400, "Timeout");
            agent.next("agent:transmit:request");
        }
        // Not connected at all: Medplum semantics, the wait simply runs out.
        HttpResponse<String> r = push("fhir/R4/Agent/agent-1/$push",
                pushBody().put("waitForResponse", true).put("waitTimeout", 200));
        assertOutcome(r, 400, "Timeout");
    }

    @Test
    void respondAsyncCompletesTheJob() throws Exception {
        try (FakeAgent agent = FakeAgent.connected(hub, "agent-1", token)) {
            HttpResponse<String> r = push("fhir/R4/Agent/agent-1/$push",
                    MAPPER.createObjectNode().put("destination", "8.8.8.8").put("contentType", "x-application/ping")
                            .put("body", "PING").put("waitForResponse", true),
                    "Prefer", "respond-async");
            assertEquals(202, r.statusCode(), r.body());
            String location = r.headers().firstValue("Content-Location").orElseThrow();
            assertTrue(location.startsWith(hub.baseUrl() + "fhir/R4/job/") && location.endsWith("/status"), location);
            String statusPath = location.substring(hub.baseUrl().length());
            JsonNode job = json(get(hub, statusPath, token));
            assertEquals("accepted", job.path("status").asText());

            agent.answer("agent:transmit:request", q -> MAPPER.createObjectNode()
                    .put("type", "agent:transmit:response").put("contentType", "x-application/ping")
                    .put("statusCode", 200).put("body", "PING 8.8.8.8 ... ping statistics ...")
                    .put("callback", q.path("callback").asText()));
            long deadline = System.currentTimeMillis() + 5000;
            HttpResponse<String> poll;
            do {
                Thread.sleep(20);
                poll = get(hub, statusPath, token);
            } while (poll.statusCode() == 202 && System.currentTimeMillis() < deadline);
            assertEquals(200, poll.statusCode());
            job = json(poll);
            assertEquals("AsyncJob", job.path("resourceType").asText());
            assertEquals("completed", job.path("status").asText());
            assertTrue(job.path("request").asText().endsWith("/Agent/agent-1/$push"), job.toString());
            assertEquals("outcome", job.at("/output/parameter/0/name").asText());
            assertEquals("All OK", job.at("/output/parameter/0/resource/issue/0/details/text").asText());
            assertEquals("responseBody", job.at("/output/parameter/1/name").asText());
            assertEquals("PING 8.8.8.8 ... ping statistics ...", job.at("/output/parameter/1/valueString").asText());
        }
        HttpResponse<String> r = push("fhir/R4/Agent/agent-1/$push", pushBody().put("destination", "Device/unknown"),
                "Prefer", "respond-async");
        assertEquals(202, r.statusCode());
        String statusPath = r.headers().firstValue("Content-Location").orElseThrow().substring(hub.baseUrl().length());
        JsonNode job = json(get(hub, statusPath, token));
        assertEquals("completed", job.path("status").asText());
        assertEquals("Destination device not found",
                job.at("/output/parameter/0/resource/issue/0/details/text").asText());
        assertEquals(1, job.at("/output/parameter").size());
    }

    @Test
    void reloadConfigOkAndError() throws Exception {
        try (FakeAgent agent = FakeAgent.connected(hub, "agent-1", token)) {
            CompletableFuture<HttpResponse<String>> f = CompletableFuture.supplyAsync(() -> call("GET",
                    "fhir/R4/Agent/agent-1/$reload-config"));
            JsonNode req = agent.answer("agent:reloadconfig:request", q -> MAPPER.createObjectNode()
                    .put("type", "agent:reloadconfig:response").put("statusCode", 200)
                    .put("callback", q.path("callback").asText()));
            assertEquals(2, req.size(), "only type and callback: " + req);
            assertOutcome(f.get(), 200, "All OK");

            f = CompletableFuture.supplyAsync(() -> call("POST", "fhir/R4/Agent/agent-1/$reload-config"));
            agent.answer("agent:reloadconfig:request", q -> MAPPER.createObjectNode().put("type", "agent:error")
                    .put("body", "Channel adt-in: port 70000 out of range").put("callback", q.path("callback").asText()));
            assertOutcome(f.get(), 400, "Channel adt-in: port 70000 out of range");
        }
        assertOutcome(call("GET", "fhir/R4/Agent/agent-1/$reload-config"), 400, "Timeout");
    }

    @Test
    void statsAndFetchLogs() throws Exception {
        try (FakeAgent agent = FakeAgent.connected(hub, "agent-1", token)) {
            CompletableFuture<HttpResponse<String>> f = CompletableFuture.supplyAsync(() -> call("GET",
                    "fhir/R4/Agent/agent-1/$stats"));
            agent.answer("agent:stats:request", q -> {
                ObjectNode r = MAPPER.createObjectNode().put("type", "agent:stats:response").put("statusCode", 200)
                        .put("callback", q.path("callback").asText());
                r.putObject("stats").put("ping", 3);
                return r;
            });
            JsonNode params = json(f.get());
            assertEquals("stats", params.at("/parameter/0/name").asText());
            assertEquals("{\"ping\":3}", params.at("/parameter/0/valueString").asText());

            f = CompletableFuture.supplyAsync(() -> call("GET", "fhir/R4/Agent/agent-1/$fetch-logs?limit=2"));
            JsonNode req = agent.answer("agent:logs:request", q -> {
                ObjectNode r = MAPPER.createObjectNode().put("type", "agent:logs:response").put("statusCode", 200)
                        .put("callback", q.path("callback").asText());
                r.putArray("logs").add(MAPPER.createObjectNode().put("level", "INFO").put("msg", "a"))
                        .add(MAPPER.createObjectNode().put("level", "WARN").put("msg", "b"));
                return r;
            });
            assertEquals(2, req.path("limit").asInt());
            params = json(f.get());
            assertEquals("logs", params.at("/parameter/0/name").asText());
            assertEquals("{\"level\":\"INFO\",\"msg\":\"a\"}\n{\"level\":\"WARN\",\"msg\":\"b\"}",
                    params.at("/parameter/0/valueString").asText());

            f = CompletableFuture.supplyAsync(() -> call("GET", "fhir/R4/Agent/agent-1/$stats"));
            agent.answer("agent:stats:request", q -> MAPPER.createObjectNode().put("type", "agent:logs:response")
                    .put("callback", q.path("callback").asText()));
            assertOutcome(f.get(), 500, "Invalid response received from agent");
        }
    }

    private static HttpResponse<String> call(String method, String path) {
        try {
            return TestSupport.send(hub, method, path, token, null, null);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
