package dev.edgeagent.api.transport;

import java.nio.file.Path;
import java.util.Map;

/**
 * FHIR REST access to the server ({@code {baseUrl}fhir/R4/...}) with the transport's OAuth2 token
 * (refreshed when needed; one retry after a 401). Calls block; do not call them on an I/O thread.
 */
public interface CloudClient {
    /**
     * Reads one resource, uncached.
     *
     * @return the resource as a JSON object map
     * @throws CloudException with the HTTP status (0 for I/O errors) and the server's message
     */
    Map<String, Object> read(String resourceType, String id) throws CloudException;

    /**
     * Creates a Binary from a file, streamed (for large payloads such as DICOM).
     *
     * @return the created resource id
     */
    String createBinary(String contentType, Path file) throws CloudException;
}
