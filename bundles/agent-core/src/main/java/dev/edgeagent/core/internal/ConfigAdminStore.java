package dev.edgeagent.core.internal;

import java.io.IOException;
import java.util.Dictionary;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/** {@link ConfigStore} over the OSGi Config Admin service. */
final class ConfigAdminStore implements ConfigStore {
    private final ConfigurationAdmin admin;

    ConfigAdminStore(ConfigurationAdmin admin) {
        this.admin = admin;
    }

    @Override
    public Dictionary<String, Object> get(String pid) throws IOException {
        try {
            Configuration[] found = admin.listConfigurations("(service.pid=" + pid + ")");
            return found == null || found.length == 0 ? null : found[0].getProperties();
        } catch (InvalidSyntaxException e) {
            throw new IOException("Invalid PID '" + pid + "'", e);
        }
    }

    @Override
    public void update(String pid, Dictionary<String, Object> properties) throws IOException {
        // "?" = multi-location: the transport bundle must see this configuration too.
        admin.getConfiguration(pid, "?").update(properties);
    }
}
