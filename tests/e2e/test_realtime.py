"""Real-time mode (Spark 4.1+, `trigger(realTime=...)`) through the real spark-submit: the query runs in
MicroBatchExecution with long-running tasks (a RealTimeStreamScanExec per source instead of a
MicroBatchScanExec); at the end of each batch duration Spark merges the tasks' end offsets, writes them
to the offset log and posts one progress event per batch with them. The listener pairs both Kafka
sources of a union with their progress entries and commits each batch's end offsets to each source's
group, which Kafka's own Java client reads back while the job runs and after it stopped.
"""

import json
import os
import time

import kafka_harness
import pytest
from spark_submit import REALTIME_JOB
from test_spark_submit import SPARK_SUBMIT_TIMEOUT_S, committed_offsets

PARTITIONS = 2
# Spark's minimum: a batch, and so a commit, every 5 s (lag tools see steps of one batch duration).
BATCH_DURATION = "5 seconds"
# Real-time mode runs every partition of every source as one task for the whole batch: it needs a task
# slot for each (two topics of PARTITIONS), else the batch waits for slots that never free up.
MASTER = f"local[{2 * PARTITIONS}]"
COMMIT_WAIT_S = 300
LISTENER_LOGGER = "io.kafkaoffsetcommitter"


def spark_line(version: str) -> tuple:
    return tuple(int(part) for part in version.split(".")[:2])


pytestmark = [pytest.mark.realtime,
              pytest.mark.skipif(spark_line(os.environ.get("SPARK_VERSION", "0.0")) < (4, 1),
                                 reason="real-time mode exists from Spark 4.1 on")]


def batch_end_offsets(log_text: str) -> list:
    """The end offsets of every batch the job printed, as {(topic, partition): offset}."""
    ends = []
    for line in log_text.splitlines():
        if line.startswith("realtime_job: batch "):
            offsets = json.loads(line.split("end offsets ", 1)[1])
            ends.append({(topic, int(partition)): offset
                         for topic, partitions in offsets.items() for partition, offset in partitions.items()})
    return ends


def stop_job_at(stop_file, end_offsets: dict) -> None:
    """Tells the job to stop its query once a batch has ended at these {(group, topic): {partition: offset}}."""
    draft = stop_file.with_suffix(".draft")  # renamed into place: the job never reads half of it
    draft.write_text(json.dumps({topic: {str(partition): offset for partition, offset in offsets.items()}
                                 for (_, topic), offsets in end_offsets.items()}))
    draft.rename(stop_file)


def wait_until_committed(bootstrap: str, expected: dict, process, timeout_s: float) -> None:
    """Waits until each group's committed offsets equal its expected {partition: offset} (per topic)."""
    deadline = time.monotonic() + timeout_s
    seen = {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"spark-submit exited {process.returncode} before the groups reached {expected}")
        seen = {(group, topic): committed_offsets(bootstrap, group, topic) for group, topic in expected}
        if seen == expected:
            return
        time.sleep(1.0)
    pytest.fail(f"groups did not reach {expected} within {timeout_s} s; last seen {seen}")


def test_realtime_query_commits_each_batch_end_of_both_sources(bootstrap, spark, unique_name, tmp_path):
    topics = [unique_name("e2e-realtime-a"), unique_name("e2e-realtime-b")]
    groups = [f"{topic}-group" for topic in topics]
    output = unique_name("e2e-realtime-out")
    for topic in topics:
        kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    kafka_harness.create_topic(bootstrap, output, partitions=1)
    # Different amounts per topic, so that offsets committed to the wrong group cannot pass.
    first_end = {(group, topic): kafka_harness.produce(bootstrap, topic, records_per_partition=100 * (i + 1))
                 for i, (group, topic) in enumerate(zip(groups, topics))}
    watchers = [kafka_harness.OffsetWatcher(bootstrap, group, topic, period_s=1.0)
                for group, topic in zip(groups, topics)]

    stop_file = tmp_path / "stop-at-offsets.json"
    job_args = ["--bootstrap", bootstrap, "--output-topic", output, "--checkpoint", str(tmp_path / "checkpoint"),
                "--batch-duration", BATCH_DURATION, "--stop-file", str(stop_file)]
    for group, topic in zip(groups, topics):
        job_args += ["--topic", topic, "--group", group]
    job = spark.start(job_args, job=REALTIME_JOB, master=MASTER)
    wait_until_committed(bootstrap, first_end, job, COMMIT_WAIT_S)

    # More records while the query runs; the job stops its query right after the batch that read them.
    final_end = {(group, topic): kafka_harness.produce(bootstrap, topic, records_per_partition=30)
                 for group, topic in zip(groups, topics)}
    stop_job_at(stop_file, final_end)
    spark.wait(job, timeout=SPARK_SUBMIT_TIMEOUT_S)

    for (group, topic), end in final_end.items():
        assert end == kafka_harness.log_end_offsets(bootstrap, topic)
        assert committed_offsets(bootstrap, group, topic) == end, f"group {group} is not at the log end of {topic}"

    # What the groups ever held were end offsets of batches the query finished (never an offset
    # from inside a batch), and each group only its own topic's.
    log_text = spark.log_paths[-1].read_text(errors="replace")
    batch_ends = batch_end_offsets(log_text)
    assert len(batch_ends) >= 2, f"the job printed fewer than two batches:\n{log_text[-3000:]}"
    for watcher, group, topic in zip(watchers, groups, topics):
        observations = watcher.finish()
        ends_of_topic = [{partition: offset for (t, partition), offset in end.items() if t == topic}
                         for end in batch_ends]
        readings = {}
        for at, partition, offset in observations:
            readings.setdefault(at, {})[partition] = offset
        for at, reading in readings.items():
            assert reading in ends_of_topic, (f"group {group} held {reading} at {at:.1f} s, not the end of a batch: "
                                              f"{ends_of_topic}")

    # Real-time mode is not async progress tracking: the listener has nothing to warn about.
    listener_warnings = [line for line in log_text.splitlines()
                         if " WARN " in line and LISTENER_LOGGER in line]
    assert not listener_warnings, "the listener warned:\n" + "\n".join(listener_warnings)
