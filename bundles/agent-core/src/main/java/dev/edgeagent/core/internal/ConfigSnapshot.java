package dev.edgeagent.core.internal;

import dev.edgeagent.api.message.MessageCodec;
import dev.edgeagent.api.message.MessageFormatException;
import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.CloudException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The last configuration that applied end to end (spec §3.5 "Snapshot"): the Agent and Endpoint resources exactly as
 * read from the server, so a boot without the server can plan from them with the same validation as a live read.
 * Written atomically (temp file, fsync, rename) so a crash mid-write leaves the previous snapshot intact.
 */
final class ConfigSnapshot {
    static final String FILE_NAME = "applied-config.json";

    /** One parsed snapshot. {@code agent} and {@code endpoints} are the resources as read from the server. */
    record Content(String appliedAt, String agentVersion, Map<String, Object> agent, List<Map<String, Object>> endpoints) {
        String agentId() {
            return agent.get("id") instanceof String s ? s : null;
        }

        /** Serves the snapshot's resources to {@link ConfigPlanner} in place of the server. */
        CloudClient asCloud() {
            Map<String, Map<String, Object>> byRef = new LinkedHashMap<>();
            byRef.put("Agent/" + agentId(), agent);
            for (Map<String, Object> ep : endpoints) {
                if (ep.get("id") instanceof String id) byRef.put("Endpoint/" + id, ep);
            }
            return new CloudClient() {
                @Override
                public Map<String, Object> read(String resourceType, String id) throws CloudException {
                    Map<String, Object> r = byRef.get(resourceType + "/" + id);
                    if (r == null) throw new CloudException(404, resourceType + "/" + id + " is not in the configuration snapshot");
                    return r;
                }

                @Override
                public String createBinary(String contentType, Path file) throws CloudException {
                    throw new CloudException(0, "The configuration snapshot cannot store binaries");
                }
            };
        }
    }

    private final Path file;

    ConfigSnapshot(Path file) {
        this.file = file;
    }

    Path file() {
        return file;
    }

    /** {@code karaf.data}/edge-agent/applied-config.json, else under {@code home}/data. */
    static Path defaultFile(Path home) {
        String data = System.getProperty("karaf.data");
        Path dir = data != null && !data.isBlank() ? Path.of(data) : home.resolve("data");
        return dir.resolve("edge-agent").resolve(FILE_NAME);
    }

    /**
     * Replaces the snapshot. Endpoints lacking an {@code id} get the one they were read under, so the boot fallback
     * can resolve {@code Agent.channel[].endpoint} references against them.
     *
     * @param endpoints reference id → Endpoint resource, in read order
     */
    void write(Map<String, Object> agent, Map<String, Map<String, Object>> endpoints, String agentVersion) throws IOException {
        List<Map<String, Object>> eps = new ArrayList<>(endpoints.size());
        endpoints.forEach((id, ep) -> {
            if (ep.get("id") instanceof String) {
                eps.add(ep);
            } else {
                Map<String, Object> copy = new LinkedHashMap<>(ep);
                copy.put("id", id);
                eps.add(copy);
            }
        });
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("appliedAt", Instant.now().toString());
        doc.put("agentVersion", agentVersion);
        doc.put("agent", agent);
        doc.put("endpoints", eps);
        byte[] bytes = MessageCodec.toJson(doc).getBytes(StandardCharsets.UTF_8);

        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) ch.write(buf);
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        // The rename is durable only once the directory entry is on disk; not every file system allows this.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // best effort: the data itself is already fsync'd
        }
    }

    /**
     * @return the snapshot, or null when there is none
     * @throws IOException when it exists but cannot be read or is not a snapshot (message says what is wrong)
     */
    Content read() throws IOException {
        if (!Files.exists(file)) return null;
        String json = Files.readString(file, StandardCharsets.UTF_8);
        Map<String, Object> doc;
        try {
            doc = MessageCodec.parseObject(json);
        } catch (MessageFormatException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (!(doc.get("agent") instanceof Map<?, ?> agent)) {
            throw new IOException("no \"agent\" object");
        }
        List<Map<String, Object>> eps = new ArrayList<>();
        if (doc.get("endpoints") instanceof List<?> l) {
            for (Object o : l) {
                if (o instanceof Map<?, ?> m) eps.add(stringKeys(m));
            }
        }
        return new Content(doc.get("appliedAt") instanceof String s ? s : "an unknown time",
                doc.get("agentVersion") instanceof String v ? v : null, stringKeys(agent), List.copyOf(eps));
    }

    private static Map<String, Object> stringKeys(Map<?, ?> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(String.valueOf(k), v));
        return out;
    }
}
