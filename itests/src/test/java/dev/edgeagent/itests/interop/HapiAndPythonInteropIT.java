package dev.edgeagent.itests.interop;

import static dev.edgeagent.itests.interop.InteropSupport.show;
import static dev.edgeagent.itests.support.MllpIo.field;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.app.HL7Service;
import ca.uhn.hl7v2.app.Initiator;
import ca.uhn.hl7v2.llp.MllpConstants;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.model.v25.message.ADT_A01;
import ca.uhn.hl7v2.model.v25.segment.PID;
import ca.uhn.hl7v2.protocol.MetadataKeys;
import ca.uhn.hl7v2.protocol.ReceivingApplication;
import ca.uhn.hl7v2.util.StandardSocketFactory;
import ca.uhn.hl7v2.util.Terser;
import dev.edgeagent.hub.Hub;
import dev.edgeagent.hub.HubOptions;
import dev.edgeagent.hub.ReceivedMessage;
import dev.edgeagent.itests.interop.InteropSupport.RawDevice;
import dev.edgeagent.itests.support.AgentProcess;
import dev.edgeagent.itests.support.HubHttp;
import dev.edgeagent.itests.support.HubHttp.PushAnswer;
import dev.edgeagent.itests.support.HubSeed;
import dev.edgeagent.itests.support.MllpIo;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * The real agent (the assembly tarball started with bin/start, as an operator would) between the hub and
 * HL7 peers written by others: HAPI 2.6 as sender and as device, python3-hl7's mllp_send, and raw-byte
 * peers for UTF-8 and ISO-8859-1 text, which must reach the hub byte-exact and come back correctly encoded.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class HapiAndPythonInteropIT {
    private static final String AGENT_ID = "interop-agent";
    private static final int TIMEOUT_MS = 20_000;

    private static Hub hub;
    private static AgentProcess agent;
    private static int utf8InPort;
    private static int latin1InPort;
    private static int hapiDevicePort;
    private static int hapiLatin1DevicePort;
    private static int rawLatin1DevicePort;

    @BeforeClass
    public static void startHubAndAgent() throws Exception {
        utf8InPort = MllpIo.freePort();
        latin1InPort = MllpIo.freePort();
        hapiDevicePort = MllpIo.freePort();
        hapiLatin1DevicePort = MllpIo.freePort();
        rawLatin1DevicePort = MllpIo.freePort();
        hub = Hub.start(HubOptions.defaults().host("127.0.0.1").port(0).heartbeatMs(5_000).seedJson(seed()));

        Path target = Path.of(System.getProperty("edge.target", "target"));
        String tarball = System.getProperty("edge.assembly");
        assertNotNull("system property edge.assembly (the assembly tarball) is not set; run through the itests pom", tarball);
        agent = AgentProcess.extract(Path.of(tarball), target.resolve("interop-agent").toAbsolutePath());
        agent.configure(hub.port(), AGENT_ID);
        agent.start();
        agent.awaitPorts(90_000, utf8InPort, latin1InPort);
    }

    @AfterClass
    public static void stopAgentAndHub() throws Exception {
        try {
            if (agent != null) {
                agent.close();
            }
        } finally {
            if (hub != null) {
                hub.stop();
            }
        }
    }

    private static String seed() {
        return HubSeed.agent(AGENT_ID, "interop")
                .channel("utf8-in", "mllp://0.0.0.0:" + utf8InPort)
                .channel("latin1-in", "mllp://0.0.0.0:" + latin1InPort + "?encoding=iso-8859-1")
                .device("hapi-device", "mllp://127.0.0.1:" + hapiDevicePort)
                .device("hapi-latin1-device", "mllp://127.0.0.1:" + hapiLatin1DevicePort + "?encoding=iso-8859-1")
                .device("raw-latin1-device", "mllp://127.0.0.1:" + rawLatin1DevicePort + "?encoding=iso-8859-1")
                .json();
    }

    /** The body the hub received from {@code channel} for the message with this MSH-10. */
    private static String hubBody(String channel, String controlId) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5_000;
        while (true) {
            List<ReceivedMessage> all = hub.receivedMessages();
            for (ReceivedMessage m : all) {
                if (channel.equals(m.channel()) && m.body() != null && controlId.equals(field(m.body(), "MSH", 10))) {
                    assertFalse("hub truncated the body of " + controlId, m.bodyTruncated());
                    return m.body();
                }
            }
            if (System.currentTimeMillis() > deadline) {
                fail("the hub never received " + controlId + " on channel " + channel + "; it has: "
                        + all.stream().map(m -> m.channel() + ":" + field(m.body(), "MSH", 10)).collect(Collectors.joining(", ")));
            }
            Thread.sleep(50);
        }
    }

    private static void assertAa(String context, String ack, String controlId) {
        assertEquals(context + " MSA-1; ACK: " + show(ack), "AA", field(ack, "MSA", 1));
        assertEquals(context + " MSA-2; ACK: " + show(ack), controlId, field(ack, "MSA", 2));
    }

    private static final AtomicLong HAPI_IDS = new AtomicLong();

    /** HAPI's default ID generator writes an id_file into the working directory; keep IDs in memory. */
    private static HapiContext hapiContext() {
        HapiContext ctx = new DefaultHapiContext();
        ctx.getParserConfiguration().setIdGenerator(() -> "HAPI" + HAPI_IDS.incrementAndGet());
        return ctx;
    }

    // ---- 1. HAPI as sender ----

    @Test
    public void t1_hapiSenderGetsHubAckAndHubGetsHapisBytes() throws Exception {
        try (HapiContext ctx = hapiContext()) {
            ADT_A01 adt = ctx.newMessage(ADT_A01.class);
            adt.initQuickstart("ADT", "A01", "P");
            adt.getMSH().getSendingApplication().getNamespaceID().setValue("HAPI");
            adt.getMSH().getSendingFacility().getNamespaceID().setValue("SENDFAC");
            adt.getMSH().getReceivingApplication().getNamespaceID().setValue("EDGE");
            PID pid = adt.getPID();
            pid.getPatientIdentifierList(0).getIDNumber().setValue("HAPI-4711");
            pid.getPatientName(0).getFamilyName().getSurname().setValue("Doe");
            pid.getPatientName(0).getGivenName().setValue("Jane");
            String controlId = adt.getMSH().getMessageControlID().getValue();
            assertNotNull("HAPI generated no MSH-10", controlId);
            String encoded = adt.encode();

            Connection conn = ctx.newClient("127.0.0.1", utf8InPort, false);
            try {
                Initiator initiator = conn.getInitiator();
                initiator.setTimeout(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                Message response = initiator.sendAndReceive(adt);
                Terser t = new Terser(response);
                String ack = response.encode();
                assertEquals("ACK: " + show(ack), "AA", t.get("/MSA-1"));
                assertEquals("ACK: " + show(ack), controlId, t.get("/MSA-2"));
                assertEquals("sender and receiver swapped; ACK: " + show(ack), "HAPI", t.get("/MSH-5"));
            } finally {
                conn.close();
            }
            assertEquals("the hub must receive exactly what HAPI encoded", encoded, hubBody("utf8-in", controlId));
        }
    }

    // ---- 2. HAPI as the device of a $push ----

    /** HAPI binds its server to the wildcard address; keep the test device on loopback. */
    private static final class LoopbackSocketFactory extends StandardSocketFactory {
        @Override
        public ServerSocket createServerSocket() throws IOException {
            return new ServerSocket() {
                @Override
                public void bind(SocketAddress endpoint, int backlog) throws IOException {
                    int port = ((InetSocketAddress) endpoint).getPort();
                    super.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), backlog);
                }
            };
        }
    }

    /** Answers AA to everything and keeps what HAPI decoded, raw text and parsed PID-5. */
    private static final class RecordingApp implements ReceivingApplication<Message> {
        final BlockingQueue<String> raw = new LinkedBlockingQueue<>();
        final BlockingQueue<String> names = new LinkedBlockingQueue<>();

        @Override
        public Message processMessage(Message msg, Map<String, Object> metadata) throws HL7Exception {
            raw.add(String.valueOf(metadata.get(MetadataKeys.IN_RAW_MESSAGE)));
            Terser t = new Terser(msg);
            names.add(t.get("/.PID-5-1") + "^" + t.get("/.PID-5-2"));
            try {
                return msg.generateACK();
            } catch (IOException e) {
                throw new HL7Exception(e);
            }
        }

        @Override
        public boolean canProcess(Message msg) {
            return true;
        }
    }

    private static void pushThroughHapiDevice(int port, String deviceId, String controlId, String family, String given)
            throws Exception {
        try (HapiContext ctx = hapiContext()) {
            ctx.setSocketFactory(new LoopbackSocketFactory());
            RecordingApp app = new RecordingApp();
            HL7Service server = ctx.newServer(port, false);
            server.registerApplication(app);
            server.startAndWait();
            try {
                String orm = "MSH|^~\\&|HIS|HOSP|LAB|LAB|20250101120000||ORM^O01^ORM_O01|" + controlId + "|P|2.5\r"
                        + "PID|1||P-" + controlId + "||" + family + "^" + given + "\r"
                        + "ORC|NW|O-" + controlId + "\r";
                PushAnswer res = HubHttp.push(hub.port(), AGENT_ID, "Device/" + deviceId, orm, TIMEOUT_MS);
                assertEquals("$push to " + deviceId + " answered: " + show(res.body()), 200, res.status());
                assertAa("HAPI device " + deviceId, res.body(), controlId);
                assertEquals("HAPI's ACK names it as the sender", "LAB", field(res.body(), "MSH", 3));
                String raw = app.raw.poll(1, TimeUnit.SECONDS);
                assertNotNull("HAPI acknowledged but its application saw no message", raw);
                assertEquals("what HAPI decoded on " + deviceId + " (raw: " + show(raw) + ")",
                        family + "^" + given, app.names.poll(1, TimeUnit.SECONDS));
            } finally {
                server.stopAndWait();
            }
        }
    }

    @Test
    public void t2a_hapiDeviceAcksPush() throws Exception {
        // HAPI's MLLP layer is US-ASCII by default, so this device gets ASCII text only.
        pushThroughHapiDevice(hapiDevicePort, "hapi-device", "HAPIPUSH01", "Smith", "John");
    }

    @Test
    public void t2b_hapiLatin1DeviceAcksPushWithNonAsciiText() throws Exception {
        String previous = System.getProperty(MllpConstants.CHARSET_KEY);
        // HAPI reads the property per connection, so it must be set before the agent connects.
        System.setProperty(MllpConstants.CHARSET_KEY, "ISO-8859-1");
        try {
            pushThroughHapiDevice(hapiLatin1DevicePort, "hapi-latin1-device", "HAPIPUSH02", "Müller", "Renée");
        } finally {
            if (previous == null) {
                System.clearProperty(MllpConstants.CHARSET_KEY);
            } else {
                System.setProperty(MllpConstants.CHARSET_KEY, previous);
            }
        }
    }

    // ---- 3. Non-ASCII byte-exact, both directions ----

    private static void sendNonAscii(int port, String channel, Charset charset, String message, String controlId,
            String sendingApp, String sendingFacility) throws Exception {
        byte[] ackBytes = MllpIo.sendAndReceive(port, message, charset, TIMEOUT_MS);
        String ack = new String(ackBytes, charset);
        assertAa(channel, ack, controlId);
        assertEquals("ACK on " + channel + " must be encoded in " + charset + " (MSH-5 = original sending app); ACK: " + show(ack),
                sendingApp, field(ack, "MSH", 5));
        assertEquals("ACK on " + channel + " must be encoded in " + charset + " (MSH-6 = original facility); ACK: " + show(ack),
                sendingFacility, field(ack, "MSH", 6));
        assertArrayEquals("ACK bytes on " + channel + " re-encode to the same " + charset + " bytes", ackBytes, ack.getBytes(charset));
        assertEquals("the hub must receive the text exactly as sent on " + channel, message, hubBody(channel, controlId));
    }

    @Test
    public void t3a_utf8NonAsciiArrivesByteExactAndAckComesBackInUtf8() throws Exception {
        String msg = "MSH|^~\\&|ÉCHO|東京病院|LABADT|MCM|20250101120000||ADT^A01^ADT_A01|UTF80001|P|2.5||||||UNICODE UTF-8\r"
                + "EVN|A01|20250101120000\r"
                + "PID|1||PATID1234^^^MCM^MR||Müller^José^Łukasz 東京||19610615|M\r"
                + "PV1|1|I|2000^2012^01\r";
        sendNonAscii(utf8InPort, "utf8-in", UTF_8, msg, "UTF80001", "ÉCHO", "東京病院");
    }

    @Test
    public void t3b_latin1NonAsciiArrivesByteExactAndAckComesBackInLatin1() throws Exception {
        String msg = "MSH|^~\\&|KLINIK|Fürth|LABADT|MCM|20250101120000||ADT^A01^ADT_A01|LATIN0001|P|2.5||||||8859/1\r"
                + "EVN|A01|20250101120000\r"
                + "PID|1||PATID5678^^^MCM^MR||Müller^Renée||19700101|F\r"
                + "PV1|1|I|2000^2012^01\r";
        sendNonAscii(latin1InPort, "latin1-in", ISO_8859_1, msg, "LATIN0001", "KLINIK", "Fürth");
    }

    @Test
    public void t3c_pushToLatin1DeviceIsEncodedInLatin1() throws Exception {
        String orm = "MSH|^~\\&|HIS|HÔPITAL|LAB|LAB|20250101120000||ORM^O01^ORM_O01|LATINPUSH1|P|2.5||||||8859/1\r"
                + "PID|1||P1||Müller^Renée\r"
                + "ORC|NW|O1\r";
        try (RawDevice device = new RawDevice(rawLatin1DevicePort, ISO_8859_1, "Empfangen für Renée")) {
            PushAnswer res = HubHttp.push(hub.port(), AGENT_ID, "Device/raw-latin1-device", orm, TIMEOUT_MS);
            assertEquals("$push answered: " + show(res.body()), 200, res.status());
            assertAa("raw ISO-8859-1 device", res.body(), "LATINPUSH1");
            assertEquals("the device's ISO-8859-1 ACK must be decoded as ISO-8859-1", "Empfangen für Renée",
                    field(res.body(), "MSA", 3));
            byte[] got = device.next(1_000);
            assertNotNull("the device answered but recorded no frame", got);
            assertArrayEquals("bytes at the device must be the message encoded as ISO-8859-1 (got: "
                    + show(new String(got, ISO_8859_1)) + ")", orm.getBytes(ISO_8859_1), got);
        }
    }

    // ---- 4. python3-hl7 mllp_send ----

    @Test
    public void t4_pythonMllpSendGetsAa() throws Exception {
        String mllpSend = findOnPath("mllp_send");
        assertNotNull("mllp_send (Debian python3-hl7) is not installed; run .ci/install-peers.sh", mllpSend);
        Path file = Files.createTempFile(Path.of(System.getProperty("edge.target", "target")), "mllp-send-", ".hl7");
        try {
            // A text file with LF line ends, as people keep them; --loose turns them into CR segments.
            Files.writeString(file, "MSH|^~\\&|PYHL7|PYFAC|LABADT|MCM|20250101120000||ADT^A01^ADT_A01|PY0001|P|2.5\n"
                    + "EVN|A01|20250101120000\n"
                    + "PID|1||PATID9^^^MCM^MR||PYTHON^MONTY||19690101|M\n", UTF_8);
            String out = AgentProcess.run(file.getParent(), 30, mllpSend, "--loose", "-p", Integer.toString(utf8InPort),
                    "-f", file.toString(), "127.0.0.1");
            assertTrue("mllp_send output has no AA ACK for PY0001:\n" + out, out.contains("MSA|AA|PY0001"));
            String body = hubBody("utf8-in", "PY0001");
            assertEquals("PID-5 at the hub; body: " + show(body), "PYTHON^MONTY", field(body, "PID", 5));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static String findOnPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
