package dev.edgeagent.api.channel;

import java.util.List;
import java.util.Set;

/**
 * Registered as an OSGi service by a protocol bundle. The core matches each Endpoint address against
 * {@link #schemes()} (by prefix, as Medplum does: {@code mllp}, {@code dicom}, {@code tcp}) and creates one
 * channel per matching {@code Agent.channel}. When the service goes away, the core stops the channels it
 * created; when it comes back, the core recreates them from the current configuration.
 */
public interface ChannelFactory {
    /** Service property with the schemes, for diagnostics ({@code String[]}). */
    String SCHEMES_PROPERTY = "edgeagent.schemes";

    /** The name operators see in logs and tables, e.g. {@code HL7} (log prefix {@code [HL7:<name>]}). */
    String type();

    /** Address prefixes this factory serves, e.g. {@code mllp}. */
    Set<String> schemes();

    /** Protocol-specific checks of the Endpoint parameters; warnings keep Medplum's texts. No side effects. */
    List<ConfigIssue> validate(ChannelConfig config);

    /** Creates a channel (not yet started). */
    Channel create(ChannelConfig config, ChannelContext context);
}
