package dev.edgeagent.api.ops;

import dev.edgeagent.api.message.AgentMessage;
import java.util.concurrent.CompletionStage;

/**
 * Handles one server request type, registered as an OSGi service with the property
 * {@value #TYPE_PROPERTY} set to the request type (e.g. {@code agent:upgrade:request}). The core routes
 * requests it does not handle itself to the matching handler; a request type with no handler is answered
 * {@code agent:error "Unknown message type: <type>"}.
 */
public interface OperationHandler {
    String TYPE_PROPERTY = "edgeagent.operation";

    /**
     * @return the response frame (its {@code callback} is set by the core if missing); an exceptional
     *         completion is answered with {@code agent:error} carrying the exception message
     */
    CompletionStage<AgentMessage> handle(AgentMessage request);
}
