package dev.edgeagent.itests.support;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The hub's HTTP side as the tests use it: client-credentials token and Agent $push. JDK only (see {@link MllpIo}). */
public final class HubHttp {
    /** The client every test hub seed declares. */
    public static final String CLIENT_ID = "edge-agent";
    public static final String CLIENT_SECRET = "edge-secret";

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HubHttp() {}

    public static String token(int hubPort) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hubPort + "/oauth2/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials&client_id=" + CLIENT_ID
                        + "&client_secret=" + CLIENT_SECRET))
                .build();
        HttpResponse<String> res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"").matcher(res.body());
        if (res.statusCode() != 200 || !m.find()) {
            throw new IllegalStateException("Token request failed: " + res.statusCode() + " " + res.body());
        }
        return m.group(1);
    }

    /** Status and UTF-8 body of an Agent $push with waitForResponse=true. */
    public record PushAnswer(int status, String body) {}

    public static PushAnswer push(int hubPort, String agentId, String deviceRef, String hl7, int waitTimeoutMs) throws Exception {
        String json = "{\"destination\":\"" + deviceRef + "\",\"contentType\":\"x-application/hl7-v2+er7\",\"body\":\""
                + jsonEscape(hl7) + "\",\"waitForResponse\":true,\"waitTimeout\":" + waitTimeoutMs + "}";
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hubPort + "/fhir/R4/Agent/" + agentId + "/$push"))
                .header("Authorization", "Bearer " + token(hubPort))
                .header("Content-Type", "application/fhir+json")
                .timeout(Duration.ofMillis(waitTimeoutMs + 10_000L))
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8))
                .build();
        HttpResponse<byte[]> res = HTTP.send(req, HttpResponse.BodyHandlers.ofByteArray());
        // The hub always writes UTF-8; decode explicitly so a missing charset parameter cannot hide a bug.
        return new PushAnswer(res.statusCode(), new String(res.body(), StandardCharsets.UTF_8));
    }

    public static String jsonEscape(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }
}
