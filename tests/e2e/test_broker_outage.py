"""A broker outage under a running Spark job: the broker is killed with SIGKILL and restarted on the
same port and data, as in a crash; the driver (with our listener, registered by --conf only) must live
through it and the group must catch up with what Spark processed once the broker is back.

The broker here is one of its own (a work directory of the test's), so its outage touches no other test.
"""

import os
import signal
import time

import kafka_harness
import pytest
from test_spark_submit import COMMIT_WAIT_S, committed_offsets, wait_for_commits

PARTITIONS = 2
# How long the broker stays away: long enough for every librdkafka path to see it gone (the
# coordinator lookup fails, requests time out), short enough for `make test`.
OUTAGE_S = float(os.environ.get("KOC_OUTAGE_SECONDS", "20"))
CONVERGE_AFTER_RESTART_S = 60


@pytest.fixture
def own_broker(tmp_path):
    broker = kafka_harness.Broker.start(tmp_path / "broker")
    yield broker
    broker.stop()


def kill_broker(broker) -> None:
    pid = int(broker.pid_path.read_text().strip())
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while broker.is_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not broker.is_running(), f"broker {pid} still runs after SIGKILL"


def test_a_killed_and_restarted_broker_does_not_end_the_driver(own_broker, spark, unique_name, tmp_path):
    bootstrap = own_broker.bootstrap
    topic, group = unique_name("e2e-outage"), unique_name("e2e-outage-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    first_end = kafka_harness.produce(bootstrap, topic, records_per_partition=100)
    job = spark.start(["--bootstrap", bootstrap, "--topic", topic, "--group", group,
                       "--checkpoint", str(tmp_path / "checkpoint"),
                       "--trigger", "processing-time", "--stop-file", str(tmp_path / "never-written")])
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
