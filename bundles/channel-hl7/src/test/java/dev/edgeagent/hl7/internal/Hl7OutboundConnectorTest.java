package dev.edgeagent.hl7.internal;

import dev.edgeagent.api.channel.AgentSettings;
import dev.edgeagent.api.channel.DeviceReply;
import dev.edgeagent.api.channel.OutboundRequest;
import dev.edgeagent.api.message.ContentTypes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static dev.edgeagent.hl7.internal.OutboundTestDevice.ADT;
import static dev.edgeagent.hl7.internal.OutboundTestDevice.adt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checklist section D (items 56–75) and the outbound parts of spec §4.7–4.8, §9.1, Q11, Q12. */
class Hl7OutboundConnectorTest {
    /** Idle release 300 ms checked every 100 ms, so the non-keepAlive GC is observable in a test. */
    private final Hl7OutboundConnector connector = new Hl7OutboundConnector(5_000, 5_000, 300, 100);
    private final List<OutboundTestDevice> devices = new ArrayList<>();
    private final List<Hl7OutboundConnector> extra = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        connector.deactivate();
        for (Hl7OutboundConnector c : extra) c.deactivate();
        for (OutboundTestDevice d : devices) d.close();
    }

    private OutboundTestDevice device(OutboundTestDevice.Handler handler) throws IOException {
        return device(0, StandardCharsets.UTF_8, handler);
    }

    private OutboundTestDevice device(int port, Charset cs, OutboundTestDevice.Handler handler) throws IOException {
        OutboundTestDevice d = new OutboundTestDevice(port, cs, handler);
        devices.add(d);
        return d;
    }

    private Hl7OutboundConnector connector(int connectMs, long responseMs) {
        Hl7OutboundConnector c = new Hl7OutboundConnector(connectMs, responseMs, 10_000, 10_000);
        extra.add(c);
        return c;
    }

    private static CompletableFuture<DeviceReply> start(Hl7OutboundConnector c, String remote, String body, String returnAck) {
        return c.send(new OutboundRequest(remote, ContentTypes.HL7_V2, body, returnAck)).toCompletableFuture();
    }

    private DeviceReply push(String remote, String body, String returnAck) throws Exception {
        return start(connector, remote, body, returnAck).get(10, TimeUnit.SECONDS);
    }

    /** Starts {@code n} pushes at once (distinct MSH-10s) and waits for all; every one must succeed. */
    private List<DeviceReply> pushConcurrently(String remote, int n, String prefix) throws Exception {
        List<CompletableFuture<DeviceReply>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) futures.add(start(connector, remote, adt(prefix + i), null));
        List<DeviceReply> replies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            DeviceReply r = futures.get(i).get(10, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(prefix + i, Er7.ackedControlId(r.body()), "each push gets its own answer");
            replies.add(r);
        }
        return replies;
    }

    private int clientCount() {
        return (int) connector.stats().get("hl7ClientCount");
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> rtt(Hl7OutboundConnector c, String key) {
        Map<String, Object> clientStats = (Map<String, Object>) c.stats().get("clientStats");
        Map<String, Object> entry = (Map<String, Object>) clientStats.get(key);
        assertNotNull(entry, "clientStats has " + key + ": " + clientStats);
        return (Map<String, Object>) entry.get("rtt");
    }

    private static void keepAlive(Hl7OutboundConnector c, boolean on, Integer max) {
        Map<String, Object> s = new java.util.HashMap<>();
        s.put("keepAlive", on);
        if (max != null) s.put("maxClientsPerRemote", max);
        c.applySettings(new AgentSettings(s));
    }

    // 56
    @Test
    void deliveredWithoutContentTypeAndTheAnswerIsReturned() throws Exception {
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        DeviceReply r = connector.send(new OutboundRequest(d.remote(null), null, ADT, null))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertEquals(ContentTypes.HL7_V2, r.contentType());
        assertEquals("MSG00001", Er7.ackedControlId(r.body()));
        assertEquals(ADT, d.received.get(0).message);
    }

    @Test
    void lfSeparatedBodyIsSentWithCrSeparators() throws Exception {
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        push(d.remote(null), ADT.replace("\r", "\r\n"), null);
        assertEquals(ADT.substring(0, ADT.length() - 1), d.received.get(0).message);
    }

    // 57
    @Test
    void withoutKeepAliveAnIdleClientIsReleasedByTheGc() throws Exception {
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        try (TestSupport.LogCapture log = new TestSupport.LogCapture()) {
            push(d.remote(null), ADT, null);
            assertTrue(log.text().contains("Client pool created for remote '" + d.remote(null) + "'"), log.text());
        }
        push(d.remote(null), adt("2"), null); // reused while fresh
        assertEquals(1, d.connections.get());
        assertTrue(TestSupport.waitFor(() -> clientCount() == 0, 5_000), "released after the idle time");
        assertTrue(d.awaitEnded(1), "the device sees the connection closed");
        assertEquals(1, connector.poolCount(), "the pool itself stays");
    }

    // 58
    @Test
    void keepAliveKeepsOnePersistentClientAndReusesIt() throws Exception {
        keepAlive(connector, true, null);
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        push(d.remote(null), ADT, null);
        Thread.sleep(600); // twice the idle release time: no GC with keepAlive
        push(d.remote(null), adt("2"), null);
        assertEquals(1, d.connections.get());
        assertEquals(0, d.ended.get());
        assertEquals(1, clientCount());
    }

    // 59 (and checklist 36: changing keepAlive discards every pool)
    @Test
    void switchingKeepAliveOffClosesTheKeptSocketAndDiscardsPools() throws Exception {
        keepAlive(connector, true, null);
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        push(d.remote(null), ADT, null);
        assertEquals(1, connector.poolCount());
        keepAlive(connector, false, null);
        assertTrue(d.awaitEnded(1), "the kept socket is closed");
        assertEquals(0, connector.poolCount());
        assertEquals(0, clientCount());
        assertEquals(Map.of(), connector.stats().get("clientStats"));
        assertEquals(200, push(d.remote(null), adt("2"), null).statusCode());
        assertEquals(2, d.connections.get());
    }

    // 60
    @Test
    void keepAliveRemoteCloseRemovesTheClientAndIsLogged() throws Exception {
        keepAlive(connector, true, null);
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        String remote = d.remote(null);
        push(remote, ADT, null);
        try (TestSupport.LogCapture log = new TestSupport.LogCapture()) {
            d.hangUp();
            assertTrue(log.awaitLogged("Persistent connection to remote '" + remote + "' closed"), log.text());
        }
        assertTrue(TestSupport.waitFor(() -> clientCount() == 0, 5_000));
        assertEquals(200, push(remote, adt("2"), null).statusCode());
        assertEquals(2, d.connections.get(), "the next push opens a new client");
    }

    // 61
    @Test
    void keepAliveSocketErrorIsLoggedAndTheNextPushOpensANewClient() throws Exception {
        keepAlive(connector, true, null);
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        String remote = d.remote(null);
        push(remote, ADT, null);
        try (TestSupport.LogCapture log = new TestSupport.LogCapture()) {
            d.reset();
            assertTrue(log.awaitLogged("Persistent connection to remote '" + remote + "' encountered error: '"), log.text());
            assertTrue(log.text().contains("' - Closing connection..."), log.text());
        }
        assertTrue(TestSupport.waitFor(() -> clientCount() == 0, 5_000));
        assertEquals(200, push(remote, adt("2"), null).statusCode());
        assertEquals(2, d.connections.get());
    }

    // 62
    @Test
    void defaultLimitFiveWithoutKeepAlive_tenConcurrentPushesOpenExactlyFive() throws Exception {
        OutboundTestDevice d = device(OutboundTestDevice.ackAfter(300));
        pushConcurrently(d.remote(null), 10, "T");
        assertEquals(5, d.connections.get());
        assertEquals(10, d.received.size());
    }

    // 63 (answers come newest first: correlation must be by MSA-2)
    @Test
    void keepAliveDefaultOne_threeConcurrentPushesShareOneConnection() throws Exception {
        keepAlive(connector, true, null);
        List<OutboundTestDevice.Exchange> held = new CopyOnWriteArrayList<>();
        OutboundTestDevice d = device(ex -> {
            held.add(ex);
            if (held.size() == 3) {
                for (int i = 2; i >= 0; i--) held.get(i).reply(held.get(i).ack("AA"));
            }
        });
        pushConcurrently(d.remote(null), 3, "P");
        assertEquals(1, d.connections.get());
        assertEquals(1, clientCount());
    }

    // 64
    @Test
    void limitThree_fiveConcurrentPushesOverThreeConnections() throws Exception {
        connector.applySettings(new AgentSettings(Map.of("maxClientsPerRemote", 3)));
        OutboundTestDevice d = device(OutboundTestDevice.ackAfter(300));
        pushConcurrently(d.remote(null), 5, "Q");
        assertEquals(3, d.connections.get());
        assertEquals(5, d.received.size());
    }

    // 65
    @Test
    void keepAliveWithSix_nineConcurrentPushesOverSixConnections() throws Exception {
        keepAlive(connector, true, 6);
        OutboundTestDevice d = device(OutboundTestDevice.ackAfter(300));
        pushConcurrently(d.remote(null), 9, "K");
        assertEquals(6, d.connections.get());
        assertEquals(6, clientCount());
    }

    // 66
    @Test
    void maxClientsPerRemoteUpdatesTheExistingPoolLive() throws Exception {
        connector.applySettings(new AgentSettings(Map.of("maxClientsPerRemote", 2)));
        OutboundTestDevice d = device(OutboundTestDevice.ackAfter(200));
        String remote = d.remote(null);
        pushConcurrently(remote, 4, "A");
        assertEquals(2, d.connections.get());

        connector.applySettings(new AgentSettings(Map.of("maxClientsPerRemote", 5)));
        assertEquals(1, connector.poolCount());
        assertEquals(0, d.ended.get(), "a limit change alone does not drop connections");
        pushConcurrently(remote, 10, "B");
        assertEquals(5, d.connections.get(), "the two open connections plus three new ones");

        connector.applySettings(new AgentSettings(Map.of("maxClientsPerRemote", 3)));
        d.usedConnections.clear();
        pushConcurrently(remote, 6, "C");
        assertEquals(5, d.connections.get(), "no connection opened above the lowered limit");
        assertTrue(d.usedConnections.size() <= 3, "used " + d.usedConnections);
        assertEquals(3, clientCount(), "connections beyond the lowered limit are closed once idle");
    }

    // 67
    @Test
    void deactivateClosesEveryPool() throws Exception {
        Hl7OutboundConnector c = connector(5_000, 5_000);
        keepAlive(c, true, null);
        OutboundTestDevice d1 = device(OutboundTestDevice.ackAll());
        OutboundTestDevice d2 = device(OutboundTestDevice.ackAll());
        start(c, d1.remote(null), ADT, null).get(10, TimeUnit.SECONDS);
        start(c, d2.remote("encoding=utf-8"), ADT, null).get(10, TimeUnit.SECONDS);
        assertEquals(2, c.poolCount());
        c.deactivate();
        assertEquals(0, c.poolCount());
        assertEquals(0, c.stats().get("hl7ClientCount"));
        assertTrue(d1.awaitEnded(1));
        assertTrue(d2.awaitEnded(1));
    }

    // 68
    @Test
    void aPoolSurvivesARemoteRestart() throws Exception {
        keepAlive(connector, true, null);
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        int port = d.port();
        String remote = d.remote(null);
        assertEquals(200, push(remote, ADT, null).statusCode());
        d.close();
        assertTrue(TestSupport.waitFor(() -> clientCount() == 0, 5_000));
        // The old connection's socket may hold the port for a moment after the restart.
        OutboundTestDevice restarted = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (restarted == null) {
            try {
                restarted = device(port, StandardCharsets.UTF_8, OutboundTestDevice.ackAll());
            } catch (java.net.BindException e) {
                if (System.nanoTime() > deadline) throw e;
                Thread.sleep(50);
            }
        }
        DeviceReply r = push(remote, adt("2"), null);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(1, restarted.received.size());
        assertEquals(1, connector.poolCount(), "the same pool is reused");
        assertEquals(2, rtt(connector, "mllp://127.0.0.1:" + port + "?encoding=utf-8").get("count"));
    }

    // 69
    @Test
    void invalidReturnAckIsRejectedAndNothingSent() throws Exception {
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        DeviceReply r = push(d.remote(null), ADT, "invalid_value");
        assertEquals(new DeviceReply(400, ContentTypes.TEXT,
                "Invalid value for returnAck; expected: 'first' or 'application', received: invalid_value"), r);
        Thread.sleep(100);
        assertEquals(0, d.connections.get());
    }

    private static OutboundTestDevice.Handler commitThenApp(String lastCode) {
        return ex -> ex.reply(ex.ack("CA"), ex.ack(lastCode));
    }

    // 70, 71
    @Test
    void defaultReturnAckFromTheDeviceUrl() throws Exception {
        OutboundTestDevice d = device(commitThenApp("AA"));
        assertEquals("AA", Er7.ackCode(push(d.remote("defaultReturnAck=APPLICATION"), ADT, null).body()));
        assertEquals("CA", Er7.ackCode(push(d.remote("defaultReturnAck=FIRST"), adt("2"), null).body()));
        // invalid default: warning only, 'first'
        assertEquals("CA", Er7.ackCode(push(d.remote("defaultReturnAck=bogus"), adt("3"), null).body()));
        // the message's value wins over the default, case-insensitively
        assertEquals("CA", Er7.ackCode(push(d.remote("defaultReturnAck=application"), adt("4"), "FIRST").body()));
        assertEquals("AA", Er7.ackCode(push(d.remote(null), adt("5"), "Application").body()));
        assertEquals("CA", Er7.ackCode(push(d.remote(null), adt("6"), null).body()), "default is first");
    }

    @Test
    void applicationReturnAckIsResolvedByCommitReject() throws Exception {
        OutboundTestDevice d = device(ex -> ex.reply(ex.ack("CR")));
        assertEquals("CR", Er7.ackCode(push(d.remote(null), ADT, "application").body()));
        OutboundTestDevice e = device(commitThenApp("AE"));
        assertEquals("AE", Er7.ackCode(push(e.remote(null), ADT, "application").body()));
    }

    @Test
    void answersForUnknownOrMissingMsa2AreIgnored() throws Exception {
        OutboundTestDevice d = device(ex -> ex.reply(ex.ack("AA", "SOMETHING-ELSE"),
                "MSH|^~\\&|DEV|FAC|EDGE|HUB|2024||ADT^A08|X1|P|2.5.1\rPID|1\r", ex.ack("AA")));
        try (TestSupport.LogCapture log = new TestSupport.LogCapture()) {
            DeviceReply r = push(d.remote(null), ADT, null);
            assertEquals("MSG00001", Er7.ackedControlId(r.body()));
            assertTrue(log.awaitLogged("for unknown message control ID 'SOMETHING-ELSE' ignored"), log.text());
            assertTrue(log.awaitLogged("without MSA-2 ignored"), log.text());
        }
    }

    // 72
    @Test
    void emptyRemoteIsAnAgentError() {
        for (String remote : new String[] {null, ""}) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> start(connector, remote, ADT, null).get(5, TimeUnit.SECONDS));
            assertEquals("Missing remote address", e.getCause().getMessage());
        }
    }

    @Test
    void nonHl7BodyFailsLikeMedplum() throws Exception {
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> start(connector, d.remote(null), "hello", null).get(5, TimeUnit.SECONDS));
        assertEquals("WebSocket error on incoming message: Error: Invalid HL7 message", e.getCause().getMessage());
    }

    // 73
    @Test
    void missingControlIdIsRejected() throws Exception {
        OutboundTestDevice d = device(OutboundTestDevice.ackAll());
        DeviceReply r = push(d.remote(null), "MSH|^~\\&|A|B|C|D|2024||ADT^A01||P|2.5\rPID|1\r", null);
        assertEquals(new DeviceReply(400, ContentTypes.TEXT, "MSH.10 is missing but required"), r);
        Thread.sleep(100);
        assertEquals(0, d.connections.get());
    }

    // 74
    @Test
    void keepAliveRecordsAnRttSamplePerPush() throws Exception {
        keepAlive(connector, true, null);
        OutboundTestDevice d = device(OutboundTestDevice.ackAfter(20));
        String key = "mllp://127.0.0.1:" + d.port() + "?encoding=utf-8";
        push(d.remote(null), ADT, null);
        Map<String, Object> rtt = rtt(connector, key);
        assertEquals(1, rtt.get("count"));
        assertTrue(((Number) rtt.get("min")).doubleValue() >= 15, "rtt " + rtt);
        assertEquals(0, rtt.get("pendingCount"));
        push(d.remote(null), adt("2"), null);
        rtt = rtt(connector, key);
        assertEquals(2, rtt.get("count"));
        assertEquals(List.of("count", "min", "max", "average", "p50", "p95", "p99", "pendingCount"),
                new ArrayList<>(rtt.keySet()));
        assertEquals(1, connector.stats().get("hl7ClientCount"));
    }

    @Test
    void pendingPushesAreCountedInClientStats() throws Exception {
        List<OutboundTestDevice.Exchange> held = new CopyOnWriteArrayList<>();
        OutboundTestDevice d = device(held::add);
        CompletableFuture<DeviceReply> f = start(connector, d.remote("encoding=latin1"), ADT, null);
        assertTrue(d.awaitReceived(1, 5_000));
        Map<String, Object> rtt = rtt(connector, "mllp://127.0.0.1:" + d.port() + "?encoding=latin1");
        assertEquals(1, rtt.get("pendingCount"));
        assertEquals(0, rtt.get("count"));
        assertEquals(-1, rtt.get("p99"));
        held.get(0).reply(held.get(0).ack("AA"));
        assertEquals(200, f.get(5, TimeUnit.SECONDS).statusCode());
    }

    // 75
    @Test
    void connectionRefusedIs400WithTheReasonAndNoClientKept() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String remote = "mllp://127.0.0.1:" + port;
        DeviceReply r = push(remote, ADT, null);
        assertEquals(400, r.statusCode());
        assertEquals(ContentTypes.TEXT, r.contentType());
        assertTrue(r.body().startsWith("Unable to connect to '" + remote + "': "), r.body());
        assertEquals(0, clientCount());
        assertEquals(1, connector.poolCount(), "pools are never removed on client errors");
    }

    @Test
    void connectTimeoutIs400() throws Exception {
        // A listener that never accepts, with its backlog filled: further SYNs go unanswered on Linux.
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket f = new Socket();
                    try {
                        f.connect(s.getLocalSocketAddress(), 200);
                        fillers.add(f);
                    } catch (IOException full) {
                        f.close();
                        break;
                    }
                }
                Hl7OutboundConnector c = connector(300, 5_000);
                String remote = "mllp://127.0.0.1:" + s.getLocalPort();
                long t0 = System.nanoTime();
                DeviceReply r = start(c, remote, ADT, null).get(10, TimeUnit.SECONDS);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(400, r.statusCode());
                assertTrue(r.body().startsWith("Unable to connect to '" + remote + "': "), r.body());
                assertTrue(r.body().contains("timed out"), r.body());
                assertTrue(ms >= 250 && ms < 5_000, "took " + ms + " ms");
            } finally {
                for (Socket f : fillers) f.close();
            }
        }
    }

    @Test
    void silentDeviceTimesOutAndTheConnectionIsForceClosed() throws Exception {
        Hl7OutboundConnector quick = connector(5_000, 300);
        OutboundTestDevice d = device(ex -> { });
        long t0 = System.nanoTime();
        DeviceReply r = start(quick, d.remote(null), ADT, null).get(10, TimeUnit.SECONDS);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) >= 250);
        assertEquals(new DeviceReply(400, ContentTypes.TEXT, "Timeout waiting for response from '" + d.remote(null)
                + "' to message 'MSG00001' after 300 ms"), r);
        assertEquals(0, quick.stats().get("hl7ClientCount"));
        assertTrue(d.awaitEnded(1), "the device sees the connection closed");
    }

    @Test
    void deviceHangingUpFailsThePendingPush() throws Exception {
        OutboundTestDevice d = device(ex -> {
            throw new IllegalStateException("device hangs up"); // ends the device's connection
        });
        DeviceReply r = push(d.remote(null), ADT, null);
        assertEquals(new DeviceReply(400, ContentTypes.TEXT,
                "Connection to '" + d.remote(null) + "' closed before a response was received"), r);
        assertEquals(0, clientCount());
    }

    // Q11: same MSH-10 twice on the only connection: the second is written only after the first is answered.
    @Test
    void duplicateControlIdIsHeldUntilTheFirstIsAnswered() throws Exception {
        keepAlive(connector, true, null);
        List<OutboundTestDevice.Exchange> held = new CopyOnWriteArrayList<>();
        OutboundTestDevice d = device(ex -> {
            held.add(ex);
            if (ex.ordinal == 2) ex.reply(ex.ack("AA")); // the second is answered at once
        });
        CompletableFuture<DeviceReply> first = start(connector, d.remote(null), adt("DUP"), null);
        assertTrue(d.awaitReceived(1, 5_000));
        CompletableFuture<DeviceReply> second = start(connector, d.remote(null), adt("DUP"), null);
        assertFalse(d.awaitReceived(2, 300), "the duplicate must wait for the first answer");
        held.get(0).reply(held.get(0).ack("AA"));
        assertEquals("R1", Er7.messageControlId(first.get(5, TimeUnit.SECONDS).body()));
        assertEquals("R2", Er7.messageControlId(second.get(5, TimeUnit.SECONDS).body()));
        assertEquals(1, d.connections.get());
    }

    // Q11: at the limit, a duplicate MSH-10 goes to a connection that does not carry it.
    @Test
    void duplicateControlIdPrefersAnotherConnection() throws Exception {
        connector.applySettings(new AgentSettings(Map.of("maxClientsPerRemote", 2)));
        List<OutboundTestDevice.Exchange> held = new CopyOnWriteArrayList<>();
        OutboundTestDevice d = device(held::add);
        String remote = d.remote(null);
        CompletableFuture<DeviceReply> a = start(connector, remote, adt("A"), null);
        CompletableFuture<DeviceReply> b = start(connector, remote, adt("B"), null);
        assertTrue(d.awaitReceived(2, 5_000));
        CompletableFuture<DeviceReply> a2 = start(connector, remote, adt("A"), null);
        assertTrue(d.awaitReceived(3, 5_000), "written at once on the connection without 'A'");
        assertEquals(2, d.connections.get());
        OutboundTestDevice.Exchange firstA = held.stream().filter(x -> x.ordinal <= 2 && x.controlId.equals("A"))
                .findFirst().orElseThrow();
        OutboundTestDevice.Exchange secondA = held.get(2);
        assertTrue(firstA.connection != secondA.connection, "different connections");
        for (OutboundTestDevice.Exchange x : held) x.reply(x.ack("AA"));
        assertEquals("R" + firstA.ordinal, Er7.messageControlId(a.get(5, TimeUnit.SECONDS).body()));
        assertEquals("R3", Er7.messageControlId(a2.get(5, TimeUnit.SECONDS).body()));
        assertEquals(200, b.get(5, TimeUnit.SECONDS).statusCode());
    }

    @Test
    void deviceUrlEncodingIsUsedBothWays() throws Exception {
        Charset latin1 = StandardCharsets.ISO_8859_1;
        OutboundTestDevice d = device(0, latin1, ex -> ex.reply(ex.ack("AA").replace("\rMSA|", "\rNTE|1||Zoë Ærø\rMSA|")));
        String body = ADT.replace("EVERYMAN^ADAM", "MÜLLER^JOSÉ");
        DeviceReply r = push(d.remote("encoding=latin1"), body, null);
        assertEquals(body, d.received.get(0).message, "device decoded the ISO-8859-1 bytes");
        assertTrue(r.body().contains("Zoë Ærø"), r.body());
        DeviceReply javaName = push(d.remote("encoding=ISO-8859-1"), adt("2").replace("EVERYMAN", "ÅSTRÖM"), null);
        assertEquals(200, javaName.statusCode());
        assertTrue(d.received.get(1).message.contains("ÅSTRÖM"));
    }

    @Test
    void unknownEncodingIsRejected() throws Exception {
        DeviceReply r = push("mllp://127.0.0.1:1?encoding=klingon", ADT, null);
        assertEquals(new DeviceReply(400, ContentTypes.TEXT,
                "Invalid encoding 'klingon' in remote 'mllp://127.0.0.1:1?encoding=klingon': unknown character set"), r);
    }

    @Test
    void statsKeyFormat() {
        assertEquals("mllp://10.0.0.9:2575?encoding=utf-8", Hl7OutboundConnector.statsKey("10.0.0.9", 2575, null));
        assertEquals("mllp://dev:2575?encoding=latin1", Hl7OutboundConnector.statsKey("dev", 2575, "latin1"));
    }
}
