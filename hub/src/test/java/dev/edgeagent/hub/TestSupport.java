package dev.edgeagent.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Shared fixtures: a seeded hub on an ephemeral loopback port, HTTP helpers and a scripted agent. */
final class TestSupport {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final String HL7 = "x-application/hl7-v2+er7";

    static final String SEED = """
            {
              "clients": [{"clientId": "test-client", "clientSecret": "test-secret"}],
              "resources": [
                {"resourceType": "Agent", "id": "agent-1", "name": "Test agent", "status": "active",
                 "identifier": [{"system": "https://example.org/agents", "value": "site-a"}],
                 "setting": [],
                 "channel": [{"name": "adt-in", "endpoint": {"reference": "Endpoint/ep-1"},
                              "targetReference": {"reference": "Bot/ack-bot"}}]},
                {"resourceType": "Agent", "id": "agent-off", "name": "Disabled agent", "status": "off",
                 "channel": []},
                {"resourceType": "Endpoint", "id": "ep-1", "status": "active", "address": "mllp://0.0.0.0:2575"},
                {"resourceType": "Device", "id": "dev-1", "url": "mllp://127.0.0.1:2576", "modelNumber": "LAB-9"},
                {"resourceType": "Device", "id": "dev-nourl"}
              ]
            }
            """;

    private TestSupport() {
    }

    static Hub startHub(long heartbeatMs) throws Exception {
        return Hub.start(HubOptions.defaults().port(0).seedJson(SEED).heartbeatMs(heartbeatMs)
                .operationTimeoutMs(1500));
    }

    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static String token(Hub hub) throws Exception {
        HttpResponse<String> r = post(hub, "oauth2/token", null, "application/x-www-form-urlencoded",
                "grant_type=client_credentials&client_id=test-client&client_secret=test-secret");
        assertEquals(200, r.statusCode(), r.body());
        return json(r).get("access_token").asText();
    }

    static HttpResponse<String> get(Hub hub, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(hub.baseUrl() + path)).timeout(Duration.ofSeconds(20));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(Hub hub, String path, String token, String contentType, String body,
            String... headers) throws Exception {
        return send(hub, "POST", path, token, contentType, body, headers);
    }

    static HttpResponse<String> send(Hub hub, String method, String path, String token, String contentType,
            String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(hub.baseUrl() + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return MAPPER.readTree(r.body());
    }

    /** Asserts a FHIR error OperationOutcome with the given HTTP status and details text. */
    static void assertOutcome(HttpResponse<String> r, int status, String text) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode oo = json(r);
        assertEquals("OperationOutcome", oo.path("resourceType").asText(), r.body());
        assertEquals(status >= 400 ? "error" : "information", oo.at("/issue/0/severity").asText(), r.body());
        assertEquals(text, oo.at("/issue/0/details/text").asText(), r.body());
    }

    /** A scripted agent over the JDK WebSocket client; frames land in a queue for assertions. */
    static final class FakeAgent implements WebSocket.Listener, AutoCloseable {
        final BlockingQueue<JsonNode> inbox = new LinkedBlockingQueue<>();
        private final StringBuilder partial = new StringBuilder();
        final WebSocket ws;

        FakeAgent(Hub hub) throws Exception {
            URI uri = URI.create("ws://127.0.0.1:" + hub.port() + "/ws/agent");
            ws = HTTP.newWebSocketBuilder().buildAsync(uri, this).get(5, TimeUnit.SECONDS);
        }

        static FakeAgent connected(Hub hub, String agentId, String token) throws Exception {
            FakeAgent a = new FakeAgent(hub);
            a.send(MAPPER.createObjectNode().put("type", "agent:connect:request").put("accessToken", token)
                    .put("agentId", agentId));
            JsonNode r = a.next("agent:connect:response");
            assertNotNull(r);
            return a;
        }

        void send(JsonNode msg) throws Exception {
            sendRaw(MAPPER.writeValueAsString(msg));
        }

        void sendRaw(String text) throws Exception {
            ws.sendText(text, true).get(5, TimeUnit.SECONDS);
        }

        void sendBinary(byte[] payload) throws Exception {
            ws.sendBinary(java.nio.ByteBuffer.wrap(payload), true).get(5, TimeUnit.SECONDS);
        }

        /** Next frame, skipping server heartbeat requests unless asked for. */
        JsonNode next(String expectedType) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (true) {
                long left = deadline - System.nanoTime();
                JsonNode m = inbox.poll(Math.max(1, left), TimeUnit.NANOSECONDS);
                if (m == null) {
                    throw new AssertionError("no " + expectedType + " frame within 5 s");
                }
                String type = m.path("type").asText();
                if (type.equals("agent:heartbeat:request") && !expectedType.equals(type)) {
                    continue;
                }
                assertEquals(expectedType, type, m.toString());
                return m;
            }
        }

        /** Answers the next server request with the response built from it. */
        JsonNode answer(String expectedType, java.util.function.Function<JsonNode, ObjectNode> reply) throws Exception {
            JsonNode req = next(expectedType);
            send(reply.apply(req));
            return req;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                try {
                    inbox.add(MAPPER.readTree(partial.toString()));
                } catch (Exception e) {
                    inbox.add(MAPPER.createObjectNode().put("type", "unparsable").put("text", partial.toString()));
                }
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        /** Pongs land in the inbox as {"type":"pong"}, so a test can see whether the hub answered a ping. */
        @Override
        public CompletionStage<?> onPong(WebSocket webSocket, java.nio.ByteBuffer message) {
            inbox.add(MAPPER.createObjectNode().put("type", "pong"));
            webSocket.request(1);
            return null;
        }

        @Override
        public void close() {
            ws.abort();
        }
    }
}
