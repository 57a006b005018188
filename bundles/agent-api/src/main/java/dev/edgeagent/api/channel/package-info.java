/** Channel SPI: protocol bundles register a ChannelFactory (and optionally an OutboundConnector). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package dev.edgeagent.api.channel;
