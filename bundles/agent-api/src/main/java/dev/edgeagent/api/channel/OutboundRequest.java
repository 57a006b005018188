package dev.edgeagent.api.channel;

/**
 * A server push to a device ({@code agent:transmit:request} from the server).
 *
 * @param remote      the target URL, e.g. {@code mllp://10.0.0.9:2575?encoding=latin1} (a Device.url)
 * @param contentType content type of the body
 * @param body        the message
 * @param returnAck   {@code first}/{@code application} or null (case-insensitive; validated by the connector)
 */
public record OutboundRequest(String remote, String contentType, String body, String returnAck) {
}
