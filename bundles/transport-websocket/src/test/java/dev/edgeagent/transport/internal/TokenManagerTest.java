package dev.edgeagent.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.config.BootstrapConfig;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenManagerTest {
    private static final long NOW = 1_800_000_000_000L;

    private final TokenManager tm;

    TokenManagerTest() throws Exception {
        BootstrapConfig cfg = BootstrapConfig.parse(Map.of("baseUrl", "https://example.invalid", "clientId", "cid",
                "clientSecret", "s", "agentId", "a"));
        tm = new TokenManager(HttpClient.newHttpClient(), cfg, Duration.ofSeconds(1), () -> NOW);
    }

    private static String jwt(String payload) {
        Base64.Encoder e = Base64.getUrlEncoder().withoutPadding();
        return e.encodeToString("{}".getBytes(StandardCharsets.UTF_8)) + "."
                + e.encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + ".sig";
    }

    @Test
    void refreshesFiveMinutesBeforeExpiryOrAtHalfLife() {
        assertEquals(55 * 60_000, TokenManager.refreshDelay(new TokenManager.Token("t", 0, 3600_000, 1)));
        assertEquals(4 * 60_000, TokenManager.refreshDelay(new TokenManager.Token("t", 0, 8 * 60_000, 1)));
        assertEquals(1000, TokenManager.refreshDelay(new TokenManager.Token("t", 0, 2000, 1)));
    }

    @Test
    void usesTheEarlierOfExpiresInAndTheJwtExpClaim() throws Exception {
        String token = jwt("{\"client_id\":\"cid\",\"exp\":" + (NOW / 1000 + 120) + "}");
        TokenManager.Token t = tm.parse(200, "{\"access_token\":\"" + token + "\",\"expires_in\":3600}");
        assertEquals(NOW + 120_000, t.expiresAtMs());
        t = tm.parse(200, "{\"access_token\":\"opaque\",\"expires_in\":60}");
        assertEquals(NOW + 60_000, t.expiresAtMs());
        t = tm.parse(200, "{\"access_token\":\"opaque\"}");
        assertEquals(NOW + TokenManager.DEFAULT_LIFETIME_MS, t.expiresAtMs());
        assertNull(TokenManager.jwtClaims("a.%%%.c"));
    }

    @Test
    void rejectsUnusableTokensWithAReadableReason() {
        String expired = jwt("{\"client_id\":\"cid\",\"exp\":" + (NOW / 1000 - 1) + "}");
        assertTrue(assertThrows(TokenManager.LoginException.class,
                () -> tm.parse(200, "{\"access_token\":\"" + expired + "\"}")).getMessage().contains("already expired"));
        String other = jwt("{\"client_id\":\"someone-else\",\"exp\":" + (NOW / 1000 + 100) + "}");
        assertEquals("token was issued for client_id 'someone-else', not the configured clientId 'cid'",
                assertThrows(TokenManager.LoginException.class,
                        () -> tm.parse(200, "{\"access_token\":\"" + other + "\"}")).getMessage());
        assertEquals("POST https://example.invalid/oauth2/token returned HTTP 401: Invalid client",
                assertThrows(TokenManager.LoginException.class,
                        () -> tm.parse(401, "{\"error\":\"invalid_client\",\"error_description\":\"Invalid client\"}")).getMessage());
        assertEquals("POST https://example.invalid/oauth2/token returned HTTP 502: <html> Bad gateway </html>",
                assertThrows(TokenManager.LoginException.class, () -> tm.parse(502, "<html>\n Bad gateway\n</html>")).getMessage());
        assertTrue(assertThrows(TokenManager.LoginException.class, () -> tm.parse(200, "{}")).getMessage()
                .endsWith("returned no access_token"));
    }
}
