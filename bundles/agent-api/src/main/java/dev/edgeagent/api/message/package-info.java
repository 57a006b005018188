/** Agent protocol message model: typed access to the JSON frames exchanged over the cloud link. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.edgeagent.api.message;
