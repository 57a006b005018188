package dev.edgeagent.transport.internal;

import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageFormatException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * OAuth2 client-credentials login (spec §1.4). Logins are single-flight: concurrent callers (the link and
 * REST calls) share one token request. Thread-safe.
 */
final class TokenManager {
    /** Refresh this long before expiry... */
    static final long REFRESH_GRACE_MS = 5 * 60_000;
    /** ...unless the token lives less than this, then refresh at half-life. */
    static final long SHORT_LIFETIME_MS = 10 * 60_000;
    /** The server's default lifetime, assumed when the response tells nothing. */
    static final long DEFAULT_LIFETIME_MS = 3600_000;

    /** An access token and when it stops being valid. */
    record Token(String value, long obtainedAtMs, long expiresAtMs, long generation) {
        boolean expired(long nowMs) {
            return nowMs >= expiresAtMs;
        }
    }

    /** A login that did not yield a usable token; the message is operator-readable. */
    static final class LoginException extends Exception {
        private static final long serialVersionUID = 1L;

        LoginException(String message) {
            super(message);
        }

        LoginException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final HttpClient http;
    private final BootstrapConfig config;
    private final URI tokenUri;
    private final Duration timeout;
    private final LongSupplier clock;
    /** Shared by all instances so a token from a previous configuration never looks current. */
    private static final AtomicLong GENERATIONS = new AtomicLong();
    private volatile Token current;
    private CompletableFuture<Token> inFlight;

    TokenManager(HttpClient http, BootstrapConfig config, Duration timeout, LongSupplier clock) {
        this.http = http;
        this.config = config;
        this.tokenUri = URI.create(config.baseUrl() + "oauth2/token");
        this.timeout = timeout;
        this.clock = clock;
    }

    /** The last token obtained (possibly expired), or null before the first successful login. */
    Token current() {
        return current;
    }

    /** Forgets {@code t} (the server refused it), so the next connect logs in again. */
    synchronized void invalidate(Token t) {
        if (t != null && current == t) {
            current = null;
        }
    }

    /** A usable token: the current one when not about to expire, otherwise the result of a new login. */
    CompletableFuture<Token> valid() {
        Token t = current;
        if (t != null && clock.getAsLong() < t.obtainedAtMs() + refreshDelay(t)) {
            return CompletableFuture.completedFuture(t);
        }
        return login();
    }

    /** Starts a login, or joins the one in progress. Fails with {@link LoginException}. */
    synchronized CompletableFuture<Token> login() {
        if (inFlight != null) {
            return inFlight;
        }
        String form = "grant_type=client_credentials&client_id=" + enc(config.clientId())
                + "&client_secret=" + enc(config.clientSecret());
        HttpRequest req = HttpRequest.newBuilder(tokenUri)
                .timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build();
        CompletableFuture<Token> f;
        try {
            f = http.sendAsync(req, HttpResponse.BodyHandlers.ofString())
                    .thenApply(r -> {
                        try {
                            return parse(r.statusCode(), r.body());
                        } catch (LoginException e) {
                            throw new CompletionException(e);
                        }
                    });
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        CompletableFuture<Token> result = f.handle((tok, err) -> {
            synchronized (this) {
                inFlight = null;
            }
            if (err != null) {
                throw new CompletionException(asLoginException(err));
            }
            current = tok;
            return tok;
        });
        // handle() may already have run (failed synchronously); only remember a login that is still pending.
        if (!result.isDone()) {
            inFlight = result;
        }
        return result;
    }

    /** Milliseconds after {@code obtainedAt} when the token should be refreshed. */
    static long refreshDelay(Token t) {
        long lifetime = t.expiresAtMs() - t.obtainedAtMs();
        long delay = lifetime < SHORT_LIFETIME_MS ? lifetime / 2 : lifetime - REFRESH_GRACE_MS;
        return Math.max(delay, 0);
    }

    Token parse(int status, String body) throws LoginException {
        if (status != 200) {
            throw new LoginException("POST " + tokenUri + " returned HTTP " + status + ": " + describeError(body));
        }
        Map<String, Object> json;
        try {
            json = MessageCodec.parseObject(body);
        } catch (MessageFormatException e) {
            throw new LoginException("POST " + tokenUri + " returned an unreadable token response: " + e.getMessage());
        }
        Object access = json.get("access_token");
        if (!(access instanceof String) || ((String) access).isBlank()) {
            throw new LoginException("POST " + tokenUri + " returned no access_token");
        }
        String token = (String) access;
        long now = clock.getAsLong();
        long expiresAt = -1;
        Object expiresIn = json.get("expires_in");
        if (expiresIn instanceof Number) {
            expiresAt = now + Math.round(((Number) expiresIn).doubleValue() * 1000);
        }
        Map<String, Object> claims = jwtClaims(token);
        if (claims != null) {
            Object exp = claims.get("exp");
            if (exp instanceof Number) {
                long jwtExpiry = Math.round(((Number) exp).doubleValue() * 1000);
                expiresAt = expiresAt < 0 ? jwtExpiry : Math.min(expiresAt, jwtExpiry);
            }
            Object cid = claims.get("client_id");
            if (cid != null && !config.clientId().equals(cid.toString())) {
                throw new LoginException("token was issued for client_id '" + cid + "', not the configured clientId '"
                        + config.clientId() + "'");
            }
        }
        if (expiresAt < 0) {
            expiresAt = now + DEFAULT_LIFETIME_MS;
        }
        if (expiresAt <= now) {
            throw new LoginException("the server issued an already expired token (check the clock of this machine)");
        }
        return new Token(token, now, expiresAt, GENERATIONS.incrementAndGet());
    }

    /** The claims of a JWT, or null when the token is opaque. */
    static Map<String, Object> jwtClaims(String token) {
        String[] parts = token.split("\\.");
        if (parts.length != 3) {
            return null;
        }
        try {
            byte[] payload = Base64.getUrlDecoder().decode(parts[1]);
            return MessageCodec.parseObject(new String(payload, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException | MessageFormatException e) {
            return null;
        }
    }

    /** OAuth2 error_description / error, else an excerpt of the body. */
    static String describeError(String body) {
        try {
            Map<String, Object> json = MessageCodec.parseObject(body);
            Object d = json.get("error_description");
            if (d == null) {
                d = json.get("error");
            }
            if (d != null) {
                return d.toString();
            }
        } catch (MessageFormatException | RuntimeException e) {
            // not JSON: fall through to the excerpt
        }
        return FhirRestClient.excerpt(body);
    }

    private LoginException asLoginException(Throwable err) {
        Throwable c = err;
        while ((c instanceof CompletionException || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof LoginException) {
            return (LoginException) c;
        }
        String what = c.getMessage() == null ? c.getClass().getSimpleName() : c.getClass().getSimpleName() + ": " + c.getMessage();
        return new LoginException("POST " + tokenUri + " failed: " + what, c);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
