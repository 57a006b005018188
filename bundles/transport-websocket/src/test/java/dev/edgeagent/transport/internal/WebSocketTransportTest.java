package dev.edgeagent.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.config.ConfigException;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.message.MessageTypes;
import dev.edgeagent.api.ops.AgentVersion;
import dev.edgeagent.api.transport.CloudException;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.api.transport.TransportException;
import dev.edgeagent.api.transport.TransportListener;
import dev.edgeagent.api.transport.TransportStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebSocketTransportTest {
    private static final String AGENT_ID = "8c0e6a5e-9d1f-4c1b-9a53-0f6a2f0b2a11";
    private static final long WAIT = 5000;

    private FakeMedplumServer server;
    private WebSocketTransport transport;
    private final Recorder recorder = new Recorder();

    static final class Recorder implements TransportListener {
        final List<LinkState> states = new CopyOnWriteArrayList<>();
        final BlockingQueue<AgentMessage> messages = new LinkedBlockingQueue<>();
        final BlockingQueue<String> undecodable = new LinkedBlockingQueue<>();

        @Override
        public void onMessage(AgentMessage message) {
            messages.add(message);
        }

        @Override
        public void onUndecodable(String error, String callback) {
            undecodable.add(error + "|" + callback);
        }

        @Override
        public void onLinkState(LinkState state) {
            states.add(state);
        }
    }

    @BeforeEach
    void startServer() throws Exception {
        server = new FakeMedplumServer("client-1", "secret-1");
    }

    @AfterEach
    void stop() {
        if (transport != null) {
            transport.close();
        }
        server.close();
    }

    private Map<String, Object> config() {
        Map<String, Object> c = new HashMap<>();
        c.put("baseUrl", server.baseUrl());
        c.put("clientId", "client-1");
        c.put("clientSecret", "secret-1");
        c.put("agentId", AGENT_ID);
        // Agent heartbeats off by default (long period); tests that need them shorten it.
        c.put("heartbeatSeconds", "60");
        c.put("reconnectMinDelayMs", "50");
        c.put("reconnectMaxDelayMs", "200");
        c.put("loginRetrySeconds", "0.1");
        return c;
    }

    private WebSocketTransport start(Map<String, Object> config) {
        transport = new WebSocketTransport(config, List.of(recorder));
        return transport;
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long end = System.currentTimeMillis() + WAIT;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private void awaitLive() throws InterruptedException {
        // The state is published before listeners are called: wait for both.
        await("link LIVE, now " + transport.state(), () -> transport.state() == LinkState.LIVE
                && !recorder.states.isEmpty() && recorder.states.get(recorder.states.size() - 1) == LinkState.LIVE);
    }

    private FakeMedplumServer.Received next(String type) throws InterruptedException {
        FakeMedplumServer.Received r = server.next(type, WAIT);
        assertNotNull(r, "no " + type + " frame received");
        return r;
    }

    @Test
    void logsInConnectsAndGoesLive() throws Exception {
        start(config());
        FakeMedplumServer.Received connect = next(MessageTypes.CONNECT_REQUEST);
        assertEquals(AGENT_ID, connect.message().agentId());
        assertEquals(server.issuedTokens.get(0), connect.message().accessToken());
        awaitLive();
        assertEquals(List.of(LinkState.AUTHENTICATING, LinkState.CONNECTING, LinkState.OPEN, LinkState.LIVE), recorder.states);
        TransportStatus st = transport.status();
        assertEquals("ws://127.0.0.1:" + server.port() + "/ws/agent", st.serverUrl());
        assertEquals(0, st.queuedFrames());
        assertEquals(1, server.tokenRequests.get());
        // The connect response is the transport's business, not the listeners'.
        assertNull(recorder.messages.poll(100, TimeUnit.MILLISECONDS));
    }

    @Test
    void answersServerHeartbeatWithVersionAndDeliversOtherFrames() throws Exception {
        start(config());
        awaitLive();
        server.sendToAgent(AgentMessage.heartbeatRequest());
        FakeMedplumServer.Received hb = next(MessageTypes.HEARTBEAT_RESPONSE);
        assertEquals(AgentVersion.get(), hb.message().version());

        // Legacy alias normalised; heartbeats never reach listeners.
        server.sendRaw("{\"type\":\"push\",\"remote\":\"mllp://10.0.0.9:2575\",\"body\":\"MSH|x\",\"callback\":\"cb-1\"}");
        AgentMessage m = recorder.messages.poll(WAIT, TimeUnit.MILLISECONDS);
        assertNotNull(m);
        assertEquals(MessageTypes.TRANSMIT_REQUEST, m.type());
        assertEquals("cb-1", m.callback());

        server.sendRaw("{\"callback\":\"cb-2\",\"body\":1}");
        assertEquals("Missing message type|cb-2", recorder.undecodable.poll(WAIT, TimeUnit.MILLISECONDS));
        server.sendRaw("not json");
        String err = recorder.undecodable.poll(WAIT, TimeUnit.MILLISECONDS);
        assertNotNull(err);
        assertTrue(err.startsWith("Invalid JSON"), err);
        assertTrue(recorder.messages.isEmpty());
    }

    @Test
    void sendsHeartbeatsAndMeasuresPing() throws Exception {
        Map<String, Object> c = config();
        c.put("heartbeatSeconds", "0.1");
        start(c);
        awaitLive();
        FakeMedplumServer.Received hb = next(MessageTypes.HEARTBEAT_REQUEST);
        assertNull(hb.message().accessToken(), "heartbeats carry no token");
        await("ping measured", () -> transport.status().pingMillis() >= 0);
        assertEquals("9.9.9-test", transport.status().serverVersion());
        // Answered heartbeats keep the one connection.
        Thread.sleep(500);
        assertEquals(1, server.connections.get());
        assertEquals(LinkState.LIVE, transport.state());
    }

    @Test
    void serverHeartbeatsAloneKeepTheLinkUp() throws Exception {
        Map<String, Object> c = config();
        // 0.3 s ticks: unanswered, the link would be dropped after 3 ticks (~0.9 s); the loop below lasts 1.5 s,
        // and only a stall of the test thread longer than 0.9 s (not mere CI load) could break it.
        c.put("heartbeatSeconds", "0.3");
        server.answerHeartbeats = false;
        start(c);
        awaitLive();
        // Spec Q19: the server's own heartbeat requests reset the missed counter.
        for (int i = 0; i < 30; i++) {
            server.sendToAgent(AgentMessage.heartbeatRequest());
            Thread.sleep(50);
        }
        assertEquals(1, server.connections.get());
        assertEquals(LinkState.LIVE, transport.state());
    }

    @Test
    void framesSentWhileDownAreBufferedAndFlushedInOrderAfterReconnect() throws Exception {
        start(config());
        awaitLive();
        server.answerConnect = false;
        server.closeAgentSockets();
        await("second connect request", () -> server.connections.get() == 2 && transport.state() == LinkState.OPEN);
        for (int i = 0; i < 5; i++) {
            transport.send(AgentMessage.transmitRequest("adt", "1.2.3.4:5", "text/plain", "msg-" + i, "cb-" + i));
        }
        assertEquals(5, transport.status().queuedFrames());
        assertNull(server.next(MessageTypes.TRANSMIT_REQUEST, 200), "nothing may be sent before the connect response");

        server.sendToAgent(AgentMessage.of(MessageTypes.CONNECT_RESPONSE));
        for (int i = 0; i < 5; i++) {
            FakeMedplumServer.Received r = next(MessageTypes.TRANSMIT_REQUEST);
            assertEquals(2, r.connection());
            assertEquals("msg-" + i, r.message().body());
            assertEquals(server.issuedTokens.get(server.issuedTokens.size() - 1), r.message().accessToken());
        }
        await("buffer empty", () -> transport.status().queuedFrames() == 0);
    }

    @Test
    void connectRefusedWithInvalidTokenLogsInAgainAndReconnects() throws Exception {
        Map<String, Object> c = config();
        c.put("reconnectMinDelayMs", "50");
        start(c);
        awaitLive();
        String first = server.issuedTokens.get(0);
        server.rejectedToken = first;
        server.closeAgentSockets();
        // The first reconnect presents the old token and is refused; the agent must not wait for heartbeats.
        await("a second login after the refusal", () -> server.issuedTokens.size() >= 2);
        await("LIVE again with the new token", () -> transport.state() == LinkState.LIVE);
        FakeMedplumServer.Received last = null;
        FakeMedplumServer.Received r;
        while ((r = server.next(MessageTypes.CONNECT_REQUEST, 100)) != null) {
            last = r;
        }
        assertNotNull(last);
        assertNotEquals(first, last.message().accessToken());
    }

    @Test
    void bufferFullRejectsAndQueuesNothing() throws Exception {
        Map<String, Object> c = config();
        c.put("linkBufferFrames", 3);
        server.answerConnect = false;
        start(c);
        await("open", () -> transport.state() == LinkState.OPEN);
        for (int i = 0; i < 3; i++) {
            transport.send(AgentMessage.transmitRequest("adt", "r", "text/plain", "b" + i, "cb" + i));
        }
        TransportException e = assertThrows(TransportException.class,
                () -> transport.send(AgentMessage.transmitRequest("adt", "r", "text/plain", "b3", "cb3")));
        assertEquals("Cloud link is down and the outgoing buffer is full (3 frames)", e.getMessage());
        assertEquals(3, transport.status().queuedFrames());
    }

    @Test
    void heartbeatFramesAreNotBufferedWhileDown() throws Exception {
        Map<String, Object> c = config();
        server.failLogins = 1000;
        start(c);
        await("authenticating", () -> transport.state() == LinkState.AUTHENTICATING);
        TransportException e = assertThrows(TransportException.class,
                () -> transport.send(AgentMessage.heartbeatResponse("1")));
        assertTrue(e.getMessage().contains("heartbeat frames are not buffered"), e.getMessage());
        assertEquals(0, transport.status().queuedFrames());
    }

    @Test
    void reconnectsWithANewConnectRequestWhenTheServerClosesTheSocket() throws Exception {
        start(config());
        awaitLive();
        next(MessageTypes.CONNECT_REQUEST);
        server.closeAgentSockets();
        FakeMedplumServer.Received again = next(MessageTypes.CONNECT_REQUEST);
        assertEquals(2, again.connection());
        awaitLive();
        assertTrue(recorder.states.contains(LinkState.CONNECTING));
        assertTrue(transport.status().lastError().contains("closed the WebSocket (1001 going away)"),
                transport.status().lastError());
        assertEquals(1, server.tokenRequests.get(), "a reconnect reuses the valid token");
    }

    @Test
    void reconnectsWhenTheServerNeverAnswersTheConnectRequest() throws Exception {
        Map<String, Object> c = config();
        c.put("heartbeatSeconds", "0.1");
        server.answerConnect = false;
        start(c);
        assertEquals(1, next(MessageTypes.CONNECT_REQUEST).connection());
        assertEquals(2, next(MessageTypes.CONNECT_REQUEST).connection());
        assertTrue(transport.status().lastError().contains("did not answer agent:connect:request"),
                transport.status().lastError());
        server.answerConnect = true;
        awaitLive();
    }

    @Test
    void reconnectsWhenTheServerStopsAnsweringHeartbeats() throws Exception {
        Map<String, Object> c = config();
        c.put("heartbeatSeconds", "0.1");
        start(c);
        awaitLive();
        server.answerHeartbeats = false;
        FakeMedplumServer.Received again = next(MessageTypes.CONNECT_REQUEST);
        assertEquals(1, again.connection());
        again = next(MessageTypes.CONNECT_REQUEST);
        assertEquals(2, again.connection());
        assertTrue(transport.status().lastError().contains("no answer to 2 heartbeats"), transport.status().lastError());
        await("old socket closed", () -> server.openSockets() == 1);
    }

    /** Records when the link left LIVE/OPEN for CONNECTING, and the reason the transport gave at that moment. */
    private static final class DropClock implements TransportListener {
        final BlockingQueue<long[]> drops = new LinkedBlockingQueue<>();
        final List<String> reasons = new CopyOnWriteArrayList<>();
        volatile WebSocketTransport transport;
        private LinkState last;

        @Override
        public void onMessage(AgentMessage message) {
        }

        @Override
        public void onLinkState(LinkState state) {
            if (state == LinkState.CONNECTING && (last == LinkState.LIVE || last == LinkState.OPEN)) {
                reasons.add(transport == null ? null : transport.status().lastError());
                drops.add(new long[] {System.nanoTime()});
            }
            last = state;
        }
    }

    private DropClock startWithDropClock(Map<String, Object> config) {
        DropClock clock = new DropClock();
        transport = new WebSocketTransport(config, List.of(recorder, clock));
        clock.transport = transport;
        return clock;
    }

    @Test
    void replacesALiveLinkWhoseServerFallsSilentWithinTheSilenceLimit() throws Exception {
        Map<String, Object> c = config();
        // Heartbeat supervision would need a third 0.5 s tick (>= 1 s of silence): under 1 s, only the read-idle guard acts.
        c.put("heartbeatSeconds", "0.5");
        c.put("linkSilenceSeconds", "0.6");
        DropClock clock = startWithDropClock(c);
        awaitLive();
        server.silent = true;
        long lastServerWrite = server.lastWriteToAgentNanos;
        long[] drop = clock.drops.poll(WAIT, TimeUnit.MILLISECONDS);
        assertNotNull(drop, "the silent link was not replaced");
        server.silent = false;
        long quietMs = TimeUnit.NANOSECONDS.toMillis(drop[0] - lastServerWrite);
        assertTrue(quietMs >= 600, "dropped after only " + quietMs + " ms of silence");
        assertTrue(quietMs < 1000, "silence detected after " + quietMs + " ms, limit 600 ms");
        String reason = clock.reasons.get(0);
        assertTrue(reason.startsWith("the server sent nothing for ") && reason.endsWith(" ms on an open socket (linkSilenceSeconds=0.6)"),
                reason);
        await("a second connection", () -> server.connections.get() >= 2);
        awaitLive();
        await("old socket closed", () -> server.openSockets() == 1);
    }

    @Test
    void replacesAnOpenLinkWhoseServerNeverAnswersWithinTheSilenceLimit() throws Exception {
        Map<String, Object> c = config();
        // The not-live tick counter would need a third 0.5 s tick after OPEN (>= 1 s).
        c.put("heartbeatSeconds", "0.5");
        c.put("linkSilenceSeconds", "0.6");
        server.silent = true;
        DropClock clock = startWithDropClock(c);
        FakeMedplumServer.Received first = next(MessageTypes.CONNECT_REQUEST);
        assertEquals(1, first.connection());
        long upgradeAnswered = server.lastWriteToAgentNanos;
        long[] drop = clock.drops.poll(WAIT, TimeUnit.MILLISECONDS);
        assertNotNull(drop, "the silent link was not replaced");
        server.silent = false;
        long quietMs = TimeUnit.NANOSECONDS.toMillis(drop[0] - upgradeAnswered);
        assertTrue(quietMs >= 600 && quietMs < 1000, "silence detected after " + quietMs + " ms, limit 600 ms");
        assertTrue(clock.reasons.get(0).contains("linkSilenceSeconds=0.6"), clock.reasons.get(0));
        awaitLive();
    }

    @Test
    void aServerThatAnswersHeartbeatsIsNotTakenForASilentOne() throws Exception {
        Map<String, Object> c = config();
        c.put("heartbeatSeconds", "0.2");
        c.put("linkSilenceSeconds", "0.8");
        start(c);
        awaitLive();
        Thread.sleep(1800);
        assertEquals(1, server.connections.get());
        assertEquals(LinkState.LIVE, transport.state());
    }

    @Test
    void silenceLimitMustExceedTheHeartbeatPeriod() throws Exception {
        Map<String, Object> c = config();
        c.remove("heartbeatSeconds");
        TransportSettings dflt = TransportSettings.parse(c);
        assertEquals(20_000, dflt.linkSilenceMillis());
        assertNull(dflt.linkSilenceWarning());

        c.put("heartbeatSeconds", "30");
        TransportSettings slowHeartbeat = TransportSettings.parse(c);
        assertEquals(75_000, slowHeartbeat.linkSilenceMillis());
        assertEquals("Configuration key 'linkSilenceSeconds' (20 s, the default) must be greater than 'heartbeatSeconds' (30 s),"
                + " or a healthy but idle server would be taken for a dead one; using 75 s (2.5 heartbeats)",
                slowHeartbeat.linkSilenceWarning());

        c.put("heartbeatSeconds", "10");
        c.put("linkSilenceSeconds", "10");
        TransportSettings equal = TransportSettings.parse(c);
        assertEquals(25_000, equal.linkSilenceMillis());
        assertTrue(equal.linkSilenceWarning().startsWith("Configuration key 'linkSilenceSeconds' (10 s) must be greater"),
                equal.linkSilenceWarning());

        c.put("linkSilenceSeconds", "12.5");
        assertEquals(12_500, TransportSettings.parse(c).linkSilenceMillis());
        c.put("linkSilenceSeconds", "soon");
        ConfigException e = assertThrows(ConfigException.class, () -> TransportSettings.parse(c));
        assertEquals("Configuration key 'linkSilenceSeconds' must be a number, was 'soon'", e.getMessage());
    }

    @Test
    void reconnectsAfterAHandshakeTimeout() throws Exception {
        Map<String, Object> c = config();
        c.put("connectTimeoutMs", "300");
        server.stallUpgrade = true;
        start(c);
        await("second attempt", () -> server.connections.get() >= 2);
        assertEquals("WebSocket handshake timed out after 300 ms", transport.status().lastError());
        assertEquals(LinkState.CONNECTING, transport.state());
        assertFalse(recorder.states.contains(LinkState.OPEN));
        server.stallUpgrade = false;
        awaitLive();
    }

    @Test
    void retriesAFailedLogin() throws Exception {
        server.failLogins = 2;
        start(config());
        awaitLive();
        assertEquals(3, server.tokenRequests.get());
        assertEquals(LinkState.AUTHENTICATING, recorder.states.get(0));
        assertTrue(transport.status().lastError().contains("HTTP 400: Invalid secret"), transport.status().lastError());
    }

    @Test
    void refreshesTheTokenWithoutReconnecting() throws Exception {
        server.tokenLifetimeSeconds = 2; // refreshed at half-life
        start(config());
        awaitLive();
        await("token refreshed", () -> server.tokenRequests.get() >= 2);
        await("new token current", () -> server.issuedTokens.size() >= 2);
        Thread.sleep(50);
        transport.send(AgentMessage.transmitRequest("adt", "r", "text/plain", "after refresh", "cb"));
        FakeMedplumServer.Received r = next(MessageTypes.TRANSMIT_REQUEST);
        assertEquals(server.issuedTokens.get(server.issuedTokens.size() - 1), r.message().accessToken());
        assertEquals(1, r.connection());
        assertEquals(1, server.connections.get());
        assertEquals(List.of(LinkState.AUTHENTICATING, LinkState.CONNECTING, LinkState.OPEN, LinkState.LIVE), recorder.states);
    }

    @Test
    void overwritesAccessTokenAtSendTimeAndLeavesOtherFramesAlone() throws Exception {
        start(config());
        awaitLive();
        transport.send(AgentMessage.transmitRequest("adt", "r", "text/plain", "b", "cb"));
        transport.send(AgentMessage.ok(MessageTypes.RELOADCONFIG_RESPONSE, "cb-r"));
        FakeMedplumServer.Received r = next(MessageTypes.TRANSMIT_REQUEST);
        assertEquals(server.issuedTokens.get(0), r.message().accessToken());
        FakeMedplumServer.Received ok = next(MessageTypes.RELOADCONFIG_RESPONSE);
        assertFalse(ok.message().has("accessToken"));
        assertEquals("cb-r", ok.message().callback());
    }

    @Test
    void cloudClientReadsRetriesOn401AndReportsErrors(@TempDir Path dir) throws Exception {
        server.resources.put("Agent/" + AGENT_ID, Map.of("resourceType", "Agent", "id", AGENT_ID, "status", "active"));
        server.answerConnect = false; // REST must not depend on the WebSocket
        start(config());
        await("token", () -> server.tokenRequests.get() == 1);

        server.rest401Remaining = 1;
        Map<String, Object> agent = transport.cloud().read("Agent", AGENT_ID);
        assertEquals("active", agent.get("status"));
        assertEquals("no-cache", server.lastCacheControl);
        assertEquals(2, server.tokenRequests.get(), "one refresh after the 401");

        CloudException e = assertThrows(CloudException.class, () -> transport.cloud().read("Agent", "missing"));
        assertEquals(404, e.status());
        assertEquals("GET " + server.baseUrl() + "fhir/R4/Agent/missing failed: 404 Not found", e.getMessage());

        server.rest401Remaining = 2;
        e = assertThrows(CloudException.class, () -> transport.cloud().read("Agent", AGENT_ID));
        assertEquals(401, e.status());
        assertTrue(e.getMessage().endsWith("failed: 401 Unauthorized"), e.getMessage());

        Path file = dir.resolve("image.dcm");
        byte[] data = new byte[300_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31);
        }
        Files.write(file, data);
        assertEquals("bin-1", transport.cloud().createBinary("application/dicom", file));
        assertEquals("application/dicom", server.lastBinaryContentType);
        assertTrue(java.util.Arrays.equals(data, server.binaries.get(0)));
    }

    @Test
    void invalidConfigStaysStoppedUntilCorrected() throws Exception {
        Map<String, Object> bad = config();
        bad.remove("clientSecret");
        start(bad);
        Thread.sleep(100);
        assertEquals(LinkState.STOPPED, transport.state());
        assertEquals("Configuration key 'clientSecret' is missing", transport.status().lastError());
        TransportException e = assertThrows(TransportException.class,
                () -> transport.send(AgentMessage.transmitRequest("adt", "r", "text/plain", "b", "cb")));
        assertTrue(e.getMessage().contains("not configured (Configuration key 'clientSecret' is missing)"), e.getMessage());
        CloudException ce = assertThrows(CloudException.class, () -> transport.cloud().read("Agent", "x"));
        assertEquals(0, ce.status());
        assertEquals(0, server.tokenRequests.get());

        Map<String, Object> badNumber = config();
        badNumber.put("heartbeatSeconds", "often");
        transport.modified(badNumber);
        Thread.sleep(50);
        assertEquals("Configuration key 'heartbeatSeconds' must be a number, was 'often'", transport.status().lastError());

        transport.modified(config());
        awaitLive();
        assertEquals(1, server.connections.get());
        // Re-applying the same settings does not reconnect.
        transport.modified(config());
        Thread.sleep(100);
        assertEquals(1, server.connections.get());
        assertEquals(LinkState.LIVE, transport.state());
    }

    @Test
    void closeStopsTheLinkAndIsIdempotent() throws Exception {
        start(config());
        awaitLive();
        transport.close();
        transport.close();
        assertEquals(LinkState.STOPPED, transport.state());
        await("socket closed", () -> server.openSockets() == 0);
        Thread.sleep(300);
        assertEquals(1, server.connections.get(), "no reconnect after close");
        assertThrows(TransportException.class,
                () -> transport.send(AgentMessage.transmitRequest("adt", "r", "text/plain", "b", "cb")));
        assertEquals(LinkState.STOPPED, recorder.states.get(recorder.states.size() - 1));
    }

    @Test
    void manyThreadsSendWithoutLossOrReordering() throws Exception {
        start(config());
        awaitLive();
        int threads = 4;
        int perThread = 500;
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts.add(new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    try {
                        transport.send(AgentMessage.transmitRequest("c" + id, "r", "text/plain", Integer.toString(i), "cb"));
                    } catch (TransportException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }));
        }
        ts.forEach(Thread::start);
        for (Thread t : ts) {
            t.join();
        }
        int[] last = new int[threads];
        java.util.Arrays.fill(last, -1);
        for (int n = 0; n < threads * perThread; n++) {
            AgentMessage m = next(MessageTypes.TRANSMIT_REQUEST).message();
            int id = Integer.parseInt(m.channel().substring(1));
            int seq = Integer.parseInt(m.body());
            assertEquals(last[id] + 1, seq, "per-sender order");
            last[id] = seq;
        }
        await("buffer empty", () -> transport.status().queuedFrames() == 0);
    }
}
