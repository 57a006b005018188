package dev.edgeagent.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.core.internal.Fakes.MapConfigStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapTest {
    @TempDir
    Path home;
    private CoreRuntime rt;

    @BeforeEach
    void clearLogs() {
        LogCapture.clear();
    }

    @AfterEach
    void close() {
        if (rt != null) rt.close();
    }

    private CoreRuntime runtime(ConfigStore store) {
        rt = new CoreRuntime(store, home, new CoreRuntime.Timing(Duration.ofSeconds(300), Duration.ofMillis(50),
                Duration.ofMillis(50)), System::nanoTime);
        return rt;
    }

    @Test
    void missingKeyIsOneErrorLineNamingTheKey() {
        CoreRuntime r = runtime(null);
        Map<String, Object> props = RuntimeFixture.bootstrap();
        props.remove("clientSecret");
        r.configure(props);
        String expected = "Agent configuration incomplete: Configuration key 'clientSecret' is missing (etc/dev.edgeagent.cfg)";
        assertEquals(List.of(expected), LogCapture.at("ERROR").stream().map(LogCapture.Event::message).toList());
        assertEquals(expected, r.status().configError());
        assertNull(r.status().agentId());

        r.configure(props); // redelivered unchanged: no second line
        assertEquals(1, LogCapture.at("ERROR").size());

        r.configure(RuntimeFixture.bootstrap());
        assertNull(r.status().configError());
        assertEquals("agent-1", r.status().agentId());
        assertEquals("http://127.0.0.1:8103/", r.status().server());
    }

    @Test
    void invalidValueNamesTheKey() {
        CoreRuntime r = runtime(null);
        Map<String, Object> props = RuntimeFixture.bootstrap();
        props.put("logLevel", "CHATTY");
        r.configure(props);
        assertContains(r.status().configError(), "Agent configuration invalid: Configuration key 'logLevel' must be one of");
        assertEquals(1, LogCapture.at("ERROR").size());
    }

    @Test
    void reloadWithoutBootstrapExplainsWhy() {
        CoreRuntime r = runtime(null);
        r.configure(Map.of());
        Exception e = assertThrows(Exception.class, r::reloadConfig);
        assertContains(e.getMessage(), "Configuration key 'baseUrl' is missing");
    }

    @Test
    void agentPropertiesIsMigratedIntoConfigAdmin() throws Exception {
        Files.writeString(home.resolve("agent.properties"), String.join("\n", "baseUrl=https://api.example.com/",
                "clientId=legacy-client", "clientSecret=s3cr=t", "agentId=legacy-agent", "logLevel=DEBUG",
                "logger.main.logDir=/var/log", ""));
        MapConfigStore store = new MapConfigStore();
        CoreRuntime r = runtime(store);
        r.configure(Map.of("component.name", "x"));

        Hashtable<String, Object> migrated = store.configs.get(BootstrapConfig.PID);
        assertNotNull(migrated);
        assertEquals("https://api.example.com/", migrated.get("baseUrl"));
        assertEquals("s3cr=t", migrated.get("clientSecret"));
        assertEquals("legacy-agent", migrated.get("agentId"));
        assertEquals("DEBUG", migrated.get("logLevel"));
        assertFalse(migrated.containsKey("logger.main.logDir"));
        assertEquals("legacy-agent", r.status().agentId());
        assertNull(r.status().configError());
        assertTrue(LogCapture.at("ERROR").isEmpty());
        assertEquals(1, LogCapture.containing("INFO", "Migrated agent configuration from " + home.resolve("agent.properties")).size());

        // The configuration now has the keys: no second migration.
        r.configure(migrated);
        assertEquals(1, store.updates.stream().filter(BootstrapConfig.PID::equals).count());
    }

    @Test
    void noMigrationWhenThePidHasAnyRequiredKey() throws Exception {
        Files.writeString(home.resolve("agent.properties"), "baseUrl=https://a/\nclientId=c\nclientSecret=s\nagentId=a\n");
        MapConfigStore store = new MapConfigStore();
        CoreRuntime r = runtime(store);
        r.configure(Map.of("agentId", "from-cfg"));
        assertNull(store.configs.get(BootstrapConfig.PID));
        assertContains(r.status().configError(), "'baseUrl' is missing");
    }

    @Test
    void logLevelIsMergedIntoPaxLogging() {
        MapConfigStore store = new MapConfigStore();
        Hashtable<String, Object> logging = new Hashtable<>();
        logging.put("log4j2.rootLogger.level", "INFO");
        store.configs.put(BootstrapManager.LOGGING_PID, logging);
        CoreRuntime r = runtime(store);
        Map<String, Object> props = RuntimeFixture.bootstrap();
        props.put("logLevel", "NONE");
        r.configure(props);

        Hashtable<String, Object> after = store.configs.get(BootstrapManager.LOGGING_PID);
        assertEquals("INFO", after.get("log4j2.rootLogger.level"));
        assertEquals("dev.edgeagent", after.get("log4j2.logger.edgeagent.name"));
        assertEquals("OFF", after.get("log4j2.logger.edgeagent.level"));
        assertEquals(1, store.updates.size());

        r.configure(props); // unchanged level: no write
        assertEquals(1, store.updates.size());
        props.put("logLevel", "debug");
        r.configure(props);
        assertEquals("DEBUG", store.configs.get(BootstrapManager.LOGGING_PID).get("log4j2.logger.edgeagent.level"));
        assertEquals(2, store.updates.size());
    }

    @Test
    void logLevelSkippedWithoutPaxLoggingConfig() {
        MapConfigStore store = new MapConfigStore();
        runtime(store).configure(RuntimeFixture.bootstrap());
        assertTrue(store.updates.isEmpty());
        assertTrue(LogCapture.at("WARN").isEmpty());
    }

    private static void assertContains(String haystack, String needle) {
        RuntimeFixture.assertContains(haystack, needle);
    }
}
