package io.kafkaoffsetcommitter;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Process-wide duties of the native core, started once: a daemon thread that forwards native log lines
 * to {@code java.util.logging} (Spark bridges it to its own logging), and one shutdown hook that first
 * runs the tasks callers registered (e.g. the Spark listener handing over its last batches), then
 * flushes pending commits and destroys every native Kafka client before the JVM exits. One hook, because
 * the JVM runs separate hooks in no fixed order.
 */
final class NativeRuntime {
    private static final String NATIVE_LOGGER_NAME = "io.kafkaoffsetcommitter.native";
    private static final Logger NATIVE_LOG = Logger.getLogger(NATIVE_LOGGER_NAME);
    private static final String LIBRDKAFKA_PREFIX = "librdkafka [";
    /**
     * The per-origin loggers, held strongly: java.util.logging keeps loggers weakly, and a level or
     * handler configured on one that was collected would be lost.
     */
    private static final Map<String, Logger> ORIGIN_LOGGERS = new ConcurrentHashMap<>();

    private static final long LOG_WAIT_MILLIS = 1000;
    private static final long SHUTDOWN_FLUSH_MILLIS = 5000;
    private static final List<Runnable> BEFORE_SHUTDOWN = new CopyOnWriteArrayList<>();
    private static boolean started;
    private static boolean hookInstalled;

    private NativeRuntime() {}

    static synchronized void start() {
        NativeLoader.ensureLoaded();
        if (started) {
            return;
        }
        started = true;
        Thread forwarder = new Thread(NativeRuntime::forwardLogsForever, "kafka-offset-committer-logs");
        forwarder.setDaemon(true);
        forwarder.start();
        installShutdownHook();
    }

    static synchronized void runBeforeShutdown(Runnable task) {
        BEFORE_SHUTDOWN.add(task);
        installShutdownHook();
    }

    private static synchronized void installShutdownHook() {
        if (!hookInstalled) {
            hookInstalled = true;
            try {
                Runtime.getRuntime()
                        .addShutdownHook(new Thread(NativeRuntime::shutDown, "kafka-offset-committer-shutdown"));
            } catch (IllegalStateException exiting) {
                // Called while the JVM already exits: the other hooks run, there is nothing left to hand over.
                NATIVE_LOG.fine("the JVM is exiting; no shutdown hook installed");
            }
        }
    }

    private static void shutDown() {
        for (Runnable task : BEFORE_SHUTDOWN) {
            try {
                task.run();
            } catch (Throwable error) {
                NATIVE_LOG.log(Level.WARNING, "a task before the committer's shutdown failed", error);
            }
        }
        synchronized (NativeRuntime.class) {
            if (!started) {
                return;
            }
        }
        NativeBridge.shutdownAll(SHUTDOWN_FLUSH_MILLIS);
        forwardLogs(0);
    }

    private static void forwardLogsForever() {
        while (true) {
            try {
                forwardLogs(LOG_WAIT_MILLIS);
            } catch (Throwable error) {
                NATIVE_LOG.log(Level.WARNING, "cannot collect native log lines; stopping log forwarding", error);
                return;
            }
        }
    }

    private static void forwardLogs(long waitMillis) {
        for (String line : NativeBridge.drainLogs(waitMillis)) {
            int space = line.indexOf(' ');
            String level = space > 0 ? line.substring(0, space) : "INFO";
            String message = space > 0 ? line.substring(space + 1) : line;
            loggerOf(message).log(toJulLevel(level), message);
        }
    }

    /**
     * The logger named after a line's origin and cluster, so a cluster's or librdkafka's lines can be
     * raised, lowered or routed on their own: {@code io.kafkaoffsetcommitter.native.librdkafka.<cluster>}
     * for librdkafka's own lines ({@code librdkafka [<cluster>] ...}), {@code
     * io.kafkaoffsetcommitter.native.engine.<cluster>} for the core's ({@code [<cluster>] ...}), the
     * parent {@code io.kafkaoffsetcommitter.native} for the rest. The cluster is its bootstrap servers,
     * with every character outside {@code [A-Za-z0-9_-]} (the dots and colons of addresses) as {@code _}.
     */
    static Logger loggerOf(String message) {
        String origin;
        String cluster;
        if (message.startsWith(LIBRDKAFKA_PREFIX)) {
            origin = "librdkafka";
            cluster = bracketed(message, LIBRDKAFKA_PREFIX.length() - 1);
        } else if (message.startsWith("[")) {
            origin = "engine";
            cluster = bracketed(message, 0);
        } else {
            return NATIVE_LOG;
        }
        if (cluster == null) {
            return NATIVE_LOG;
        }
        String name = NATIVE_LOGGER_NAME + "." + origin + "." + cluster.replaceAll("[^A-Za-z0-9_-]", "_");
        return ORIGIN_LOGGERS.computeIfAbsent(name, Logger::getLogger);
    }

    /** The text between the '[' at {@code open} and the next ']', or null when there is none or it is empty. */
    private static String bracketed(String message, int open) {
        int close = message.indexOf(']', open + 1);
        return close > open + 1 ? message.substring(open + 1, close) : null;
    }

    private static Level toJulLevel(String level) {
        switch (level) {
            case "ERROR":
                return Level.SEVERE;
            case "WARN":
                return Level.WARNING;
            case "DEBUG":
                return Level.FINE;
            default:
                return Level.INFO;
        }
    }
}
