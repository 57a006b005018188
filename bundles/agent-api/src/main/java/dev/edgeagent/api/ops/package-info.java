/** Operations SPI: handlers for server requests, and the runtime view used by the shell. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.edgeagent.api.ops;
