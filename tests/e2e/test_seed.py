"""Seeding a group from a checkpoint (io.kafkaoffsetcommitter.spark.seed.SeedGroupFromCheckpoint, run
with spark-submit --class from the listener jar) on checkpoints written by real queries without the
listener: one whose driver died inside a batch that was planned (offset log) but not committed (commit
log), then the same checkpoint after an AvailableNow run finished that batch."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

import kafka_harness
import spark_submit

# Proven once in `make test` (not again on the newest Spark); `make compat` repeats it per line.
pytestmark = pytest.mark.feature

SEED_CLASS = "io.kafkaoffsetcommitter.spark.seed.SeedGroupFromCheckpoint"
JOB = Path(__file__).resolve().parent / "jobs" / "seed_job.py"
TIMEOUT_S = 300
# Spark 4.1's Kafka source fails a query restarted inside a planned batch with this (SPARK-55271, fixed in 4.2).
KAFKA_METRICS_NPE = 'because the return value of "scala.Option.get()" is null'


def job(spark_version: str, bootstrap: str, topic: str, checkpoint: Path, *options: str) -> subprocess.Popen:
    jars = ",".join(str(jar) for jar in sorted(spark_submit.connector_folder(spark_version).glob("*.jar")))
    command = [str(Path(sys.prefix) / "bin" / "spark-submit"), "--master", "local[2]", "--jars", jars, str(JOB),
               "--bootstrap", bootstrap, "--topic", topic, "--checkpoint", str(checkpoint), *options]
    return subprocess.Popen(command, env=spark_submit.spark_submit_environment(Path(sys.prefix)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def seed(spark_version: str, log: Path, *options: str) -> subprocess.CompletedProcess:
    jar = spark_submit.listener_jar(spark_submit.scala_binary_for(spark_version))
    command = [str(Path(sys.prefix) / "bin" / "spark-submit"), "--master", "local[1]", "--class", SEED_CLASS,
               str(jar), *options]
    done = subprocess.run(command, env=spark_submit.spark_submit_environment(Path(sys.prefix)),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S)
    log.write_text(done.stdout + done.stderr)
    return done


@pytest.fixture(autouse=True)
def once_on_spark_4(spark_version):
    if spark_version.startswith("3."):
        pytest.skip("checkpoint seeding is tested once per make test, on Spark 4")


def outcome(done: subprocess.CompletedProcess) -> str:
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-4000:]}"


def test_seed_commits_the_last_committed_batch(bootstrap, spark_version, required_jars, unique_name, tmp_path):
    topic, group = unique_name("seed-topic"), unique_name("seed-group")
    checkpoint = tmp_path / "checkpoint"
    kafka_harness.create_topic(bootstrap, topic, partitions=2)
    kafka_harness.produce(bootstrap, topic, 10)

    crashing = job(spark_version, bootstrap, topic, checkpoint, "--trigger", "processing-time", "--crash-at-batch", "1")
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (checkpoint / "commits" / "0").exists():
            assert crashing.poll() is None, crashing.stdout.read()
            assert time.monotonic() < deadline, "batch 0 was never committed"
            time.sleep(0.2)
        kafka_harness.produce(bootstrap, topic, 5)
        output, _ = crashing.communicate(timeout=TIMEOUT_S)
    finally:
        if crashing.poll() is None:
            crashing.kill()
    assert crashing.returncode == 3 and "dying inside batch 1" in output, output[-4000:]
    assert (checkpoint / "offsets" / "1").exists() and not (checkpoint / "commits" / "1").exists()

    dry = seed(spark_version, tmp_path / "seed-dry.log", "--checkpoint", str(checkpoint), "--group", group,
               "--bootstrap-server", bootstrap, "--dry-run")
    assert dry.returncode == 0, outcome(dry)
    assert "last committed batch 0" in dry.stdout and "batch 1 planned but not committed" in dry.stdout, outcome(dry)
    assert f'would commit {{"{topic}":{{"0":10,"1":10}}}} to group {group}' in dry.stdout, outcome(dry)
    assert kafka_harness.group_offsets(bootstrap, group) == {}, "a dry run committed"

    seeded = seed(spark_version, tmp_path / "seed.log", "--checkpoint", f"file://{checkpoint}", "--group", group,
                  "--bootstrap-server", bootstrap)
    assert seeded.returncode == 0, outcome(seeded)
    assert kafka_harness.group_offsets(bootstrap, group) == {(topic, 0): 10, (topic, 1): 10}

    # The query restarted with AvailableNow reruns the planned batch and commits it: seeding now gives its end.
    finishing = job(spark_version, bootstrap, topic, checkpoint, "--trigger", "available-now")
    output, _ = finishing.communicate(timeout=TIMEOUT_S)
    if finishing.returncode != 0 and spark_version.startswith("4.1.") and KAFKA_METRICS_NPE in output:
        # Spark's own query fails (no listener in this job): the re-run batch's progress reaches the Kafka
        # source's metrics() before any latestOffset call. Everything above was checked on this line.
        pytest.xfail(f"Spark {spark_version}: SPARK-55271 (KafkaMicroBatchStream.metrics NPE) fails the re-run")
    assert finishing.returncode == 0, output[-4000:]
    again = seed(spark_version, tmp_path / "seed-again.log", "--checkpoint", str(checkpoint), "--group", group,
                 "--bootstrap-server", bootstrap)
    assert again.returncode == 0 and "planned but not committed" not in again.stdout, outcome(again)
    assert kafka_harness.group_offsets(bootstrap, group) == {(topic, 0): 15, (topic, 1): 15}
    metadata = kafka_harness.group_offset_metadata(bootstrap, group)[(topic, 0)]
    assert '"run":"seeded-from-checkpoint"' in metadata and '"batch":1' in metadata, metadata


def test_seed_help_and_a_checkpoint_without_a_committed_batch(spark_version, required_jars, tmp_path):
    usage = seed(spark_version, tmp_path / "seed-help.log", "--help")
    assert usage.returncode == 0 and "--checkpoint PATH" in usage.stdout and "--dry-run" in usage.stdout, outcome(usage)
    (tmp_path / "empty" / "offsets").mkdir(parents=True)
    refused = seed(spark_version, tmp_path / "seed-empty.log", "--checkpoint", str(tmp_path / "empty"), "--dry-run")
    assert refused.returncode == 1 and "no committed batch" in refused.stderr, outcome(refused)
