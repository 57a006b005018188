package dev.edgeagent.core.internal;

import dev.edgeagent.api.channel.ChannelFactory;
import dev.edgeagent.api.channel.ChannelStats;
import dev.edgeagent.api.channel.OutboundConnector;
import dev.edgeagent.api.config.BootstrapConfig;
import dev.edgeagent.api.message.AgentMessage;
import dev.edgeagent.api.ops.AgentRuntime;
import dev.edgeagent.api.ops.AgentStatus;
import dev.edgeagent.api.ops.OperationHandler;
import dev.edgeagent.api.queue.MessageStore;
import dev.edgeagent.api.transport.LinkState;
import dev.edgeagent.api.transport.Transport;
import dev.edgeagent.api.transport.TransportListener;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.osgi.annotation.bundle.Capability;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * OSGi wiring of {@link CoreRuntime}. The {@link TransportListener} is registered by hand rather than as a DS
 * service: the transport references listeners and the core references the transport, and SCR refuses to
 * resolve that cycle ("Could not get service"), leaving the core deaf to the link. The transport, protocol bundles and operation handlers are dynamic
 * references: any of them can come and go without restarting the runtime (and so without stopping channels).
 *
 * <p>{@link AgentRuntime} is registered by hand too: DS would publish every key of PID {@value BootstrapConfig#PID},
 * {@code clientSecret} included, as service properties readable by any bundle and by {@code service:list}.
 */
// The manual registration still belongs in the manifest for resolvers and tooling.
@Capability(namespace = "osgi.service", attribute = "objectClass:List<String>=dev.edgeagent.api.ops.AgentRuntime")
@Component(service = {}, configurationPid = BootstrapConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
public class CoreComponent implements AgentRuntime, TransportListener {
    private final CoreRuntime runtime;
    private final ServiceRegistration<TransportListener> listenerRegistration;
    private final ServiceRegistration<AgentRuntime> runtimeRegistration;

    @Activate
    public CoreComponent(
            @Reference(name = "configurationAdmin", cardinality = ReferenceCardinality.OPTIONAL,
                    policyOption = ReferencePolicyOption.GREEDY)
            ConfigurationAdmin configAdmin,
            Map<String, Object> properties,
            BundleContext bundleContext) {
        Path home = BootstrapManager.defaultHome();
        runtime = new CoreRuntime(configAdmin == null ? null : new ConfigAdminStore(configAdmin), home,
                CoreRuntime.Timing.DEFAULT, System::nanoTime, CoreRuntime.Options.defaults(home));
        runtime.configure(properties);
        listenerRegistration = bundleContext.registerService(TransportListener.class, this, null);
        runtimeRegistration = bundleContext.registerService(AgentRuntime.class, this, null);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        runtime.configure(properties);
    }

    @Deactivate
    void deactivate() {
        for (ServiceRegistration<?> r : List.of(runtimeRegistration, listenerRegistration)) {
            try {
                r.unregister();
            } catch (IllegalStateException e) {
                // already gone with the bundle
            }
        }
        runtime.close();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindTransport")
    void bindTransport(Transport transport) {
        runtime.bindTransport(transport);
    }

    void unbindTransport(Transport transport) {
        runtime.unbindTransport(transport);
    }

    /** Optional: without a store (bundle not deployed) messages go straight to the link, as in Medplum's default. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindMessageStore")
    void bindMessageStore(MessageStore store) {
        runtime.bindStore(store);
    }

    void unbindMessageStore(MessageStore store) {
        runtime.unbindStore(store);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindChannelFactory")
    void bindChannelFactory(ChannelFactory factory) {
        runtime.addFactory(factory);
    }

    void unbindChannelFactory(ChannelFactory factory) {
        runtime.removeFactory(factory);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindOutboundConnector")
    void bindOutboundConnector(OutboundConnector connector) {
        runtime.addConnector(connector);
    }

    void unbindOutboundConnector(OutboundConnector connector) {
        runtime.removeConnector(connector);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindOperationHandler")
    void bindOperationHandler(OperationHandler handler, Map<String, Object> props) {
        runtime.addOperation(operationType(props), handler);
    }

    void unbindOperationHandler(OperationHandler handler, Map<String, Object> props) {
        runtime.removeOperation(operationType(props), handler);
    }

    private static String operationType(Map<String, Object> props) {
        Object v = props.get(OperationHandler.TYPE_PROPERTY);
        return v instanceof String s ? s : v instanceof String[] a && a.length > 0 ? a[0] : null;
    }

    @Override
    public void onMessage(AgentMessage message) {
        runtime.onMessage(message);
    }

    @Override
    public void onUndecodable(String error, String callback) {
        runtime.onUndecodable(error, callback);
    }

    @Override
    public void onLinkState(LinkState state) {
        runtime.onLinkState(state);
    }

    @Override
    public AgentStatus status() {
        return runtime.status();
    }

    @Override
    public List<ChannelStats> channels() {
        return runtime.channels();
    }

    @Override
    public Map<String, Object> stats() {
        return runtime.stats();
    }

    @Override
    public String reloadConfig() throws Exception {
        return runtime.reloadConfig();
    }
}
