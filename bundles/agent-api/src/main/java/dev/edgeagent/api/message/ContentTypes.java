package dev.edgeagent.api.message;

/** MIME strings used in {@code contentType} (Medplum core ContentType). */
public final class ContentTypes {
    private ContentTypes() {}

    public static final String HL7_V2 = "x-application/hl7-v2+er7";
    public static final String PING = "x-application/ping";
    public static final String TEXT = "text/plain";
    public static final String JSON = "application/json";
    public static final String FHIR_JSON = "application/fhir+json";
    public static final String OCTET_STREAM = "application/octet-stream";
    public static final String DICOM = "application/dicom";
}
