/** Transport SPI: the cloud link (WebSocket) and REST access to the server, with observable link state. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.edgeagent.api.transport;
