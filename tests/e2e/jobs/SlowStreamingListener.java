// A streaming query listener that is slow on purpose, for the spark-submit tests: registered before
// the committer's listener, it holds Spark's streaming listener queue for a while on every progress
// and termination event, as a busy monitoring listener does. The committer then gets a job's last
// events only after the job's Python has returned and the JVM is already exiting.
// Compiled by the tests (tests/e2e/test_spark_submit.py) against the Spark jars of the run.
package io.kafkaoffsetcommitter.e2e;

import org.apache.spark.sql.streaming.StreamingQueryListener;

public class SlowStreamingListener extends StreamingQueryListener {
    static final long HOLD_MILLIS = 2000;

    private static void hold() {
        try {
            Thread.sleep(HOLD_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void onQueryStarted(QueryStartedEvent event) {
        // Runs on the query's own thread: not held, so the query starts as usual.
    }

    @Override
    public void onQueryProgress(QueryProgressEvent event) {
        hold();
    }

    @Override
    public void onQueryTerminated(QueryTerminatedEvent event) {
        hold();
    }
}
