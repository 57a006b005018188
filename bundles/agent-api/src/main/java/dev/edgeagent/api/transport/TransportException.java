package dev.edgeagent.api.transport;

/** The transport could not take a frame, e.g. its bounded outage buffer is full. */
public class TransportException extends Exception {
    private static final long serialVersionUID = 1L;

    public TransportException(String message) {
        super(message);
    }

    public TransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
