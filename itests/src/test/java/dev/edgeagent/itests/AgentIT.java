package dev.edgeagent.itests;

import static org.junit.Assert.*;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.*;

import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ChannelState;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.ops.AgentRuntime;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.api.transport.TransportStatus;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import javax.inject.Inject;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.LogLevelOption;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The real assembly, offline, against the hub running as its own process: HL7 in and ACK back, $push out to a
 * device, hot swap of the HL7 bundle while another channel carries traffic, hub restart, and the Medplum CLI
 * as a third-party peer. Methods run in name order because later steps disturb the system on purpose.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class AgentIT {

    @Inject
    BundleContext bundleContext;

    @Inject
    AgentRuntime runtime;

    @Configuration
    public Option[] config() throws Exception {
        // Runs in the driver JVM: pick ports, write the hub seed, start the hub before Karaf boots.
        int hubPort = HubControl.freePort();
        int mllpPort = HubControl.freePort();
        int linePort = HubControl.freePort();
        int devicePort = HubControl.freePort();
        int cliDevicePort = HubControl.freePort();
        Path target = Path.of(System.getProperty("edge.target", "target"));
        Path seed = target.resolve("itest-seed.json");
        Files.writeString(seed, HubControl.seed(mllpPort, linePort, devicePort, cliDevicePort));
        File hubLog = target.resolve("hub.log").toFile();
        String hubJar = System.getProperty("edge.hub.jar");
        Process hub = HubControl.start(hubJar, seed, hubPort, hubLog);
        Runtime.getRuntime().addShutdownHook(new Thread(hub::destroyForcibly));

        String m2 = System.getProperty("edge.m2");
        return new Option[] {
            karafDistributionConfiguration().frameworkUrl(new File(System.getProperty("edge.assembly")).toURI().toString())
                    .name("edge-agent").karafVersion("4.4.10").unpackDirectory(target.resolve("exam").toFile())
                    .useDeployFolder(false),
            keepRuntimeFolder(),
            configureConsole().ignoreLocalConsole(),
            logLevel(LogLevelOption.LogLevel.INFO),
            editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.defaultRepositories",
                    "file:${karaf.home}/system@id=system.repository@snapshots,file:" + m2 + "@id=m2@snapshots"),
            editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.repositories", ""),
            editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.offline", "true"),
            editConfigurationFilePut("etc/dev.edgeagent.cfg", "baseUrl", "http://127.0.0.1:" + hubPort + "/"),
            editConfigurationFilePut("etc/dev.edgeagent.cfg", "agentId", HubControl.AGENT_ID),
            editConfigurationFilePut("etc/dev.edgeagent.cfg", "heartbeatSeconds", "2"),
            systemProperty("itest.hub.port").value(Integer.toString(hubPort)),
            systemProperty("itest.hub.pid").value(Long.toString(hub.pid())),
            systemProperty("itest.hub.jar").value(hubJar),
            systemProperty("itest.hub.seed").value(seed.toString()),
            systemProperty("itest.hub.log").value(hubLog.toString()),
            systemProperty("itest.mllp.port").value(Integer.toString(mllpPort)),
            systemProperty("itest.line.port").value(Integer.toString(linePort)),
            systemProperty("itest.device.port").value(Integer.toString(devicePort)),
            systemProperty("itest.cli.device.port").value(Integer.toString(cliDevicePort)),
            systemProperty("itest.medplum.cli").value(System.getProperty("edge.medplum.cli", "")),
            systemProperty("itest.target").value(target.toAbsolutePath().toString()),
        };
    }

    private static int port(String name) {
        return Integer.parseInt(System.getProperty(name));
    }

    private void await(String what, long timeoutMs, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                fail("Timed out after " + timeoutMs + " ms waiting for " + what + "; agent status " + runtime.status()
                        + ", channels " + runtime.channels());
            }
            Thread.sleep(100);
        }
    }

    private ChannelStats channel(String name) {
        return runtime.channels().stream().filter(c -> c.name().equals(name)).findFirst().orElse(null);
    }

    private boolean listening(String name) {
        ChannelStats c = channel(name);
        return c != null && c.state() == ChannelState.LISTENING;
    }

    private boolean live() {
        TransportStatus t = runtime.status().link();
        return t != null && t.state() == LinkState.LIVE;
    }

    private void awaitAdtListening() throws InterruptedException {
        await("link LIVE", 60_000, this::live);
        await("channel adt-in LISTENING", 60_000, () -> listening("adt-in"));
    }

    private static void assertAckFor(String controlId, String ack) {
        assertNotNull("no ACK received for " + controlId, ack);
        assertEquals("ACK: " + ack, "AA", Mllp.field(ack, "MSA", 1));
        assertEquals("ACK: " + ack, controlId, Mllp.field(ack, "MSA", 2));
    }

    @Test
    public void t1_inboundAdtGetsTheHubsAck() throws Exception {
        awaitAdtListening();
        String ack = Mllp.sendAndReceive(port("itest.mllp.port"), Mllp.adtA01("ITEST0001"), 15_000);
        assertAckFor("ITEST0001", ack);
        assertEquals("ACK^A01^ACK", Mllp.field(ack, "MSH", 9));
        assertEquals("sending and receiving application are swapped", "LABADT", Mllp.field(ack, "MSH", 3));
    }

    @Test
    public void t2_pushReachesDeviceAndAckComesBackOverHttp() throws Exception {
        awaitAdtListening();
        try (Mllp.AckListener device = new Mllp.AckListener(port("itest.device.port"))) {
            String orm = "MSH|^~\\&|HIS|HOSP|LAB|LAB|20250101120000||ORM^O01|PUSH0001|P|2.5\rPID|1||P1\rORC|NW|O1\r";
            HttpResponse<String> res = HubControl.push(port("itest.hub.port"), "Device/test-device",
                    "x-application/hl7-v2+er7", orm, 15_000);
            assertEquals("push answer: " + res.body(), 200, res.statusCode());
            assertEquals("PUSH0001", Mllp.field(res.body(), "MSA", 2));
            assertEquals("AA", Mllp.field(res.body(), "MSA", 1));
            assertEquals(1, device.received.get());
        }
    }

    @Test
    public void t2b_pingThroughTheAgentReturnsThePingOutput() throws Exception {
        awaitAdtListening();
        HttpResponse<String> res = HubControl.push(port("itest.hub.port"), "127.0.0.1", "x-application/ping", "PING", 15_000);
        assertEquals("ping answer: " + res.body(), 200, res.statusCode());
        assertTrue("ping output: " + res.body(), res.body().contains("1 packets transmitted, 1 received"));
    }

    @Test
    public void t3_hl7BundleUpdateLeavesLinkAndOtherChannelsRunning() throws Exception {
        // A channel served by another bundle (this probe), to show a protocol swap disturbs nothing else.
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ChannelFactory.SCHEMES_PROPERTY, new String[] {"tcp"});
        ServiceRegistration<ChannelFactory> reg = bundleContext.registerService(ChannelFactory.class, new LineChannelFactory(), props);
        try {
            awaitAdtListening();
            await("channel line-in LISTENING", 30_000, () -> listening("line-in"));
            long linkSince = runtime.status().link().since();

            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger answered = new AtomicInteger();
            AtomicReference<String> failure = new AtomicReference<>();
            Thread traffic = new Thread(() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port("itest.line.port")), 5_000);
                    s.setSoTimeout(20_000);
                    OutputStream os = s.getOutputStream();
                    BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                    int i = 0;
                    while (!stop.get()) {
                        os.write(("hello " + i++ + "\n").getBytes(StandardCharsets.UTF_8));
                        os.flush();
                        String line = r.readLine();
                        if (line == null || !line.startsWith("200 ")) {
                            failure.compareAndSet(null, "line channel answer #" + i + ": " + line);
                            return;
                        }
                        answered.incrementAndGet();
                        Thread.sleep(20);
                    }
                } catch (Exception e) {
                    failure.compareAndSet(null, e.toString());
                }
            }, "itest-line-traffic");
            traffic.start();
            await("line traffic flowing", 15_000, () -> answered.get() > 5 || failure.get() != null);

            Bundle hl7 = findBundle("dev.edgeagent.channel-hl7");
            long hl7Id = hl7.getBundleId();
            int before = answered.get();
            hl7.update();
            // The HL7 channel goes away with the bundle and comes back from the current config by itself.
            awaitAdtListening();
            String ack = Mllp.sendAndReceive(port("itest.mllp.port"), Mllp.adtA01("ITEST0003"), 15_000);
            assertAckFor("ITEST0003", ack);
            await("more line traffic after the swap", 15_000, () -> answered.get() > before + 20 || failure.get() != null);
            stop.set(true);
            traffic.join(25_000);

            assertNull("traffic on the other channel failed during the swap", failure.get());
            assertEquals("same bundle, updated in place", hl7Id, findBundle("dev.edgeagent.channel-hl7").getBundleId());
            assertTrue(live());
            assertEquals("the cloud link was not re-established by the swap", linkSince, runtime.status().link().since());
        } finally {
            reg.unregister();
        }
    }

    @Test
    public void t4_agentReconnectsAfterHubRestart() throws Exception {
        awaitAdtListening();
        ProcessHandle.of(Long.parseLong(System.getProperty("itest.hub.pid"))).ifPresent(ProcessHandle::destroyForcibly);
        await("link to notice the hub is gone", 30_000, () -> !live());
        Process hub = HubControl.start(System.getProperty("itest.hub.jar"), Path.of(System.getProperty("itest.hub.seed")),
                port("itest.hub.port"), new File(System.getProperty("itest.hub.log")));
        // Pax Exam runs each method as its own JUnit request, so @AfterClass would run right after this method:
        // the restarted hub lives until the Karaf JVM exits.
        Runtime.getRuntime().addShutdownHook(new Thread(hub::destroyForcibly));
        await("link LIVE again after hub restart", 60_000, this::live);
        awaitAdtListening();
        String ack = Mllp.sendAndReceive(port("itest.mllp.port"), Mllp.adtA01("ITEST0004"), 15_000);
        assertAckFor("ITEST0004", ack);
    }

    @Test
    public void t5_medplumCliSendsIntoTheAgent() throws Exception {
        awaitAdtListening();
        String out = runMedplum(60, "hl7", "send", "127.0.0.1", System.getProperty("itest.mllp.port"), "--generate-example");
        assertTrue("medplum hl7 send output did not contain an AA ACK:\n" + out, out.contains("MSA|AA|"));
    }

    @Test
    public void t6_medplumCliListensAsTheDeviceForAPush() throws Exception {
        awaitAdtListening();
        int port = port("itest.cli.device.port");
        Process listener = startMedplum("hl7", "listen", Integer.toString(port));
        try {
            HubControl.waitForPort(port, 30_000);
            String orm = "MSH|^~\\&|HIS|HOSP|LAB|LAB|20250101120000||ORM^O01|CLI0001|P|2.5\rPID|1||P1\rORC|NW|O1\r";
            HttpResponse<String> res = HubControl.push(port("itest.hub.port"), "Device/medplum-cli-device",
                    "x-application/hl7-v2+er7", orm, 15_000);
            assertEquals("push answer: " + res.body(), 200, res.statusCode());
            assertEquals("CLI0001", Mllp.field(res.body(), "MSA", 2));
            assertEquals("AA", Mllp.field(res.body(), "MSA", 1));
        } finally {
            listener.destroyForcibly();
        }
    }

    private Bundle findBundle(String bsn) {
        for (Bundle b : bundleContext.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return b;
            }
        }
        fail("bundle " + bsn + " is not installed");
        return null;
    }

    private static List<String> medplumCommand(String... args) {
        String cli = System.getProperty("itest.medplum.cli", "");
        assertTrue("The Medplum CLI is not installed at '" + cli + "'; run .ci/install-peers.sh (the README's test command does)",
                !cli.isEmpty() && new File(cli).canExecute());
        List<String> cmd = new ArrayList<>();
        cmd.add(cli);
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static Process startMedplum(String... args) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(medplumCommand(args));
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(new File(System.getProperty("itest.target"), "medplum-listen.log")));
        return pb.start();
    }

    private static String runMedplum(int timeoutSeconds, String... args) throws Exception {
        File log = File.createTempFile("medplum-", ".log", new File(System.getProperty("itest.target")));
        ProcessBuilder pb = new ProcessBuilder(medplumCommand(args));
        pb.redirectErrorStream(true);
        pb.redirectOutput(log);
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("medplum " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s:\n"
                    + Files.readString(log.toPath()));
        }
        return Files.readString(log.toPath());
    }
}
