package dev.edgeagent.api.channel;

/**
 * The server's answer to an inbound message, or the result of a push to a device.
 *
 * @param statusCode  HTTP-like status (200 success, ≥ 400 failure); an absent status on the wire is 200
 * @param contentType content type of {@code body}
 * @param body        the answer text (for HL7 the ACK)
 */
public record DeviceReply(int statusCode, String contentType, String body) {
    public boolean isSuccess() {
        return statusCode < 400;
    }
}
