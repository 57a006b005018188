package dev.edgeagent.itests;

import dev.edgeagent.itests.support.HubHttp;
import dev.edgeagent.itests.support.MllpIo;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

/** Starts the hub as a separate process and talks to it over HTTP. Used on both sides of Pax Exam. */
final class HubControl {
    static final String CLIENT_ID = HubHttp.CLIENT_ID;
    static final String CLIENT_SECRET = HubHttp.CLIENT_SECRET;
    static final String AGENT_ID = "itest-agent";

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HubControl() {}

    static int freePort() throws IOException {
        return MllpIo.freePort();
    }

    static String seed(int mllpPort, int linePort, int devicePort, int cliDevicePort) {
        return "{\n"
                + " \"clients\": [{\"clientId\": \"" + CLIENT_ID + "\", \"clientSecret\": \"" + CLIENT_SECRET + "\"}],\n"
                + " \"resources\": [\n"
                + "  {\"resourceType\": \"Agent\", \"id\": \"" + AGENT_ID + "\", \"name\": \"itest\", \"status\": \"active\",\n"
                + "   \"identifier\": [{\"system\": \"https://edgeagent.dev/itest\", \"value\": \"agent-1\"}],\n"
                + "   \"setting\": [],\n"
                + "   \"channel\": [\n"
                + "    {\"name\": \"adt-in\", \"endpoint\": {\"reference\": \"Endpoint/ep-adt\"}, \"targetReference\": {\"reference\": \"Bot/ack\"}},\n"
                + "    {\"name\": \"line-in\", \"endpoint\": {\"reference\": \"Endpoint/ep-line\"}, \"targetReference\": {\"reference\": \"Bot/echo\"}}]},\n"
                + "  {\"resourceType\": \"Endpoint\", \"id\": \"ep-adt\", \"status\": \"active\", \"address\": \"mllp://0.0.0.0:" + mllpPort + "\"},\n"
                + "  {\"resourceType\": \"Endpoint\", \"id\": \"ep-line\", \"status\": \"active\", \"address\": \"tcp://0.0.0.0:" + linePort + "\"},\n"
                + "  {\"resourceType\": \"Device\", \"id\": \"test-device\", \"url\": \"mllp://127.0.0.1:" + devicePort + "\"},\n"
                + "  {\"resourceType\": \"Device\", \"id\": \"medplum-cli-device\", \"url\": \"mllp://127.0.0.1:" + cliDevicePort + "\"}\n"
                + " ]\n}\n";
    }

    static Process start(String jar, Path seed, int port, File log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx96m", "-jar", jar, "--port", Integer.toString(port),
                "--seed", seed.toString(), "--heartbeat-ms", "5000");
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        Process p = pb.start();
        waitForPort(port, 30_000);
        return p;
    }

    static void waitForPort(int port, long timeoutMs) throws IOException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("Nothing listening on port " + port + " after " + timeoutMs + " ms", e);
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException(ie);
                }
            }
        }
    }

    /** POST {base}fhir/R4/Agent/{id}/$push and return the raw HTTP response. */
    static HttpResponse<String> push(int hubPort, String deviceRef, String contentType, String body, int waitTimeoutMs) throws Exception {
        String json = "{\"destination\":\"" + deviceRef + "\",\"contentType\":\"" + contentType + "\",\"body\":\""
                + body.replace("\\", "\\\\").replace("\r", "\\r").replace("\"", "\\\"")
                + "\",\"waitForResponse\":true,\"waitTimeout\":" + waitTimeoutMs + "}";
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hubPort + "/fhir/R4/Agent/" + AGENT_ID + "/$push"))
                .header("Authorization", "Bearer " + HubHttp.token(hubPort))
                .header("Content-Type", "application/fhir+json")
                .timeout(Duration.ofMillis(waitTimeoutMs + 10_000L))
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build();
        return HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    }
}
