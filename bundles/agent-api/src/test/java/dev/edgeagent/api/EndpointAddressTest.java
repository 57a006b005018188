package dev.edgeagent.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.EndpointAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointAddressTest {

    @Test
    void parsesHl7AddressWithParams() {
        EndpointAddress a = EndpointAddress.parse("mllp://0.0.0.0:2575?encoding=latin1&enhanced=true&startChar=%02");
        assertEquals("mllp", a.scheme());
        assertEquals("0.0.0.0", a.host());
        assertEquals(2575, a.requirePort());
        assertEquals("latin1", a.param("encoding"));
        assertEquals("true", a.param("enhanced"));
        assertEquals("\u0002", a.param("startChar"));
    }

    @Test
    void rejectsEmptyAndBadPorts() {
        assertThrows(IllegalArgumentException.class, () -> EndpointAddress.parse(" "));
        assertThrows(IllegalArgumentException.class, () -> EndpointAddress.parse("mllp://host:abc"));
        assertThrows(IllegalArgumentException.class, () -> EndpointAddress.parse("mllp://host:70000").requirePort());
        assertThrows(IllegalArgumentException.class, () -> EndpointAddress.parse("mllp://host").requirePort());
        assertThrows(IllegalArgumentException.class, () -> EndpointAddress.parse("nourl"));
    }

    @Test
    void ipv6Host() {
        EndpointAddress a = EndpointAddress.parse("mllp://[::1]:2575");
        assertEquals("::1", a.host());
        assertEquals(2575, a.port());
    }

    @Test
    void settingsFromFhir() {
        AgentSettings s = AgentSettings.fromFhir(List.of(
                Map.of("name", "keepAlive", "valueBoolean", true),
                Map.of("name", "maxClientsPerRemote", "valueInteger", 25),
                Map.of("name", "logStatsFreqSecs", "valueInteger", -3)));
        assertTrue(s.getBoolean("keepAlive", false));
        assertEquals(25, s.getNonNegativeInt("maxClientsPerRemote", 5));
        assertEquals(-1, s.getNonNegativeInt("logStatsFreqSecs", -1), "negative values fall back to the default");
        assertEquals(7, s.getNonNegativeInt("missing", 7));
    }
}
