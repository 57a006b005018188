package dev.edgeagent.core.internal;

import dev.edgeagent.api.transport.CloudClient;
import dev.edgeagent.api.transport.CloudException;
import dev.edgeagent.api.transport.Transport;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/** The cloud client of whichever transport is bound now, so channels keep a stable reference across swaps. */
final class TransportCloudClient implements CloudClient {
    private final Supplier<Transport> transport;

    TransportCloudClient(Supplier<Transport> transport) {
        this.transport = transport;
    }

    private CloudClient current() throws CloudException {
        Transport t = transport.get();
        if (t == null) {
            throw new CloudException(0, "No transport deployed: the server cannot be reached");
        }
        return t.cloud();
    }

    @Override
    public Map<String, Object> read(String resourceType, String id) throws CloudException {
        return current().read(resourceType, id);
    }

    @Override
    public String createBinary(String contentType, Path file) throws CloudException {
        return current().createBinary(contentType, file);
    }
}
