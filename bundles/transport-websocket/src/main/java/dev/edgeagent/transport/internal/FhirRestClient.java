package dev.edgeagent.transport.internal;

import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageFormatException;
import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.CloudException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * FHIR REST with the transport's token (spec §1.4): Bearer auth, one token refresh and retry after a 401.
 * Independent of the WebSocket, so it works while the link is down.
 */
final class FhirRestClient implements CloudClient {
    private static final int EXCERPT = 300;

    private final HttpClient http;
    private final TokenManager tokens;
    private final String fhirBase;
    private final Duration timeout;

    FhirRestClient(HttpClient http, TokenManager tokens, String baseUrl, Duration timeout) {
        this.http = http;
        this.tokens = tokens;
        this.fhirBase = baseUrl + "fhir/R4/";
        this.timeout = timeout;
    }

    @Override
    public Map<String, Object> read(String resourceType, String id) throws CloudException {
        URI uri = URI.create(fhirBase + seg(resourceType) + "/" + seg(id));
        HttpResponse<String> r = call("GET", uri, token -> HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Authorization", "Bearer " + token)
                .header("Cache-Control", "no-cache")
                .header("Accept", "application/fhir+json")
                .GET().build());
        if (r.statusCode() != 200) {
            throw failure("GET", uri, r);
        }
        try {
            return MessageCodec.parseObject(r.body());
        } catch (MessageFormatException e) {
            throw new CloudException(r.statusCode(), "GET " + uri + " failed: unreadable response: " + e.getMessage());
        }
    }

    @Override
    public String createBinary(String contentType, Path file) throws CloudException {
        URI uri = URI.create(fhirBase + "Binary");
        if (!Files.isReadable(file)) {
            throw new CloudException(0, "POST " + uri + " failed: cannot read file " + file);
        }
        HttpResponse<String> r = call("POST", uri, token -> {
            try {
                return HttpRequest.newBuilder(uri)
                        .timeout(timeout.multipliedBy(10))
                        .header("Authorization", "Bearer " + token)
                        .header("Content-Type", contentType)
                        .header("Accept", "application/fhir+json")
                        .POST(HttpRequest.BodyPublishers.ofFile(file))
                        .build();
            } catch (FileNotFoundException e) {
                throw new CloudException(0, "POST " + uri + " failed: cannot read file " + file);
            }
        });
        if (r.statusCode() != 200 && r.statusCode() != 201) {
            throw failure("POST", uri, r);
        }
        try {
            Object id = MessageCodec.parseObject(r.body()).get("id");
            if (id == null) {
                throw new CloudException(r.statusCode(), "POST " + uri + " failed: the response has no id: " + excerpt(r.body()));
            }
            return id.toString();
        } catch (MessageFormatException e) {
            throw new CloudException(r.statusCode(), "POST " + uri + " failed: unreadable response: " + e.getMessage());
        }
    }

    private interface RequestFactory {
        HttpRequest build(String token) throws CloudException;
    }

    private HttpResponse<String> call(String method, URI uri, RequestFactory factory) throws CloudException {
        TokenManager.Token t = token(method, uri, false);
        HttpResponse<String> r = send(method, uri, factory.build(t.value()));
        if (r.statusCode() == 401) {
            // The server may have revoked the token before its expiry: log in again, retry once.
            t = token(method, uri, true);
            r = send(method, uri, factory.build(t.value()));
        }
        return r;
    }

    private TokenManager.Token token(String method, URI uri, boolean fresh) throws CloudException {
        try {
            return (fresh ? tokens.login() : tokens.valid()).get(timeout.toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new CloudException(0, method + " " + uri + " failed: Failed to login: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new CloudException(0, method + " " + uri + " failed: Failed to login: no token response within "
                    + timeout.toMillis() * 2 + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudException(0, method + " " + uri + " failed: interrupted");
        }
    }

    private HttpResponse<String> send(String method, URI uri, HttpRequest req) throws CloudException {
        try {
            return http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new CloudException(0, method + " " + uri + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloudException(0, method + " " + uri + " failed: interrupted");
        }
    }

    private static CloudException failure(String method, URI uri, HttpResponse<String> r) {
        return new CloudException(r.statusCode(), method + " " + uri + " failed: " + r.statusCode() + " " + details(r.body()));
    }

    /** OperationOutcome issue details.text (or diagnostics), else a one-line excerpt of the body. */
    @SuppressWarnings("unchecked")
    static String details(String body) {
        try {
            Map<String, Object> json = MessageCodec.parseObject(body);
            if ("OperationOutcome".equals(json.get("resourceType")) && json.get("issue") instanceof List) {
                StringBuilder sb = new StringBuilder();
                for (Object o : (List<Object>) json.get("issue")) {
                    if (!(o instanceof Map)) {
                        continue;
                    }
                    Map<String, Object> issue = (Map<String, Object>) o;
                    Object text = issue.get("details") instanceof Map ? ((Map<String, Object>) issue.get("details")).get("text") : null;
                    if (text == null) {
                        text = issue.get("diagnostics");
                    }
                    if (text != null) {
                        sb.append(sb.length() == 0 ? "" : "; ").append(text);
                    }
                }
                if (sb.length() > 0) {
                    return sb.toString();
                }
            }
        } catch (MessageFormatException | RuntimeException e) {
            // not an OperationOutcome: use the excerpt
        }
        return excerpt(body);
    }

    static String excerpt(String body) {
        if (body == null || body.isBlank()) {
            return "(empty body)";
        }
        String s = body.replaceAll("\\s+", " ").trim();
        return s.length() <= EXCERPT ? s : s.substring(0, EXCERPT) + "...";
    }

    private static String seg(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
