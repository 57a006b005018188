package dev.edgeagent.api.channel;

/**
 * A message a device sent to a channel, on its way to the server.
 *
 * @param remote      the device connection as {@code <address>:<port>} (spec Q15); for DICOM the calling AE title
 * @param contentType e.g. {@code x-application/hl7-v2+er7}
 * @param body        the message text as sent on the wire ({@code body} of agent:transmit:request)
 * @param messageId   the protocol's message id (HL7 MSH-10) for logs, stats and duplicate detection; may be null
 */
public record InboundMessage(String remote, String contentType, String body, String messageId) {
}
