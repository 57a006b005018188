package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.OutboundRequest;
import dev.edgeagent.api.message.ContentTypes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Hl7OutboundConnectorTest {
    private final Hl7OutboundConnector connector = new Hl7OutboundConnector(5_000, 5_000, 10_000);
    private final List<TestSupport.TestDevice> devices = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        connector.deactivate();
        for (TestSupport.TestDevice d : devices) d.close();
    }

    private TestSupport.TestDevice device(java.util.function.Function<String, List<String>> behaviour) throws Exception {
        TestSupport.TestDevice d = new TestSupport.TestDevice(StandardCharsets.UTF_8, behaviour);
        devices.add(d);
        return d;
    }

    private static List<String> acceptAll(String msg) {
        return List.of(TestSupport.ack("AA", Er7.messageControlId(msg)));
    }

    private static List<String> commitThenApp(String msg) {
        String id = Er7.messageControlId(msg);
        return List.of(TestSupport.ack("CA", id), TestSupport.ack("AA", id));
    }

    private DeviceReply push(String remote, String body, String returnAck) throws Exception {
        return connector.send(new OutboundRequest(remote, ContentTypes.HL7_V2, body, returnAck))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void successReturnsTheDevicesAnswer() throws Exception {
        TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::acceptAll);
        DeviceReply r = push(d.remote(null), TestSupport.ADT, null);
        assertEquals(new DeviceReply(200, ContentTypes.HL7_V2, TestSupport.ack("AA", "MSG00001")), r);
        assertEquals(List.of(TestSupport.ADT), d.received);
        assertEquals(1, connector.stats().get("hl7ClientCount"));
    }

    @Test
    void lfSeparatedBodyIsSentWithCrSeparators() throws Exception {
        TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::acceptAll);
        push(d.remote(null), TestSupport.ADT.replace("\r", "\r\n"), null);
        assertEquals(List.of(TestSupport.ADT.substring(0, TestSupport.ADT.length() - 1)), d.received);
    }

    @Test
    void returnAckApplicationSkipsTheCommitAck() throws Exception {
        TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::commitThenApp);
        assertEquals("AA", Er7.ackCode(push(d.remote(null), TestSupport.ADT, "application").body()));
        assertEquals("CA", Er7.ackCode(push(d.remote(null), TestSupport.adt("M2"), "first").body()));
        assertEquals("CA", Er7.ackCode(push(d.remote(null), TestSupport.adt("M3"), null).body()));
    }

    @Test
    void defaultReturnAckFromTheDeviceUrl() throws Exception {
        TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::commitThenApp);
        assertEquals("AA", Er7.ackCode(push(d.remote("defaultReturnAck=APPLICATION"), TestSupport.ADT, null).body()));
        assertEquals("CA", Er7.ackCode(push(d.remote("defaultReturnAck=FIRST"), TestSupport.ADT, null).body()));
        // invalid default: warning only, 'first'
        assertEquals("CA", Er7.ackCode(push(d.remote("defaultReturnAck=bogus"), TestSupport.ADT, null).body()));
        // the message's value wins over the default
        assertEquals("CA", Er7.ackCode(push(d.remote("defaultReturnAck=application"), TestSupport.ADT, "first").body()));
    }

    @Test
    void invalidReturnAckIsRejectedAndNothingSent() throws Exception {
        TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::acceptAll);
        DeviceReply r = push(d.remote(null), TestSupport.ADT, "invalid_value");
        assertEquals(new DeviceReply(400, ContentTypes.TEXT,
                "Invalid value for returnAck; expected: 'first' or 'application', received: invalid_value"), r);
        assertEquals(0, d.connections.get());
    }

    @Test
    void missingControlIdIsRejected() throws Exception {
        TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::acceptAll);
        DeviceReply r = push(d.remote(null), "MSH|^~\\&|A|B|C|D|2024||ADT^A01||P|2.5\rPID|1\r", null);
        assertEquals(new DeviceReply(400, ContentTypes.TEXT, "MSH.10 is missing but required"), r);
        assertEquals(0, d.connections.get());
    }

    @Test
    void nonHl7BodyFailsLikeMedplum() throws Exception {
        TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::acceptAll);
        ExecutionException e = assertThrows(ExecutionException.class, () -> connector.send(
                new OutboundRequest(d.remote(null), ContentTypes.HL7_V2, "hello", null)).toCompletableFuture().get(5, TimeUnit.SECONDS));
        assertEquals("WebSocket error on incoming message: Error: Invalid HL7 message", e.getCause().getMessage());
    }

    @Test
    void connectionRefusedIs400WithTheReason() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String remote = "mllp://127.0.0.1:" + port;
        DeviceReply r = push(remote, TestSupport.ADT, null);
        assertEquals(400, r.statusCode());
        assertEquals(ContentTypes.TEXT, r.contentType());
        assertTrue(r.body().startsWith("Unable to connect to " + remote + ": "), r.body());
        assertEquals(0, connector.stats().get("hl7ClientCount"));
    }

    @Test
    void silentDeviceTimesOutAndTheConnectionIsClosed() throws Exception {
        Hl7OutboundConnector quick = new Hl7OutboundConnector(5_000, 300, 10_000);
        try {
            TestSupport.TestDevice d = device(m -> List.of());
            long t0 = System.nanoTime();
            DeviceReply r = quick.send(new OutboundRequest(d.remote(null), ContentTypes.HL7_V2, TestSupport.ADT, null))
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) >= 250);
            assertEquals(new DeviceReply(400, ContentTypes.TEXT, "Timeout waiting for response from " + d.remote(null)), r);
            assertEquals(0, quick.stats().get("hl7ClientCount"));
            assertTrue(d.awaitEnded(1), "the device must see the connection closed");
        } finally {
            quick.deactivate();
        }
    }

    @Test
    void concurrentPushesShareOneKeepAliveConnection() throws Exception {
        connector.applySettings(new AgentSettings(Map.of("keepAlive", true))); // default limit 1
        // The device answers only once all three arrived, newest first: correlation must be by MSA-2.
        List<String> held = new ArrayList<>();
        TestSupport.TestDevice d = device(m -> {
            synchronized (held) {
                held.add(Er7.messageControlId(m));
                if (held.size() < 3) return List.of();
                List<String> out = new ArrayList<>();
                for (int i = held.size() - 1; i >= 0; i--) out.add(TestSupport.ack("AA", held.get(i)));
                return out;
            }
        });
        List<CompletableFuture<DeviceReply>> futures = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            futures.add(connector.send(new OutboundRequest(d.remote(null), ContentTypes.HL7_V2, TestSupport.adt("P" + i), null))
                    .toCompletableFuture());
        }
        for (int i = 1; i <= 3; i++) {
            DeviceReply r = futures.get(i - 1).get(10, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertEquals("P" + i, Er7.ackedControlId(r.body()));
        }
        assertEquals(1, d.connections.get());
        assertEquals(1, connector.stats().get("hl7ClientCount"));
    }

    @Test
    void limitBoundsConnectionsNotRequests() throws Exception {
        connector.applySettings(new AgentSettings(Map.of("maxClientsPerRemote", 3)));
        // A slow device keeps every connection busy while the five pushes are issued.
        TestSupport.TestDevice d = device(m -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return acceptAll(m);
        });
        List<CompletableFuture<DeviceReply>> futures = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            futures.add(connector.send(new OutboundRequest(d.remote(null), ContentTypes.HL7_V2, TestSupport.adt("Q" + i), null))
                    .toCompletableFuture());
        }
        for (CompletableFuture<DeviceReply> f : futures) assertEquals(200, f.get(15, TimeUnit.SECONDS).statusCode());
        assertEquals(3, d.connections.get());
    }

    @Test
    void idleConnectionsAreReleasedWithoutKeepAlive() throws Exception {
        Hl7OutboundConnector quick = new Hl7OutboundConnector(5_000, 5_000, 200);
        try {
            TestSupport.TestDevice d = device(Hl7OutboundConnectorTest::acceptAll);
            quick.send(new OutboundRequest(d.remote(null), ContentTypes.HL7_V2, TestSupport.ADT, null))
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals(1, quick.stats().get("hl7ClientCount"));
            // reused while fresh
            quick.send(new OutboundRequest(d.remote(null), ContentTypes.HL7_V2, TestSupport.adt("2"), null))
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals(1, d.connections.get());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while ((int) quick.stats().get("hl7ClientCount") > 0 && System.nanoTime() < deadline) Thread.sleep(20);
            assertEquals(0, quick.stats().get("hl7ClientCount"));
            assertTrue(d.awaitEnded(1), "the device must see the connection closed");
        } finally {
            quick.deactivate();
        }
    }

    @Test
    void deviceClosingFailsThePendingPush() throws Exception {
        TestSupport.TestDevice d = device(m -> {
            throw new IllegalStateException("device hangs up"); // ends the device's connection
        });
        DeviceReply r = push(d.remote(null), TestSupport.ADT, null);
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("closed before a response was received"), r.body());
    }

    @Test
    void unknownEncodingIsRejected() throws Exception {
        DeviceReply r = push("mllp://127.0.0.1:1?encoding=klingon", TestSupport.ADT, null);
        assertEquals(400, r.statusCode());
        assertEquals("Invalid encoding 'klingon' in remote 'mllp://127.0.0.1:1?encoding=klingon': unknown character set", r.body());
    }
}
