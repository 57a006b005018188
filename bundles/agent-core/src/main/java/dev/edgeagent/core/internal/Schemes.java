package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.OutboundConnector;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Address-prefix matching, as Medplum does it (spec Q17: {@code mllps://} is HL7, {@code tcp6…} byte stream).
 * The longest matching scheme wins so a more specific bundle can take over a sub-family of addresses.
 */
final class Schemes {
    /** Schemes the protocol knows even when no bundle serving them is deployed (spec §3.2). */
    static final List<String> BUILT_IN = List.of("dicom", "mllp", "tcp");

    private Schemes() {}

    static boolean prefixes(String scheme, String address) {
        return scheme != null && !scheme.isEmpty() && address.regionMatches(true, 0, scheme, 0, scheme.length());
    }

    static ChannelFactory factoryFor(String address, Collection<ChannelFactory> factories) {
        ChannelFactory best = null;
        int bestLen = -1;
        for (ChannelFactory f : factories) {
            for (String s : f.schemes()) {
                if (prefixes(s, address) && s.length() > bestLen) {
                    best = f;
                    bestLen = s.length();
                }
            }
        }
        return best;
    }

    static OutboundConnector connectorFor(String remote, Collection<OutboundConnector> connectors) {
        OutboundConnector best = null;
        int bestLen = -1;
        for (OutboundConnector c : connectors) {
            for (String s : c.schemes()) {
                if (prefixes(s, remote) && s.length() > bestLen) {
                    best = c;
                    bestLen = s.length();
                }
            }
        }
        return best;
    }

    static boolean isKnown(String address, Collection<ChannelFactory> factories) {
        for (String s : BUILT_IN) {
            if (prefixes(s, address)) return true;
        }
        return factoryFor(address, factories) != null;
    }

    /** The operator-facing type when no factory is deployed (Medplum's log prefixes). */
    static String defaultType(String address) {
        String a = address == null ? "" : address.toLowerCase(Locale.ROOT);
        if (a.startsWith("dicom")) return "DICOM";
        if (a.startsWith("mllp")) return "HL7";
        if (a.startsWith("tcp")) return "Byte Stream";
        return "Unknown";
    }
}
