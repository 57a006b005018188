package dev.edgeagent.api.channel;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code Agent.setting} as name → value (the {@code value[x]} of each entry), re-read on every reload
 * (spec §3.3). Unknown names are kept so newer protocol bundles can read settings the core does not know.
 */
public final class AgentSettings {
    public static final AgentSettings EMPTY = new AgentSettings(Map.of());

    private final Map<String, Object> values;

    public AgentSettings(Map<String, Object> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** Builds settings from the FHIR {@code setting} array ({@code [{name, valueBoolean|valueInteger|...}]}). */
    @SuppressWarnings("unchecked")
    public static AgentSettings fromFhir(List<?> settingArray) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (settingArray != null) {
            for (Object o : settingArray) {
                if (!(o instanceof Map)) continue;
                Map<String, Object> s = (Map<String, Object>) o;
                Object name = s.get("name");
                if (!(name instanceof String)) continue;
                for (Map.Entry<String, Object> e : s.entrySet()) {
                    if (e.getKey().startsWith("value")) {
                        m.put((String) name, e.getValue());
                        break;
                    }
                }
            }
        }
        return new AgentSettings(m);
    }

    public Map<String, Object> values() {
        return values;
    }

    public Object get(String name) {
        return values.get(name);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public boolean getBoolean(String name, boolean dflt) {
        Object v = values.get(name);
        if (v instanceof Boolean) return (Boolean) v;
        if (v instanceof String) return Boolean.parseBoolean(((String) v).trim());
        return dflt;
    }

    /** A non-negative whole number, or {@code dflt} when absent or invalid (spec §3.3: invalid values are ignored). */
    public int getNonNegativeInt(String name, int dflt) {
        Object v = values.get(name);
        if (v instanceof Number) {
            double d = ((Number) v).doubleValue();
            if (d >= 0 && d == Math.rint(d) && d <= Integer.MAX_VALUE) return (int) d;
        }
        return dflt;
    }

    public String getString(String name, String dflt) {
        Object v = values.get(name);
        return v == null ? dflt : v.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AgentSettings && ((AgentSettings) o).values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
