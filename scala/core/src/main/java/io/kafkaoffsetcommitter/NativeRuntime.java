package io.kafkaoffsetcommitter;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Process-wide duties of the native core, started once: a daemon thread that forwards native log lines
 * to {@code java.util.logging} (Spark bridges it to its own logging), and a shutdown hook that flushes
 * pending commits and destroys every native Kafka client before the JVM exits.
 */
final class NativeRuntime {
    private static final Logger NATIVE_LOG = Logger.getLogger("io.kafkaoffsetcommitter.native");
    private static final long LOG_WAIT_MILLIS = 1000;
    private static final long SHUTDOWN_FLUSH_MILLIS = 5000;
    private static boolean started;

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
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            NativeBridge.shutdownAll(SHUTDOWN_FLUSH_MILLIS);
            forwardLogs(0);
        }, "kafka-offset-committer-shutdown"));
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
            case "ERROR": return Level.SEVERE;
            case "WARN": return Level.WARNING;
            case "DEBUG": return Level.FINE;
            default: return Level.INFO;
        }
    }
}
