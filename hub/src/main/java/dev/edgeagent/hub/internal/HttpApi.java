package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All HTTP routes: OAuth2 token, FHIR R4 CRUD/search, Agent operations, AsyncJob status and the /hub
 * test helpers. Every failure becomes an OperationOutcome (never a stack trace) at the top of
 * {@link #handle}.
 */
public final class HttpApi extends Handler.Abstract {
    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
    private static final String FHIR_PREFIX = "/fhir/R4/";

    private final FhirStore store;
    private final TokenService tokens;
    private final AgentHub agents;
    private final AgentOperations ops;
    private final AsyncJobs jobs;
    private final MessageRing ring;
    private final int maxBodyBytes;

    public HttpApi(FhirStore store, TokenService tokens, AgentHub agents, AgentOperations ops, AsyncJobs jobs,
            MessageRing ring, int maxBodyBytes) {
        this.store = store;
        this.tokens = tokens;
        this.agents = agents;
        this.ops = ops;
        this.jobs = jobs;
        this.ring = ring;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** What the route code needs from a request, with its body already read. */
    record Call(String method, String path, Map<String, List<String>> query, byte[] body, String contentType,
            String authorization, String prefer, String accept, String baseUrl, String url) {
        JsonNode json() {
            if (body.length == 0) {
                throw HubException.badRequest("Missing request body");
            }
            try {
                return Json.MAPPER.readTree(body);
            } catch (Exception e) {
                String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
                throw HubException.badRequest("Request body is not valid JSON: " + msg);
            }
        }
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        CompletableFuture<Reply> reply;
        String method = request.getMethod();
        String path = "?";
        try {
            HttpURI uri = request.getHttpURI();
            path = uri.getDecodedPath();
            String base = uri.getScheme() + "://" + uri.getAuthority() + "/";
            String url = uri.asString();
            Map<String, List<String>> query = parseQuery(uri.getQuery());
            String ct = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
            String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
            String prefer = request.getHeaders().get("Prefer");
            String accept = request.getHeaders().get(HttpHeader.ACCEPT);
            String p = path;
            reply = readBody(request).thenCompose(body ->
                    route(new Call(method, p, query, body, ct, auth, prefer, accept, base, url)));
        } catch (Throwable t) {
            reply = CompletableFuture.failedFuture(t);
        }
        String logPath = path;
        reply.whenComplete((r, t) -> {
            Reply out = r;
            if (t != null) {
                HubException e = AgentOperations.toHubException(t);
                if (e.status() >= 500) {
                    LOG.warn("{} {} failed: {}", method, logPath, e.getMessage());
                }
                out = e instanceof ReplyException re ? re.reply : Reply.error(e);
            }
            write(response, callback, out);
        });
        return true;
    }

    private static void write(Response response, Callback callback, Reply r) {
        try {
            response.setStatus(r.status());
            if (r.contentType() != null) {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, r.contentType());
            }
            r.headers().forEach((k, v) -> response.getHeaders().put(k, v));
            response.write(true, ByteBuffer.wrap(r.body()), callback);
        } catch (Throwable t) {
            callback.failed(t);
        }
    }

    private CompletableFuture<byte[]> readBody(Request request) {
        long declared = request.getLength();
        if (declared > maxBodyBytes) {
            return CompletableFuture.failedFuture(new HubException(413, "too-costly",
                    "Request body too large: " + declared + " bytes (limit " + maxBodyBytes + ")"));
        }
        if (declared == 0 || HttpMethodsWithoutBody.is(request.getMethod())) {
            return CompletableFuture.completedFuture(new byte[0]);
        }
        return Content.Source.asByteArrayAsync(request, maxBodyBytes).handle((b, t) -> {
            if (t != null) {
                throw new HubException(413, "too-costly", "Request body too large or unreadable (limit "
                        + maxBodyBytes + " bytes): " + t.getMessage());
            }
            return b;
        });
    }

    private static final class HttpMethodsWithoutBody {
        static boolean is(String m) {
            return "GET".equals(m) || "HEAD".equals(m) || "DELETE".equals(m) || "OPTIONS".equals(m);
        }
    }

    private CompletableFuture<Reply> route(Call c) {
        String path = c.path();
        if (path.equals("/hub/health")) {
            return done(Reply.text(200, "text/plain;charset=UTF-8", "ok"));
        }
        if (path.equals("/oauth2/token")) {
            return done(token(c));
        }
        if (path.startsWith("/hub/")) {
            authenticate(c);
            return done(hubHelpers(c));
        }
        if (path.startsWith(FHIR_PREFIX)) {
            authenticate(c);
            return fhir(c, path.substring(FHIR_PREFIX.length()));
        }
        throw new HubException(404, "not-found", "Not found: " + path);
    }

    private static CompletableFuture<Reply> done(Reply r) {
        return CompletableFuture.completedFuture(r);
    }

    private void authenticate(Call c) {
        String auth = c.authorization();
        String reason;
        if (auth == null) {
            reason = "missing Authorization header";
        } else if (!auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            reason = "Authorization header is not a Bearer token";
        } else {
            TokenService.Validation v = tokens.validate(auth.substring(7).trim());
            if (v.valid()) {
                return;
            }
            reason = v.reason();
        }
        LOG.debug("401 for {} {}: {}", c.method(), c.path(), reason);
        ObjectNode oo = Json.outcome("error", "login", "Unauthorized", "unauthorized");
        ((ObjectNode) oo.get("issue").get(0)).put("diagnostics", reason);
        throw new ReplyException(Reply.fhir(401, oo));
    }

    /** Carries a ready reply (e.g. the 401 body with diagnostics) through the exception path. */
    static final class ReplyException extends HubException {
        private static final long serialVersionUID = 1L;
        final transient Reply reply;

        ReplyException(Reply reply) {
            super(reply.status(), "login", "Unauthorized");
            this.reply = reply;
        }
    }

    private Reply token(Call c) {
        if (!"POST".equals(c.method())) {
            return oauthError(405, "invalid_request", "Use POST");
        }
        Map<String, List<String>> form = parseQuery(new String(c.body(), StandardCharsets.UTF_8));
        String grant = first(form, "grant_type");
        String clientId = first(form, "client_id");
        String secret = first(form, "client_secret");
        String auth = c.authorization();
        if (clientId == null && auth != null && auth.regionMatches(true, 0, "Basic ", 0, 6)) {
            try {
                String decoded = new String(Base64.getDecoder().decode(auth.substring(6).trim()),
                        StandardCharsets.UTF_8);
                int colon = decoded.indexOf(':');
                if (colon > 0) {
                    clientId = URLDecoder.decode(decoded.substring(0, colon), StandardCharsets.UTF_8);
                    secret = URLDecoder.decode(decoded.substring(colon + 1), StandardCharsets.UTF_8);
                }
            } catch (IllegalArgumentException e) {
                return oauthError(400, "invalid_request", "Malformed Basic authorization header");
            }
        }
        if (!"client_credentials".equals(grant)) {
            return oauthError(400, "unsupported_grant_type",
                    "Unsupported grant_type '" + grant + "': this hub supports client_credentials only");
        }
        String token = tokens.login(clientId, secret);
        if (token == null) {
            LOG.warn("Token request refused for client_id {}: unknown client or wrong secret", clientId);
            return oauthError(400, "invalid_client", "Invalid client_id or client_secret");
        }
        ObjectNode out = Json.object().put("token_type", "Bearer").put("access_token", token)
                .put("expires_in", tokens.lifetimeSeconds()).put("scope", "openid");
        out.putObject("project").put("reference", "Project/edge-hub");
        out.putObject("profile").put("reference", "ClientApplication/" + clientId);
        return Reply.json(200, out).withHeaders(Map.of("Cache-Control", "no-store"));
    }

    private static Reply oauthError(int status, String error, String description) {
        return Reply.json(status, Json.object().put("error", error).put("error_description", description));
    }

    private Reply hubHelpers(Call c) {
        switch (c.path()) {
            case "/hub/messages": {
                int limit = 100;
                String l = first(c.query(), "limit");
                if (l != null) {
                    try {
                        limit = Integer.parseInt(l);
                    } catch (NumberFormatException e) {
                        throw HubException.badRequest("limit must be an integer, got '" + l + "'");
                    }
                }
                if ("DELETE".equals(c.method())) {
                    ring.clear();
                    return Reply.fhir(200, Json.allOk());
                }
                return Reply.json(200, ring.toJson(Math.max(0, limit)));
            }
            case "/hub/agents": {
                ArrayNode arr = Json.array();
                agents.infos().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
                    ObjectNode o = arr.addObject().put("agentId", e.getKey())
                            .put("connected", agents.isConnected(e.getKey()))
                            .put("status", e.getValue().status()).put("version", e.getValue().version())
                            .put("connects", agents.connectCount(e.getKey()));
                    if (e.getValue().lastUpdated() != null) {
                        o.put("lastUpdated", e.getValue().lastUpdated());
                    }
                    String remote = agents.remoteOf(e.getKey());
                    if (remote != null) {
                        o.put("remoteAddress", remote);
                    }
                });
                return Reply.json(200, arr);
            }
            case "/hub/admin/silence":
                return silence(c);
            default:
                throw new HubException(404, "not-found", "Not found: " + c.path());
        }
    }

    /** Longest silence accepted: a day covers any test; beyond that a typo is more likely than intent. */
    private static final long MAX_SILENCE_SECONDS = 86_400;

    /** Test/ops control: make the hub play a hung server towards one agent socket (see README). */
    private Reply silence(Call c) {
        if (!"POST".equals(c.method())) {
            throw new HubException(405, "not-supported", "Use POST for /hub/admin/silence");
        }
        String agentId = first(c.query(), "agent");
        if (agentId == null || agentId.isEmpty()) {
            throw HubException.badRequest("Missing query parameter 'agent' (the Agent id to silence)");
        }
        String sec = first(c.query(), "seconds");
        long seconds;
        try {
            seconds = sec == null ? -1 : Long.parseLong(sec.trim());
        } catch (NumberFormatException e) {
            seconds = -1;
        }
        if (seconds < 0 || seconds > MAX_SILENCE_SECONDS) {
            throw HubException.badRequest("Query parameter 'seconds' must be an integer from 0 (end the silence) to "
                    + MAX_SILENCE_SECONDS + ", got '" + sec + "'");
        }
        ObjectNode out = Json.object().put("agentId", agentId).put("seconds", seconds);
        if (seconds == 0) {
            return Reply.json(200, out.put("ended", agents.endSilence(agentId)));
        }
        String remote = agents.silence(agentId, seconds);
        if (remote == null) {
            throw new HubException(404, "not-found", "Agent " + agentId + " has no open WebSocket on this hub");
        }
        return Reply.json(200, out.put("remoteAddress", remote));
    }

    private CompletableFuture<Reply> fhir(Call c, String rest) {
        List<String> seg = new ArrayList<>(List.of(rest.split("/")));
        seg.removeIf(String::isEmpty);
        String m = c.method();
        if (seg.isEmpty()) {
            throw new HubException(404, "not-found", "Not found: " + c.path());
        }
        if (seg.get(0).equals("job")) {
            if (seg.size() == 3 && seg.get(2).equals("status") && "GET".equals(m)) {
                ObjectNode job = jobs.get(seg.get(1));
                if (job == null) {
                    throw HubException.notFound();
                }
                boolean running = "accepted".equals(Json.text(job, "status"));
                return done(Reply.fhir(running ? 202 : 200, job));
            }
            throw HubException.notFound();
        }
        String type = seg.get(0);
        if (!FhirStore.isSupported(type)) {
            throw HubException.badRequest("Unsupported resource type: " + type
                    + " (this hub stores Agent, Endpoint, Device and Binary)");
        }
        if (seg.size() == 1) {
            if ("GET".equals(m)) {
                return done(search(c, type));
            }
            if ("POST".equals(m)) {
                return done(create(c, type, null));
            }
        } else if (seg.size() == 2 && seg.get(1).startsWith("$")) {
            return operation(c, type, null, seg.get(1));
        } else if (seg.size() == 2) {
            String id = seg.get(1);
            switch (m) {
                case "GET":
                    return done(read(c, type, id));
                case "PUT":
                    return done(create(c, type, id));
                case "DELETE":
                    store.delete(type, id);
                    return done(Reply.fhir(200, Json.allOk()));
                default:
                    break;
            }
        } else if (seg.size() == 3 && seg.get(2).startsWith("$")) {
            return operation(c, type, seg.get(1), seg.get(2));
        }
        throw new HubException(405, "not-supported", "Unsupported request: " + m + " " + c.path());
    }

    private Reply read(Call c, String type, String id) {
        if (FhirStore.BINARY.equals(type)) {
            FhirStore.BinaryContent b = store.readBinary(id);
            String accept = c.accept() == null ? "" : c.accept().toLowerCase(Locale.ROOT);
            if (accept.contains("application/fhir+json") || accept.contains("application/json")) {
                return Reply.fhir(200, b.toResource());
            }
            return new Reply(200, b.contentType(), b.data(), Map.of());
        }
        return Reply.fhir(200, store.read(type, id));
    }

    private Reply create(Call c, String type, String id) {
        boolean existed = id != null && store.exists(type, id);
        ObjectNode stored;
        if (FhirStore.BINARY.equals(type)) {
            stored = putBinary(c, id).toResource();
        } else {
            stored = store.put(type, id, c.json());
        }
        String location = c.baseUrl() + "fhir/R4/" + type + "/" + Json.text(stored, "id");
        int status = existed ? 200 : 201;
        return Reply.fhir(status, stored).withHeaders(Map.of("Location", location));
    }

    private FhirStore.BinaryContent putBinary(Call c, String id) {
        String ct = c.contentType() == null ? "application/octet-stream" : c.contentType();
        if (ct.toLowerCase(Locale.ROOT).startsWith("application/fhir+json")) {
            JsonNode res = c.json();
            if ("Binary".equals(Json.text(res, "resourceType"))) {
                byte[] data;
                try {
                    String d = Json.text(res, "data");
                    data = d == null ? new byte[0] : Base64.getDecoder().decode(d);
                } catch (IllegalArgumentException e) {
                    throw HubException.badRequest("Binary.data is not valid base64");
                }
                return store.putBinary(id, Json.text(res, "contentType"), data);
            }
        }
        return store.putBinary(id, ct, c.body());
    }

    private Reply search(Call c, String type) {
        List<ObjectNode> found = store.search(type, c.query());
        int count = 20;
        String cs = first(c.query(), "_count");
        if (cs != null) {
            try {
                count = Math.max(0, Math.min(1000, Integer.parseInt(cs)));
            } catch (NumberFormatException e) {
                throw HubException.badRequest("_count must be an integer, got '" + cs + "'");
            }
        }
        ObjectNode bundle = Json.object().put("resourceType", "Bundle").put("type", "searchset")
                .put("timestamp", Json.now()).put("total", found.size());
        ArrayNode entries = bundle.putArray("entry");
        for (ObjectNode r : found.subList(0, Math.min(count, found.size()))) {
            ObjectNode e = entries.addObject();
            e.put("fullUrl", c.baseUrl() + "fhir/R4/" + type + "/" + Json.text(r, "id"));
            e.set("resource", r);
            e.putObject("search").put("mode", "match");
        }
        bundle.putArray("link").addObject().put("relation", "self").put("url", c.url());
        return Reply.fhir(200, bundle);
    }

    private CompletableFuture<Reply> operation(Call c, String type, String id, String op) {
        if (!"Agent".equals(type)) {
            throw new HubException(404, "not-found", "Unsupported operation: " + type + "/" + op);
        }
        boolean get = "GET".equals(c.method());
        boolean post = "POST".equals(c.method());
        switch (op) {
            case "$push":
                if (!post) {
                    break;
                }
                // An empty body still goes through the agent checks first, then fails "Missing body parameter".
                JsonNode body = c.body().length == 0 ? Json.object() : c.json();
                return ops.push(id, c.query(), body, c.prefer(), c.url(), c.baseUrl());
            case "$reload-config":
                if (get || post) {
                    requireInstanceOrIdentifier(id, c, op);
                    return ops.reloadConfig(id, c.query());
                }
                break;
            case "$status":
                if (get || post) {
                    return done(ops.status(id, c.query()));
                }
                break;
            case "$stats":
                if (get || post) {
                    requireInstanceOrIdentifier(id, c, op);
                    return ops.stats(id, c.query());
                }
                break;
            case "$fetch-logs":
                if (get || post) {
                    requireInstanceOrIdentifier(id, c, op);
                    return ops.fetchLogs(id, c.query());
                }
                break;
            default:
                throw new HubException(404, "not-found", "Unsupported operation: Agent/" + op
                        + " (this hub implements $push, $reload-config, $status, $stats, $fetch-logs)");
        }
        throw new HubException(405, "not-supported", "Unsupported method " + c.method() + " for Agent " + op);
    }

    private static void requireInstanceOrIdentifier(String id, Call c, String op) {
        if (id == null && first(c.query(), "identifier") == null && !c.query().isEmpty()) {
            throw HubException.badRequest("Bulk " + op + " is not supported by this hub; use Agent/{id}/" + op
                    + " or Agent/" + op + "?identifier=system|value");
        }
    }

    static String first(Map<String, List<String>> map, String key) {
        List<String> v = map.get(key);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** Parses {@code a=1&b=2} (query strings and form bodies) keeping order and repeats. */
    static Map<String, List<String>> parseQuery(String q) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (q == null || q.isEmpty()) {
            return out;
        }
        for (String pair : q.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            try {
                k = URLDecoder.decode(k, StandardCharsets.UTF_8);
                v = URLDecoder.decode(v, StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw HubException.badRequest("Malformed percent-encoding in '" + pair + "'");
            }
            out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return out;
    }
}
