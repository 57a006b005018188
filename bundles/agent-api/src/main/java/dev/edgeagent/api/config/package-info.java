/** Bootstrap configuration (PID dev.edgeagent / agent.properties) shared by core and transport. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.edgeagent.api.config;
