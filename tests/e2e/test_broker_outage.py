"""Broker faults under a running Spark job, with our listener registered by --conf only:
- a broker killed with SIGKILL and restarted on the same port and data, as in a crash: the driver lives
  through it and the group catches up with what Spark processed once the broker is back;
- a 3-node cluster restarted one node at a time (clean SIGTERM stops), the group's coordinator
  included: commits keep landing while a node is away and the coordinator moves, and the group holds
  the latest processed offsets at most 5 s after each node is back;
- a broker gone for good: the driver still exits within the listener's and the core's flush deadlines,
  logs at most one failure line per group a minute.

Each test whose broker comes back watches the group's committed offsets throughout with an independent
admin client (kafka_harness.OffsetWatcher): an offset seen lower than before fails the test. It ends
with an idle phase (no new batches) long enough for any stale commit request to land, and a re-read.

Each test has brokers of its own (work directories of the test's), so its outages touch no other test.
The long versions run under `make soak` (the KOC_* variables below).
"""

import math
import os
import re
import signal
import time

import kafka_harness
import pytest
from test_spark_submit import COMMIT_WAIT_S, SPARK_SUBMIT_TIMEOUT_S, committed_offsets, stop_job_at, wait_for_commits

PARTITIONS = 2
# How long the broker stays away: long enough for every librdkafka path to see it gone (the
# coordinator lookup fails, requests time out), short enough for `make test`.
OUTAGE_S = float(os.environ.get("KOC_OUTAGE_SECONDS", "20"))
CONVERGE_AFTER_RESTART_S = 60
# Rolling restart: how often every node is restarted, and how long each stays away at least.
ROLLING_CYCLES = int(os.environ.get("KOC_ROLLING_CYCLES", "1"))
ROLLING_DOWN_S = float(os.environ.get("KOC_ROLLING_DOWN_SECONDS", "5"))
CLUSTER_SIZE = 3
# The bound: the group holds the latest processed offsets this soon after a node is back.
CONVERGENCE_BOUND_S = 5.0
CONVERGENCE_POLL_S = 0.1
# Broker gone for good: how long the job runs on without Kafka before it is stopped.
GONE_S = float(os.environ.get("KOC_GONE_SECONDS", "20"))
# Short flush deadlines for the job whose broker is gone: the listener's per-query one, and a
# keep-alive that keeps commits pending (re-committed every second) so there is something to flush.
FLUSH_TIMEOUT_ON_TERMINATION_S = 5
GONE_BROKER_CONF = {
    "spark.kafkaOffsetCommitter.flushTimeoutOnTermination": f"{FLUSH_TIMEOUT_ON_TERMINATION_S}s",
    "spark.kafkaOffsetCommitter.keepAliveInterval": "1s",
}
# The core's own flush at JVM exit (NativeRuntime.SHUTDOWN_FLUSH_MILLIS).
CORE_SHUTDOWN_FLUSH_S = 5
# What Spark itself takes to stop its context and the JVM to exit, ours aside.
SPARK_TEARDOWN_ALLOWANCE_S = 15
# The idle phase: the core's request timeout (committer.request.timeout.ms, 30 s by default), its margin
# before it commits partitions of an unknown outcome once more (10 s), and room for that commit.
IDLE_AFTER_S = 30 + 10 + 5
# How Spark's listener bus reports an exception thrown by a listener.
LISTENER_EXCEPTION_SIGN = "threw an exception"


@pytest.fixture
def own_broker(tmp_path):
    broker = kafka_harness.Broker.start(tmp_path / "broker")
    yield broker
    broker.stop()


@pytest.fixture
def own_cluster(tmp_path):
    started = time.monotonic()
    cluster = kafka_harness.Cluster.start(tmp_path / "cluster", CLUSTER_SIZE)
    print(f"{CLUSTER_SIZE}-node cluster up in {time.monotonic() - started:.1f} s: {cluster.bootstrap}")
    yield cluster
    cluster.stop()


def kill_broker(broker) -> None:
    pid = int(broker.pid_path.read_text().strip())
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while broker.is_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not broker.is_running(), f"broker {pid} still runs after SIGKILL"


