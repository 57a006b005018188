package dev.edgeagent.itests.support;

import java.util.ArrayList;
import java.util.List;

/**
 * A hub seed (the {@code --seed} JSON): the tests' client, one Agent whose channels are each served by an Endpoint
 * {@code ep-<channel>} and answered by the hub's ACK bot, and optional Devices for pushes.
 */
public final class HubSeed {
    private final String agentId;
    private final String name;
    private final List<String> channels = new ArrayList<>();
    private final List<String> resources = new ArrayList<>();

    private HubSeed(String agentId, String name) {
        this.agentId = agentId;
        this.name = name;
    }

    public static HubSeed agent(String agentId, String name) {
        return new HubSeed(agentId, name);
    }

    /** A channel listening at {@code address}, e.g. {@code mllp://0.0.0.0:2575?enhanced=true}. */
    public HubSeed channel(String channel, String address) {
        channels.add("    {\"name\": \"" + channel + "\", \"endpoint\": {\"reference\": \"Endpoint/ep-" + channel
                + "\"}, \"targetReference\": {\"reference\": \"Bot/ack\"}}");
        resources.add("  {\"resourceType\": \"Endpoint\", \"id\": \"ep-" + channel + "\", \"status\": \"active\", \"address\": \""
                + address + "\"}");
        return this;
    }

    /** A Device a {@code $push} can name ({@code Device/<id>}), reached at {@code url}. */
    public HubSeed device(String id, String url) {
        resources.add("  {\"resourceType\": \"Device\", \"id\": \"" + id + "\", \"url\": \"" + url + "\"}");
        return this;
    }

    public String json() {
        List<String> all = new ArrayList<>();
        all.add("  {\"resourceType\": \"Agent\", \"id\": \"" + agentId + "\", \"name\": \"" + name + "\", \"status\": \"active\",\n"
                + "   \"setting\": [],\n"
                + "   \"channel\": [\n" + String.join(",\n", channels) + "]}");
        all.addAll(resources);
        return "{\n"
                + " \"clients\": [{\"clientId\": \"" + HubHttp.CLIENT_ID + "\", \"clientSecret\": \"" + HubHttp.CLIENT_SECRET + "\"}],\n"
                + " \"resources\": [\n" + String.join(",\n", all) + "\n ]\n}\n";
    }
}
