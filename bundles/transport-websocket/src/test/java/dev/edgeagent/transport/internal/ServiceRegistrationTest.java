package dev.edgeagent.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgeagent.api.transport.Transport;
import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/** The Transport service registration: no configuration secrets among its properties, the link state kept current. */
class ServiceRegistrationTest {

    @Test
    void publishesOnlyTheLinkStateAndFollowsIt() throws Exception {
        List<Map<String, Object>> published = new CopyOnWriteArrayList<>();
        AtomicBoolean unregistered = new AtomicBoolean();
        ServiceRegistration<?> registration = (ServiceRegistration<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceRegistration.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "setProperties" -> {
                        published.add(copy((Dictionary<?, ?>) args[0]));
                        yield null;
                    }
                    case "unregister" -> {
                        unregistered.set(true);
                        yield null;
                    }
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        List<String> classes = new CopyOnWriteArrayList<>();
        BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {BundleContext.class}, (proxy, method, args) -> {
                    if (method.getName().equals("registerService") && args[0] instanceof Class<?> c) {
                        classes.add(c.getName());
                        published.add(copy((Dictionary<?, ?>) args[2]));
                        return registration;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });

        try (FakeMedplumServer server = new FakeMedplumServer("client-1", "secret-1")) {
            Map<String, Object> config = new HashMap<>();
            config.put("baseUrl", server.baseUrl());
            config.put("clientId", "client-1");
            config.put("clientSecret", "secret-1");
            config.put("agentId", "8c0e6a5e-9d1f-4c1b-9a53-0f6a2f0b2a11");
            config.put("trustStorePassword", "changeit");
            WebSocketTransport t = new WebSocketTransport(config, context);
            try {
                long end = System.currentTimeMillis() + 5000;
                while (!"LIVE".equals(last(published)) && System.currentTimeMillis() < end) {
                    Thread.sleep(20);
                }
            } finally {
                t.close();
            }
        }
        assertEquals(List.of(Transport.class.getName()), classes);
        for (Map<String, Object> props : published) {
            assertEquals(Collections.singleton(Transport.LINK_STATE_PROPERTY), props.keySet(), "published " + props);
        }
        assertTrue(published.stream().anyMatch(p -> "LIVE".equals(p.get(Transport.LINK_STATE_PROPERTY))),
                "link state LIVE was never published: " + published);
        assertTrue(unregistered.get(), "close() must unregister the service");
    }

    private static String last(List<Map<String, Object>> published) {
        return published.isEmpty() ? null : (String) published.get(published.size() - 1).get(Transport.LINK_STATE_PROPERTY);
    }

    private static Map<String, Object> copy(Dictionary<?, ?> d) {
        Map<String, Object> m = new HashMap<>();
        for (var keys = d.keys(); keys.hasMoreElements(); ) {
            Object k = keys.nextElement();
            m.put((String) k, d.get(k));
        }
        return m;
    }
}
