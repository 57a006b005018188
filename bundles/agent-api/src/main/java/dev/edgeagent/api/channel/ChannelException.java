package dev.edgeagent.api.channel;

/** A channel could not start or be reconfigured; the message is for operators. */
public class ChannelException extends Exception {
    private static final long serialVersionUID = 1L;

    public ChannelException(String message) {
        super(message);
    }

    public ChannelException(String message, Throwable cause) {
        super(message, cause);
    }
}
