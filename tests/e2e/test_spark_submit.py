"""The committer as users run it: a PySpark job through the real spark-submit, our listener jar and
the Kafka connector given with --jars, the listener registered with --conf, against the real test
broker. Kafka's own Java client (tests/kafka_harness.py) then reads the group's committed offsets.
"""

import json
import time

import kafka_harness
import pytest
from spark_submit import SLOW_LISTENER_CLASS

PARTITIONS = 3
SPARK_SUBMIT_TIMEOUT_S = 600
# How long a running query may take to pick up records and commit them (Spark's start included).
COMMIT_WAIT_S = 300
COMMIT_POLL_S = 1.0


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict:
    """{partition: committed offset} of the group on this topic."""
    return {partition: offset
            for (committed_topic, partition), offset in kafka_harness.group_offsets(bootstrap, group).items()
            if committed_topic == topic}


def assert_group_at_log_end(bootstrap: str, group: str, topic: str) -> None:
    log_end = kafka_harness.log_end_offsets(bootstrap, topic)
    committed = committed_offsets(bootstrap, group, topic)
    assert committed, f"group {group} has no committed offsets on {topic}: the listener committed nothing"
    assert committed == log_end, f"group {group}: committed {committed}, log end {log_end}"


def wait_for_commits(bootstrap, group, topic, expected, process, timeout_s, poll_s=COMMIT_POLL_S) -> None:
    """Waits until the group's committed offsets equal `expected`, while the job keeps running."""
    deadline = time.monotonic() + timeout_s
    committed = {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"spark-submit exited {process.returncode} before the group reached {expected}")
        committed = committed_offsets(bootstrap, group, topic)
        if committed == expected:
            return
        time.sleep(poll_s)
    pytest.fail(f"group {group} did not reach {expected} within {timeout_s} s; last seen {committed}")


def stop_job_at(stop_file, topic, end_offsets) -> None:
    """Tells a processing-time job to stop its query once a batch has ended at these offsets."""
    # Written aside and renamed, so that the job never reads half of it.
    draft = stop_file.with_suffix(".draft")
    draft.write_text(json.dumps({topic: {str(partition): offset for partition, offset in end_offsets.items()}}))
    draft.rename(stop_file)


def test_available_now_query_commits_the_log_end(bootstrap, spark, unique_name, tmp_path):
    topic, group = unique_name("e2e-available-now"), unique_name("e2e-available-now-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    assert kafka_harness.produce(bootstrap, topic, records_per_partition=500) == {p: 500 for p in range(PARTITIONS)}

    # At most 600 records a batch: the topic's 1500 records take several batches, each committed.
    spark.run(["--bootstrap", bootstrap, "--topic", topic, "--group", group,
               "--checkpoint", str(tmp_path / "checkpoint"),
               "--trigger", "available-now", "--max-offsets-per-trigger", "600"],
              timeout=SPARK_SUBMIT_TIMEOUT_S)

    assert_group_at_log_end(bootstrap, group, topic)


def run_until_final_batch(spark, bootstrap, topic, group, tmp_path, job_flags=(), **start_options) -> None:
    """A processing-time query commits what it read so far; after more records arrive the job ends right
    after the batch that read them; then the group must be at the log end."""
    first_end = kafka_harness.produce(bootstrap, topic, records_per_partition=100)
    stop_file = tmp_path / "stop-at-offsets.json"
    job = spark.start(["--bootstrap", bootstrap, "--topic", topic, "--group", group,
                       "--checkpoint", str(tmp_path / "checkpoint"),
                       "--trigger", "processing-time", "--stop-file", str(stop_file), *job_flags], **start_options)
    wait_for_commits(bootstrap, group, topic, first_end, job, COMMIT_WAIT_S)

    final_end = kafka_harness.produce(bootstrap, topic, records_per_partition=200)
    stop_job_at(stop_file, topic, final_end)
    spark.wait(job, timeout=SPARK_SUBMIT_TIMEOUT_S)

    assert_group_at_log_end(bootstrap, group, topic)


def test_stopped_query_commits_its_last_batch(bootstrap, spark, unique_name, tmp_path):
    topic, group = unique_name("e2e-processing-time"), unique_name("e2e-processing-time-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    run_until_final_batch(spark, bootstrap, topic, group, tmp_path)


# A job that ends without spark.stop(): Spark's own shutdown hook stops the SparkContext at JVM exit,
# concurrently with the core's hook. A slow listener ahead of ours (as a busy monitoring listener
# would be) makes the last events reach our listener only after the JVM began to exit, so the final
# batch is committed only if the listener hands it over in the right order. Spark stops everything
# within Hadoop's shutdown timeout (30 s), so the jobs post only a few events.

def test_available_now_job_without_spark_stop_commits_its_final_batch(bootstrap, spark, slow_listener_jar,
                                                                       unique_name, tmp_path):
    topic, group = unique_name("e2e-no-stop-available-now"), unique_name("e2e-no-stop-available-now-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    assert kafka_harness.produce(bootstrap, topic, records_per_partition=300) == {p: 300 for p in range(PARTITIONS)}

    spark.run(["--bootstrap", bootstrap, "--topic", topic, "--group", group,
               "--checkpoint", str(tmp_path / "checkpoint"),
               "--trigger", "available-now", "--max-offsets-per-trigger", "300", "--end-without-stop"],
              timeout=SPARK_SUBMIT_TIMEOUT_S,
              extra_jars=(slow_listener_jar,), listeners_before=(SLOW_LISTENER_CLASS,))

    assert_group_at_log_end(bootstrap, group, topic)


def test_processing_time_query_left_running_commits_its_final_batch(bootstrap, spark, slow_listener_jar,
                                                                     unique_name, tmp_path):
    topic, group = unique_name("e2e-no-stop-processing-time"), unique_name("e2e-no-stop-processing-time-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    # The job returns as soon as a batch ended at the final offsets, leaving its query running.
    run_until_final_batch(spark, bootstrap, topic, group, tmp_path, job_flags=("--end-without-stop",),
                          extra_jars=(slow_listener_jar,), listeners_before=(SLOW_LISTENER_CLASS,))
