package dev.edgeagent.api.transport;

/** A failed REST call: {@link #status()} is the HTTP status, or 0 when no HTTP answer was received. */
public class CloudException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int status;

    public CloudException(int status, String message) {
        super(message);
        this.status = status;
    }

    public CloudException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
