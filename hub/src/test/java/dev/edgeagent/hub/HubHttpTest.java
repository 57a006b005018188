package dev.edgeagent.hub;

import static dev.edgeagent.hub.TestSupport.assertOutcome;
import static dev.edgeagent.hub.TestSupport.get;
import static dev.edgeagent.hub.TestSupport.json;
import static dev.edgeagent.hub.TestSupport.post;
import static dev.edgeagent.hub.TestSupport.send;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HubHttpTest {
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

    @Test
    void tokenIsAJwtWithTheDocumentedClaims() throws Exception {
        HttpResponse<String> r = post(hub, "oauth2/token", null, "application/x-www-form-urlencoded",
                "grant_type=client_credentials&client_id=test-client&client_secret=test-secret");
        assertEquals(200, r.statusCode());
        JsonNode body = json(r);
        assertEquals("Bearer", body.path("token_type").asText());
        assertEquals(3600, body.path("expires_in").asInt());
        String[] parts = body.path("access_token").asText().split("\\.");
        assertEquals(3, parts.length);
        JsonNode claims = TestSupport.MAPPER.readTree(Base64.getUrlDecoder().decode(parts[1]));
        assertEquals("test-client", claims.path("client_id").asText());
        assertTrue(claims.path("exp").asLong() > claims.path("iat").asLong());
        assertTrue(claims.path("login").asText().length() > 10);
    }

    @Test
    void badCredentialsAndGrantAreRefused() throws Exception {
        HttpResponse<String> r = post(hub, "oauth2/token", null, "application/x-www-form-urlencoded",
                "grant_type=client_credentials&client_id=test-client&client_secret=wrong");
        assertEquals(400, r.statusCode());
        assertEquals("invalid_client", json(r).path("error").asText());
        r = post(hub, "oauth2/token", null, "application/x-www-form-urlencoded",
                "grant_type=client_credentials&client_id=nobody&client_secret=test-secret");
        assertEquals("invalid_client", json(r).path("error").asText());
        r = post(hub, "oauth2/token", null, "application/x-www-form-urlencoded",
                "grant_type=password&client_id=test-client&client_secret=test-secret");
        assertEquals(400, r.statusCode());
        assertEquals("unsupported_grant_type", json(r).path("error").asText());
    }

    @Test
    void expiredTokenIsRefused() throws Exception {
        try (Hub shortLived = Hub.start(HubOptions.defaults().port(0).seedJson(TestSupport.SEED)
                .tokenLifetimeSeconds(1))) {
            String t = TestSupport.token(shortLived);
            assertEquals(200, get(shortLived, "fhir/R4/Agent/agent-1", t).statusCode());
            Thread.sleep(2100);
            assertOutcome(get(shortLived, "fhir/R4/Agent/agent-1", t), 401, "Unauthorized");
        }
    }

    @Test
    void fhirRequiresAValidBearerToken() throws Exception {
        assertOutcome(get(hub, "fhir/R4/Agent/agent-1", null), 401, "Unauthorized");
        assertOutcome(get(hub, "fhir/R4/Agent/agent-1", "not.a.token"), 401, "Unauthorized");
        String forged = token.substring(0, token.lastIndexOf('.') + 1) + "AAAA";
        assertOutcome(get(hub, "fhir/R4/Agent/agent-1", forged), 401, "Unauthorized");
        assertOutcome(get(hub, "fhir/R4/Agent/agent-1/$status", null), 401, "Unauthorized");
        assertOutcome(get(hub, "hub/messages", null), 401, "Unauthorized");
        HttpResponse<String> health = get(hub, "hub/health", null);
        assertEquals(200, health.statusCode());
        assertEquals("ok", health.body());
    }

    @Test
    void readAndSearch() throws Exception {
        HttpResponse<String> r = get(hub, "fhir/R4/Agent/agent-1", token);
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/fhir+json"));
        assertEquals("adt-in", json(r).at("/channel/0/name").asText());

        JsonNode bundle = json(get(hub, "fhir/R4/Device?url=mllp://127.0.0.1:2576", token));
        assertEquals("searchset", bundle.path("type").asText());
        assertEquals(1, bundle.path("total").asInt());
        assertEquals("dev-1", bundle.at("/entry/0/resource/id").asText());

        bundle = json(get(hub, "fhir/R4/Device?model=LAB-9", token));
        assertEquals("dev-1", bundle.at("/entry/0/resource/id").asText());
        bundle = json(get(hub, "fhir/R4/Agent?identifier=https://example.org/agents%7Csite-a", token));
        assertEquals(1, bundle.path("total").asInt());
        assertEquals("agent-1", bundle.at("/entry/0/resource/id").asText());
        bundle = json(get(hub, "fhir/R4/Agent?identifier=https://example.org/agents%7Cother", token));
        assertEquals(0, bundle.path("total").asInt());
        bundle = json(get(hub, "fhir/R4/Agent?name=test", token));
        assertEquals(1, bundle.path("total").asInt());
        bundle = json(get(hub, "fhir/R4/Agent", token));
        assertEquals(2, bundle.path("total").asInt());

        assertOutcome(get(hub, "fhir/R4/Agent/nope", token), 404, "Not found");
        assertEquals(400, get(hub, "fhir/R4/Patient/x", token).statusCode());
    }

    @Test
    void createUpdateDelete() throws Exception {
        HttpResponse<String> r = post(hub, "fhir/R4/Device", token, "application/fhir+json",
                "{\"resourceType\":\"Device\",\"url\":\"mllp://127.0.0.1:3000\"}");
        assertEquals(201, r.statusCode(), r.body());
        String id = json(r).path("id").asText();
        assertEquals(hub.baseUrl() + "fhir/R4/Device/" + id, r.headers().firstValue("Location").orElseThrow());

        r = send(hub, "PUT", "fhir/R4/Device/" + id, token, "application/fhir+json",
                "{\"resourceType\":\"Device\",\"id\":\"" + id + "\",\"url\":\"mllp://127.0.0.1:3001\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("mllp://127.0.0.1:3001", json(get(hub, "fhir/R4/Device/" + id, token)).path("url").asText());

        assertOutcome(send(hub, "PUT", "fhir/R4/Device/" + id, token, "application/fhir+json",
                "{\"resourceType\":\"Endpoint\"}"), 400, "Incorrect resource type: expected Device, got Endpoint");
        r = post(hub, "fhir/R4/Device", token, "application/fhir+json", "{oops");
        assertEquals(400, r.statusCode());
        assertTrue(json(r).at("/issue/0/details/text").asText().startsWith("Request body is not valid JSON: "),
                r.body());

        r = send(hub, "DELETE", "fhir/R4/Device/" + id, token, null, null);
        assertEquals(200, r.statusCode());
        assertOutcome(get(hub, "fhir/R4/Device/" + id, token), 404, "Not found");
        assertOutcome(send(hub, "DELETE", "fhir/R4/Device/" + id, token, null, null), 404, "Not found");
    }

    @Test
    void binaryStoresRawBytesAndContentType() throws Exception {
        byte[] data = {0, 1, 2, (byte) 0xff, 'x'};
        HttpRequest req = HttpRequest.newBuilder(URI.create(hub.baseUrl() + "fhir/R4/Binary"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/dicom")
                .POST(HttpRequest.BodyPublishers.ofByteArray(data)).build();
        HttpResponse<String> r = TestSupport.HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
        JsonNode bin = json(r);
        assertEquals("Binary", bin.path("resourceType").asText());
        assertEquals("application/dicom", bin.path("contentType").asText());
        String id = bin.path("id").asText();

        HttpResponse<byte[]> raw = TestSupport.HTTP.send(HttpRequest.newBuilder(
                URI.create(hub.baseUrl() + "fhir/R4/Binary/" + id)).header("Authorization", "Bearer " + token).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, raw.statusCode());
        assertEquals("application/dicom", raw.headers().firstValue("Content-Type").orElseThrow());
        assertArrayEquals(data, raw.body());

        HttpResponse<String> asJson = TestSupport.HTTP.send(HttpRequest.newBuilder(
                URI.create(hub.baseUrl() + "fhir/R4/Binary/" + id)).header("Authorization", "Bearer " + token)
                .header("Accept", "application/fhir+json").build(), HttpResponse.BodyHandlers.ofString());
        assertArrayEquals(data, Base64.getDecoder().decode(json(asJson).path("data").asText()));
        assertEquals("x", new String(raw.body(), 4, 1, StandardCharsets.US_ASCII));
    }

    @Test
    void unknownPathsAndMethodsAnswerWithOperationOutcomes() throws Exception {
        assertEquals(404, get(hub, "nothing/here", token).statusCode());
        assertOutcome(send(hub, "PATCH", "fhir/R4/Agent/agent-1", token, "application/json", "{}"), 405,
                "Unsupported request: PATCH /fhir/R4/Agent/agent-1");
        assertOutcome(get(hub, "fhir/R4/job/unknown/status", token), 404, "Not found");
    }
}
