/**
 * Durable store-and-forward SPI: a {@link dev.edgeagent.api.queue.MessageStore} keeps device messages on disk
 * between the moment a channel acknowledges them and the moment the server has answered.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.edgeagent.api.queue;
