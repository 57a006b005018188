package dev.edgeagent.api.message;

/** A frame that could not be decoded; carries the callback when one could be read, so the error can be echoed. */
public class MessageFormatException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String callback;

    public MessageFormatException(String message, String callback) {
        super(message);
        this.callback = callback;
    }

    public String callback() {
        return callback;
    }
}
