package dev.edgeagent.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.api.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapConfigTest {

    @Test
    void validConfigNormalisesBaseUrl() throws Exception {
        BootstrapConfig c = BootstrapConfig.parse(Map.of("baseUrl", "https://api.example.com/base", "clientId", "c",
                "clientSecret", "s", "agentId", "a"));
        assertEquals("https://api.example.com/base/", c.baseUrl());
        assertEquals("wss://api.example.com/ws/agent", c.webSocketUrl());
        assertEquals("INFO", c.logLevel());
    }

    @Test
    void plainHttpGivesWs() throws Exception {
        BootstrapConfig c = BootstrapConfig.parse(Map.of("baseUrl", "http://127.0.0.1:8103/", "clientId", "c",
                "clientSecret", "s", "agentId", "a", "logLevel", "debug"));
        assertEquals("ws://127.0.0.1:8103/ws/agent", c.webSocketUrl());
        assertEquals("DEBUG", c.logLevel());
    }

    @Test
    void missingKeyIsNamed() {
        ConfigException e = assertThrows(ConfigException.class, () -> BootstrapConfig.parse(
                Map.of("baseUrl", "http://h/", "clientId", "c", "agentId", "a")));
        assertEquals("clientSecret", e.key());
        assertTrue(e.getMessage().contains("'clientSecret' is missing"), e.getMessage());
    }

    @Test
    void badUrlAndLevelAreNamed() {
        assertEquals("baseUrl", assertThrows(ConfigException.class, () -> BootstrapConfig.parse(
                Map.of("baseUrl", "ftp://h/", "clientId", "c", "clientSecret", "s", "agentId", "a"))).key());
        assertEquals("logLevel", assertThrows(ConfigException.class, () -> BootstrapConfig.parse(
                Map.of("baseUrl", "http://h/", "clientId", "c", "clientSecret", "s", "agentId", "a", "logLevel", "LOUD"))).key());
    }

    @Test
    void readsMedplumAgentProperties(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("agent.properties");
        Files.writeString(f, "baseUrl = http://localhost:8103/\r\nclientId=abc\nclientSecret=x=y\n# comment\nagentId=a1\n");
        Map<String, String> m = BootstrapConfig.readAgentProperties(f);
        assertEquals("http://localhost:8103/", m.get("baseUrl"));
        assertEquals("x=y", m.get("clientSecret"));
        assertEquals("a1", BootstrapConfig.parse(m).agentId());
    }
}
