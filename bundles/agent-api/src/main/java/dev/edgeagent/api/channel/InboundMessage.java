package dev.edgeagent.api.channel;

/**
 * A message a device sent to a channel, on its way to the server.
 *
 * @param remote        the device connection as {@code <address>:<port>} (spec Q15); for DICOM the calling AE title
 * @param contentType   e.g. {@code x-application/hl7-v2+er7}
 * @param body          the message text as sent on the wire ({@code body} of agent:transmit:request)
 * @param messageId     the protocol's message id (HL7 MSH-10) for logs, stats and duplicate detection; may be null
 * @param commitAckOwed true when the channel sends the device a commit-level acknowledgement (HL7 CA, or AA in
 *                      {@code enhanced=aa}) as soon as {@link Submission#accepted()} completes: the runtime then
 *                      stores the message durably before completing it. False when the device's only answer is the
 *                      server's (HL7 standard mode): nothing is acknowledged early, so the runtime sends it straight
 *                      to the server and the device gets no positive answer for a message the server did not answer.
 * @since 1.1
 */
public record InboundMessage(String remote, String contentType, String body, String messageId, boolean commitAckOwed) {

    /** A message that owes no commit-level acknowledgement (the 1.0 form). */
    public InboundMessage(String remote, String contentType, String body, String messageId) {
        this(remote, contentType, body, messageId, false);
    }
}
