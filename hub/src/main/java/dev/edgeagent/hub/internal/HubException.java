package dev.edgeagent.hub.internal;

/** An HTTP failure that maps to a FHIR OperationOutcome; the message is the operator-facing text. */
public class HubException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String code;

    public HubException(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    public static HubException badRequest(String message) {
        return new HubException(400, "invalid", message);
    }

    public static HubException notFound() {
        return new HubException(404, "not-found", "Not found");
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }
}