def stop_file(tmp_path):
    return tmp_path / "stop-at-offsets.json"


def start_processing_time_job(spark, bootstrap, topic, group, tmp_path, conf=None):
    """A job reading the topic every second until its stop file (see stop_job_at) names where to end."""
    return spark.start(["--bootstrap", bootstrap, "--topic", topic, "--group", group,
                        "--checkpoint", str(tmp_path / "checkpoint"),
                        "--trigger", "processing-time", "--stop-file", str(stop_file(tmp_path))],
                       conf=conf)


def driver_log(spark) -> str:
    return spark.log_paths[-1].read_text(errors="replace")


def seconds_until_group_at(bootstrap, group, topic, expected, job, timeout_s) -> float:
    """Polls until the group's committed offsets equal `expected`; how long that took."""
    started = time.monotonic()
    wait_for_commits(bootstrap, group, topic, expected, job, timeout_s, poll_s=CONVERGENCE_POLL_S)
    return time.monotonic() - started


def test_a_killed_and_restarted_broker_does_not_end_the_driver(own_broker, spark, unique_name, tmp_path):
    bootstrap = own_broker.bootstrap
    topic, group = unique_name("e2e-outage"), unique_name("e2e-outage-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    first_end = kafka_harness.produce(bootstrap, topic, records_per_partition=100)
    job = start_processing_time_job(spark, bootstrap, topic, group, tmp_path)  # runs on: no stop file
    watcher = kafka_harness.OffsetWatcher(bootstrap, group, topic)
    wait_for_commits(bootstrap, group, topic, first_end, job, COMMIT_WAIT_S)

    kill_broker(own_broker)
    time.sleep(OUTAGE_S)
    assert job.poll() is None, f"the driver exited ({job.returncode}) while the broker was down"
    own_broker.restart()
    restarted_at = time.monotonic()

    # New records after the outage: the running query reads them and its commits reach the group.
    final_end = kafka_harness.produce(bootstrap, topic, records_per_partition=50)
    wait_for_commits(bootstrap, group, topic, final_end, job, CONVERGE_AFTER_RESTART_S + COMMIT_WAIT_S)
    print(f"group caught up {time.monotonic() - restarted_at:.1f} s after the broker restarted")
    assert job.poll() is None, "the driver must still run"
    assert committed_offsets(bootstrap, group, topic) == final_end
    # No new records: the query runs on without new batches while any stale request lands.
    time.sleep(IDLE_AFTER_S)
    assert committed_offsets(bootstrap, group, topic) == final_end, "after the idle phase"
    watcher.finish()


@pytest.mark.fault
def test_rolling_restart_of_a_three_node_cluster(own_cluster, spark, unique_name, tmp_path):
    bootstrap = own_cluster.bootstrap
    topic, group = unique_name("e2e-rolling"), unique_name("e2e-rolling-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS,
                               replication_factor=CLUSTER_SIZE, min_insync_replicas=2)
    first_end = kafka_harness.produce(bootstrap, topic, records_per_partition=100)
    job = start_processing_time_job(spark, bootstrap, topic, group, tmp_path)
    watcher = kafka_harness.OffsetWatcher(bootstrap, group, topic)
    wait_for_commits(bootstrap, group, topic, first_end, job, COMMIT_WAIT_S)

    convergence = []
    coordinator = kafka_harness.group_coordinator(bootstrap, group)
    coordinator_restarts = 0
    for cycle in range(1, ROLLING_CYCLES + 1):
        for node_id, node in own_cluster.nodes.items():
            label = f"cycle {cycle}/{ROLLING_CYCLES}, node {node_id}"
            was_coordinator = node_id == coordinator
            coordinator_restarts += was_coordinator
            print(f"{label}: stopping (SIGTERM){', the coordinator of ' + group if was_coordinator else ''}")
            node.stop()
            down_at = time.monotonic()

            # Records that arrive while the node is away are committed while it is away.
            while_away = kafka_harness.produce(bootstrap, topic, records_per_partition=50)
            landed_s = seconds_until_group_at(bootstrap, group, topic, while_away, job, COMMIT_WAIT_S)
            coordinator = kafka_harness.group_coordinator(bootstrap, group)
            print(f"{label}: records produced while it is away committed {landed_s:.1f} s later; "
                  f"coordinator now node {coordinator}")
            assert coordinator != node_id

            kafka_harness.produce(bootstrap, topic, records_per_partition=50)
            time.sleep(max(0.0, ROLLING_DOWN_S - (time.monotonic() - down_at)))
            node.restart()
            latest = kafka_harness.log_end_offsets(bootstrap, topic)
            converged_s = seconds_until_group_at(bootstrap, group, topic, latest, job, COMMIT_WAIT_S)
            convergence.append(converged_s)
            print(f"{label}: back after {time.monotonic() - down_at:.1f} s; "
                  f"group at the latest processed offsets {converged_s:.2f} s later")
    assert coordinator_restarts >= ROLLING_CYCLES, "the group's coordinator was never restarted"

    final_end = kafka_harness.produce(bootstrap, topic, records_per_partition=50)
    stop_job_at(stop_file(tmp_path), topic, final_end)
    spark.wait(job, timeout=SPARK_SUBMIT_TIMEOUT_S)  # exit 0: the query ended without an exception
    assert LISTENER_EXCEPTION_SIGN not in driver_log(spark)
    assert committed_offsets(bootstrap, group, topic) == final_end
    time.sleep(IDLE_AFTER_S)  # the job has ended: nothing new, while any stale request lands
    assert committed_offsets(bootstrap, group, topic) == final_end, "after the idle phase"
    watcher.finish()
    print(f"convergence after each node was back: {', '.join(f'{s:.2f} s' for s in convergence)} "
          f"(bound {CONVERGENCE_BOUND_S} s)")
    assert max(convergence) <= CONVERGENCE_BOUND_S


@pytest.mark.fault
def test_a_broker_gone_for_good_neither_holds_the_driver_nor_floods_its_log(own_broker, spark, unique_name,
                                                                            tmp_path):
    bootstrap = own_broker.bootstrap
    topic, group = unique_name("e2e-gone"), unique_name("e2e-gone-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    end = kafka_harness.produce(bootstrap, topic, records_per_partition=100)
    job = start_processing_time_job(spark, bootstrap, topic, group, tmp_path, conf=GONE_BROKER_CONF)
    wait_for_commits(bootstrap, group, topic, end, job, COMMIT_WAIT_S)

    kill_broker(own_broker)
    gone_at = time.monotonic()
    time.sleep(GONE_S)
    assert job.poll() is None, f"the driver exited ({job.returncode}) while the broker was gone"
    stop_job_at(stop_file(tmp_path), topic, end)  # the last batch ended there: the job stops its query and Spark
    spark.wait(job, timeout=SPARK_SUBMIT_TIMEOUT_S)
    exited_at = time.time()
    window_s = time.monotonic() - gone_at

    log = driver_log(spark)
    ended_at = float(re.search(r"commit_job: query ended at epoch ([0-9.]+)", log).group(1))
    exit_s = exited_at - ended_at
    deadline_s = FLUSH_TIMEOUT_ON_TERMINATION_S + CORE_SHUTDOWN_FLUSH_S + SPARK_TEARDOWN_ALLOWANCE_S
    failure_lines = [line for line in log.splitlines() if f"commit to group `{group}` failed" in line]
    allowed_lines = 1 + math.floor(window_s / 60)
    print(f"driver exited {exit_s:.1f} s after its query ended (deadline {deadline_s} s: flush on termination "
          f"{FLUSH_TIMEOUT_ON_TERMINATION_S} s + core exit flush {CORE_SHUTDOWN_FLUSH_S} s + Spark's teardown "
          f"{SPARK_TEARDOWN_ALLOWANCE_S} s); {len(failure_lines)} failure line(s) for {group} in "
          f"{window_s:.0f} s without Kafka (allowed {allowed_lines})")
    for line in failure_lines:
        print(f"  {line}")
    assert exit_s <= deadline_s
    assert 1 <= len(failure_lines) <= allowed_lines, "the failure must be logged, at most once a minute"
    assert LISTENER_EXCEPTION_SIGN not in log
