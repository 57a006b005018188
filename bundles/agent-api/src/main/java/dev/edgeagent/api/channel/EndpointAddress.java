package dev.edgeagent.api.channel;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A parsed {@code Endpoint.address} or {@code Device.url} such as {@code mllp://0.0.0.0:2575?encoding=latin1}.
 * Parsing is deliberately lenient about the host (listeners bind all interfaces; spec §3.2) and strict about
 * the port (an integer 1–65535).
 *
 * @param raw    the address as configured
 * @param scheme the part before {@code ://}, lower-cased
 * @param host   the host, possibly empty
 * @param port   the port, or -1 when absent
 * @param params query parameters, percent-decoded; the first occurrence of a name wins; names keep their case
 */
public record EndpointAddress(String raw, String scheme, String host, int port, Map<String, String> params) {

    /** @throws IllegalArgumentException with a message fit for an operator when the address is unusable */
    public static EndpointAddress parse(String address) {
        if (address == null || address.isBlank()) {
            throw new IllegalArgumentException("Invalid empty endpoint address");
        }
        String a = address.trim();
        int sep = a.indexOf("://");
        if (sep <= 0) {
            throw new IllegalArgumentException("Invalid endpoint address '" + a + "': expected <scheme>://<host>:<port>");
        }
        String scheme = a.substring(0, sep).toLowerCase(Locale.ROOT);
        String rest = a.substring(sep + 3);
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            rest = rest.substring(0, slash);
        }
        String host;
        String portText = null;
        if (rest.startsWith("[")) { // IPv6 literal
            int close = rest.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("Invalid endpoint address '" + a + "': unterminated IPv6 host");
            }
            host = rest.substring(1, close);
            if (rest.length() > close + 1 && rest.charAt(close + 1) == ':') {
                portText = rest.substring(close + 2);
            }
        } else {
            int colon = rest.lastIndexOf(':');
            host = colon >= 0 ? rest.substring(0, colon) : rest;
            portText = colon >= 0 ? rest.substring(colon + 1) : null;
        }
        int port = -1;
        if (portText != null && !portText.isEmpty()) {
            try {
                port = Integer.parseInt(portText);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Invalid port '" + portText + "' in endpoint address '" + a + "'");
            }
        }
        Map<String, String> params = new LinkedHashMap<>();
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) continue;
                int eq = pair.indexOf('=');
                String k = decode(eq >= 0 ? pair.substring(0, eq) : pair);
                String v = eq >= 0 ? decode(pair.substring(eq + 1)) : "";
                params.putIfAbsent(k, v);
            }
        }
        return new EndpointAddress(address, scheme, host, port, Collections.unmodifiableMap(params));
    }

    /** The port, checked to be in 1–65535. */
    public int requirePort() {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("Invalid port in endpoint address '" + raw + "': must be an integer from 1 to 65535");
        }
        return port;
    }

    /** A query parameter, or null. */
    public String param(String name) {
        return params.get(name);
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s; // keep malformed escapes as written; the protocol validation reports them
        }
    }
}
