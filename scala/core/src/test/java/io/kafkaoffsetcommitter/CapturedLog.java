package io.kafkaoffsetcommitter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Every log record of the committer's loggers, the native core's forwarded lines included, while attached: for
 * tests that scan what a user's log would show.
 */
final class CapturedLog extends Handler {
    /**
     * Held strongly: java.util.logging keeps loggers only weakly, and one collected before the core's logger (its
     * child) exists would come back without the handler.
     */
    private static final Logger PACKAGE_LOG = Logger.getLogger("io.kafkaoffsetcommitter");

    final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    final List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());

    /** A capture attached to the committer's loggers until {@link #detach()}. */
    static CapturedLog attach() {
        CapturedLog captured = new CapturedLog();
        PACKAGE_LOG.addHandler(captured);
        return captured;
    }

    void detach() {
        PACKAGE_LOG.removeHandler(this);
    }

    @Override
    public void publish(LogRecord record) {
        records.add(record);
        lines.add(record.getLevel() + " " + record.getLoggerName() + " " + record.getMessage()
                + (record.getThrown() == null ? "" : " " + record.getThrown()));
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
}
