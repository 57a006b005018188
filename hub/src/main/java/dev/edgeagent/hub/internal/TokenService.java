package dev.edgeagent.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * OAuth2 client-credentials logins and HS256 JWT access tokens signed with a random per-process key,
 * so tokens never survive a hub restart.
 */
public final class TokenService {
    /** Result of a token check: null reason means valid. */
    public record Validation(String clientId, String reason) {
        public boolean valid() {
            return reason == null;
        }
    }

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final String HEADER = B64.encodeToString(
            "{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
    private static final int CACHE_LIMIT = 10_000;

    private final Map<String, String> clients;
    private final long lifetimeSeconds;
    private final byte[] key = new byte[32];
    private final ThreadLocal<Mac> macs;
    // Every agent frame carries the token; caching the verified expiry keeps HMAC+JSON off the hot path.
    private final ConcurrentHashMap<String, Verified> verified = new ConcurrentHashMap<>();

    private record Verified(Validation validation, long exp) {
    }

    public TokenService(Map<String, String> clients, long lifetimeSeconds) {
        this.clients = Map.copyOf(clients);
        this.lifetimeSeconds = lifetimeSeconds;
        new SecureRandom().nextBytes(key);
        this.macs = ThreadLocal.withInitial(() -> {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(key, "HmacSHA256"));
                return mac;
            } catch (Exception e) {
                throw new IllegalStateException("HmacSHA256 unavailable", e);
            }
        });
    }

    public long lifetimeSeconds() {
        return lifetimeSeconds;
    }

    /** Returns the signed token, or null when the client id/secret pair is unknown. */
    public String login(String clientId, String clientSecret) {
        String expected = clientId == null ? null : clients.get(clientId);
        if (expected == null || clientSecret == null
                || !MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                        clientSecret.getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        long now = System.currentTimeMillis() / 1000;
        ObjectNode claims = Json.object()
                .put("client_id", clientId)
                .put("login", UUID.randomUUID().toString())
                .put("iat", now)
                .put("exp", now + lifetimeSeconds);
        String payload = B64.encodeToString(Json.write(claims).getBytes(StandardCharsets.UTF_8));
        String signingInput = HEADER + "." + payload;
        return signingInput + "." + B64.encodeToString(sign(signingInput));
    }

    public Validation validate(String token) {
        if (token == null || token.isEmpty()) {
            return new Validation(null, "Missing access token");
        }
        long nowSec = System.currentTimeMillis() / 1000;
        Verified cached = verified.get(token);
        if (cached != null) {
            if (cached.exp() > nowSec) {
                return cached.validation();
            }
            verified.remove(token);
            return new Validation(cached.validation().clientId(), "Token expired");
        }
        int dot1 = token.indexOf('.');
        int dot2 = token.lastIndexOf('.');
        if (dot1 <= 0 || dot2 <= dot1) {
            return new Validation(null, "Malformed token");
        }
        byte[] sig;
        try {
            sig = B64D.decode(token.substring(dot2 + 1));
        } catch (IllegalArgumentException e) {
            return new Validation(null, "Malformed token signature");
        }
        if (!MessageDigest.isEqual(sig, sign(token.substring(0, dot2)))) {
            return new Validation(null, "Bad token signature (issued by another hub process?)");
        }
        JsonNode claims;
        try {
            claims = Json.MAPPER.readTree(B64D.decode(token.substring(dot1 + 1, dot2)));
        } catch (Exception e) {
            return new Validation(null, "Malformed token claims");
        }
        String clientId = Json.text(claims, "client_id");
        long exp = claims.path("exp").asLong(0);
        if (exp <= nowSec) {
            return new Validation(clientId, "Token expired");
        }
        Validation ok = new Validation(clientId, null);
        if (verified.size() >= CACHE_LIMIT) {
            // Crude but bounded: tokens are re-verified after a clear, which is cheap.
            verified.clear();
        }
        verified.put(token, new Verified(ok, exp));
        return ok;
    }

    private byte[] sign(String input) {
        return macs.get().doFinal(input.getBytes(StandardCharsets.US_ASCII));
    }
}
