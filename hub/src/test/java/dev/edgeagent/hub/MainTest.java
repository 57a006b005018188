package dev.edgeagent.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MainTest {
    @Test
    void parsesOptions() {
        HubOptions o = Main.parse(new String[] {"--host", "0.0.0.0", "--port=0", "--seed", "s.json",
            "--token-lifetime", "60", "--heartbeat-ms", "500"});
        assertEquals("0.0.0.0", o.host());
        assertEquals(0, o.port());
        assertEquals(Path.of("s.json"), o.seedFile());
        assertEquals(60, o.tokenLifetimeSeconds());
        assertEquals(500, o.heartbeatMs());
        HubOptions d = Main.parse(new String[0]);
        assertEquals("127.0.0.1", d.host());
        assertEquals(8103, d.port());
        assertNull(Main.parse(new String[] {"--help"}));
    }

    @Test
    void rejectsBadOptions() {
        assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--port", "abc"}));
        assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--bogus", "1"}));
        assertThrows(IllegalArgumentException.class, () -> Main.parse(new String[] {"--port"}));
    }

    @Test
    void builtInSeedStartsAndInvalidSeedIsReported() throws Exception {
        try (Hub hub = Hub.start(HubOptions.defaults().port(0))) {
            var r = TestSupport.post(hub, "oauth2/token", null, "application/x-www-form-urlencoded",
                    "grant_type=client_credentials&client_id=edge-agent&client_secret=edge-secret");
            assertEquals(200, r.statusCode(), r.body());
            String t = TestSupport.json(r).path("access_token").asText();
            assertEquals(401, TestSupport.get(hub, "fhir/R4/Agent/sample-agent", null).statusCode());
            assertEquals(200, TestSupport.get(hub, "fhir/R4/Agent/sample-agent", t).statusCode());
            assertEquals("mllp://127.0.0.1:2576",
                    TestSupport.json(TestSupport.get(hub, "fhir/R4/Device/sample-device", t)).path("url").asText());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Hub.start(HubOptions.defaults().port(0).seedJson("{\"clients\":[{\"clientId\":\"x\"}]}")));
        assertEquals("Seed (inline): clients[0] needs both clientId and clientSecret", e.getMessage());
    }
}
