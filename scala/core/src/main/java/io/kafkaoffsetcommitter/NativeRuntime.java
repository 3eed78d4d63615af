package io.kafkaoffsetcommitter;

import java.util.List;
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
    private static final Logger NATIVE_LOG = Logger.getLogger("io.kafkaoffsetcommitter.native");
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
            NATIVE_LOG.log(toJulLevel(level), space > 0 ? line.substring(space + 1) : line);
        }
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
