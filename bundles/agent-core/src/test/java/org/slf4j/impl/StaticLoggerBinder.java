package org.slf4j.impl;

import dev.edgeagent.core.internal.LogCapture;
import org.slf4j.ILoggerFactory;
import org.slf4j.spi.LoggerFactoryBinder;

/** Test-only slf4j 1.7 binding that records every log event, so tests can assert operator-facing texts. */
public final class StaticLoggerBinder implements LoggerFactoryBinder {
    private static final StaticLoggerBinder SINGLETON = new StaticLoggerBinder();
    public static String REQUESTED_API_VERSION = "1.6.99";

    public static StaticLoggerBinder getSingleton() {
        return SINGLETON;
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return LogCapture::logger;
    }

    @Override
    public String getLoggerFactoryClassStr() {
        return LogCapture.class.getName();
    }
}
