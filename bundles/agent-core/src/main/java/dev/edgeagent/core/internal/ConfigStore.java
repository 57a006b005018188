package dev.edgeagent.core.internal;

import java.io.IOException;
import java.util.Dictionary;

/** The slice of Config Admin the core needs, so bootstrap handling can be tested without a framework. */
interface ConfigStore {
    /** The properties of an existing configuration, or null when there is none. */
    Dictionary<String, Object> get(String pid) throws IOException;

    /** Creates or updates a configuration with exactly these properties. */
    void update(String pid, Dictionary<String, Object> properties) throws IOException;
}
