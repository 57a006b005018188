package dev.edgeagent.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.message.MessageTypes;
import dev.edgeagent.api.transport.LinkState;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** wss with a custom trust store; certificate host-name verification must stay on. */
class TlsTest {
    private static final String PW = "changeit";

    /** A self-signed PKCS12 key store made by the JDK's keytool, with the given subjectAltName. */
    private static Path keyStore(Path dir, String name, String san) throws Exception {
        Path ks = dir.resolve(name + ".p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=test", "-ext", "SAN=" + san, "-validity", "2", "-storetype", "PKCS12",
                "-keystore", ks.toString(), "-storepass", PW, "-keypass", PW)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return ks;
    }

    private static SslContext serverTls(Path ks) throws Exception {
        KeyStore store = KeyStore.getInstance(ks.toFile(), PW.toCharArray());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, PW.toCharArray());
        return SslContextBuilder.forServer(kmf).build();
    }

    private static Map<String, Object> config(FakeMedplumServer server, Path trustStore) {
        Map<String, Object> c = new HashMap<>();
        c.put("baseUrl", server.baseUrl());
        c.put("clientId", "c");
        c.put("clientSecret", "s");
        c.put("agentId", "a");
        c.put("trustStore", trustStore.toString());
        c.put("trustStorePassword", PW);
        c.put("heartbeatSeconds", "60");
        c.put("reconnectMinDelayMs", "50");
        c.put("reconnectMaxDelayMs", "100");
        c.put("loginRetrySeconds", "0.1");
        return c;
    }

    @Test
    void webSocketTlsVerifiesTheHostName() throws Exception {
        javax.net.ssl.SSLEngine engine = WebSocketTransport.clientTls(null)
                .newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT, "api.example.org", 443);
        assertEquals("HTTPS", engine.getSSLParameters().getEndpointIdentificationAlgorithm());
        assertTrue(engine.getUseClientMode());
    }

    @Test
    void connectsOverWssWhenTheCertificateMatchesTheHost(@TempDir Path dir) throws Exception {
        Path ks = keyStore(dir, "good", "ip:127.0.0.1");
        try (FakeMedplumServer server = new FakeMedplumServer("c", "s", serverTls(ks))) {
            WebSocketTransport t = new WebSocketTransport(config(server, ks), List.of());
            try {
                assertNotNull(server.next(MessageTypes.CONNECT_REQUEST, 5000));
                long end = System.currentTimeMillis() + 5000;
                while (t.state() != LinkState.LIVE && System.currentTimeMillis() < end) {
                    Thread.sleep(10);
                }
                assertEquals(LinkState.LIVE, t.state());
                assertTrue(t.status().serverUrl().startsWith("wss://127.0.0.1:"));
            } finally {
                t.close();
            }
        }
    }

    @Test
    void refusesACertificateForAnotherHost(@TempDir Path dir) throws Exception {
        Path ks = keyStore(dir, "other", "dns:other.example");
        try (FakeMedplumServer server = new FakeMedplumServer("c", "s", serverTls(ks))) {
            WebSocketTransport t = new WebSocketTransport(config(server, ks), List.of());
            try {
                long end = System.currentTimeMillis() + 5000;
                while (t.status().lastError() == null && System.currentTimeMillis() < end) {
                    Thread.sleep(10);
                }
                // The token call is refused by the same verification, so nothing ever connects.
                String err = t.status().lastError();
                assertNotNull(err);
                assertTrue(err.startsWith("Failed to login: ") && err.contains("SSLHandshakeException"), err);
                assertEquals(0, server.tokenRequests.get());
                assertEquals(0, server.connections.get());
                assertEquals(LinkState.AUTHENTICATING, t.state());
            } finally {
                t.close();
            }
        }
    }
}
