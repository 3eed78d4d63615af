"""The committer as monitoring sees it: one spark-submit job (jobs/metrics_job.py) with Spark's PrometheusServlet
and CSV sinks on. The test scrapes the driver's /metrics/prometheus over HTTP while the job runs and compares the
values with what Kafka's own Java client reads (tests/kafka_harness.py): commit counters move, committed offsets
equal the group's, lag at a batch's end equals the log end minus that batch's commit, a stopped query's series
vanish, a group Kafka refuses shows its error kind and parks. The CSV sink's files must agree with the group too.
Inside the job, the Python module (python/kafka_offset_committer) reports status and flushes.
"""

import csv
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import kafka_harness
import pytest
import spark_submit

# Proven once in `make test` (not again on the newest Spark); `make compat` repeats it per line.
pytestmark = pytest.mark.feature

REPO_ROOT = Path(__file__).resolve().parents[2]
METRICS_JOB = REPO_ROOT / "tests" / "e2e" / "jobs" / "metrics_job.py"
PYTHON_PACKAGE = REPO_ROOT / "python" / "kafka_offset_committer"
NAMESPACE = "koc"
SOURCE = "kafkaOffsetCommitter"
PARTITIONS = 3
RECORDS_PER_PARTITION = 500
# Each batch of metrics-main reads at most this many records (of 1500): the test sees batches leave records behind.
MAX_OFFSETS_PER_TRIGGER = 150
WAIT_S = 300
POLL_S = 0.25


def sanitized(name: str) -> str:
    """How PrometheusServlet turns a Dropwizard name into a Prometheus one."""
    return re.sub(r"[^a-zA-Z0-9]", "_", name)


def label(value: str) -> str:
    """A name part as the metrics source writes it (CommitterMetrics.label)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)


class Scrape:
    """One /metrics/prometheus page: the driver's series of our source, by Dropwizard name and kind."""

    def __init__(self, text: str):
        self.text = text
        self.values = {}
        prefix = sanitized(f"metrics_{NAMESPACE}_driver_{SOURCE}_")
        for line in text.splitlines():
            if not line.startswith(prefix):
                continue
            name, value = line.rsplit(" ", 1)
            self.values[name.split("{", 1)[0]] = float(value)  # {type="gauges"}: the kind is in the name too
        self.prefix = prefix

    def get(self, name: str, kind: str):
        """`kind`: Value for gauges, Count for counters and histograms."""
        return self.values.get(f"{self.prefix}{sanitized(name)}_{kind}")

    def names_with(self, part: str) -> list:
        return [name for name in self.values if sanitized(part) in name]


class MetricsJob:
    def __init__(self, tmp_path: Path, spark_version: str):
        self.control = tmp_path / "control"
        self.control.mkdir()
        self.csv_dir = tmp_path / "csv"
        self.csv_dir.mkdir()
        self.log_path = tmp_path / "spark-submit-metrics.log"
        self.port = kafka_harness.free_port()
        self.spark_version = spark_version
        self.process = None

    def start(self, job_args: list, environment: dict) -> None:
        package = self.control / "kafka_offset_committer.zip"
        with zipfile.ZipFile(package, "w") as archive:
            for path in sorted(PYTHON_PACKAGE.rglob("*.py")):
                archive.write(path, path.relative_to(PYTHON_PACKAGE.parent).as_posix())
        conf = {
            "spark.submit.pyFiles": str(package),
            "spark.ui.enabled": "true",
            "spark.ui.port": str(self.port),
            "spark.port.maxRetries": "0",
            "spark.metrics.namespace": NAMESPACE,
            "spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
            "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
            "spark.metrics.conf.driver.sink.csv.class": "org.apache.spark.metrics.sink.CsvSink",
            "spark.metrics.conf.driver.sink.csv.period": "1",
            "spark.metrics.conf.driver.sink.csv.unit": "seconds",
            "spark.metrics.conf.driver.sink.csv.directory": str(self.csv_dir),
        }
        venv = Path(sys.prefix)
        command = spark_submit.spark_submit_command(venv, self.spark_version, METRICS_JOB,
                                                    [*job_args, "--control", str(self.control)], conf=conf)
        with open(self.log_path, "w") as log:
            log.write(f"$ {shlex.join(command)}\n")
            log.flush()
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True,
                                            env={**spark_submit.spark_submit_environment(venv), **environment})

    def signal(self, step: str) -> None:
        (self.control / step).touch()

    def scrape(self) -> Scrape:
        if self.process.poll() is not None:
            pytest.fail(f"spark-submit exited {self.process.returncode} while the test still watched it")
        url = f"http://127.0.0.1:{self.port}/metrics/prometheus"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return Scrape(response.read().decode())
        except OSError:
            return Scrape("")  # the driver's UI is not up yet

    def until(self, what: str, check):
        """Scrapes until `check(scrape)` returns something truthy; returns it."""
        deadline = time.monotonic() + WAIT_S
        last = None
        while time.monotonic() < deadline:
            last = self.scrape()
            found = check(last)
            if found:
                return found
            time.sleep(POLL_S)
        pytest.fail(f"never saw {what} within {WAIT_S} s; last scrape of our source:\n"
                    + "\n".join(f"{name} {value}" for name, value in sorted(last.values.items())))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()


@pytest.fixture
def metrics_job(request, spark_version, required_jars, tmp_path):
    job = MetricsJob(tmp_path, spark_version)
    request.node.spark_logs = [job.log_path]  # shown on failure (conftest.py)
    yield job
    job.stop()


def committed(bootstrap: str, group: str, topic: str) -> dict:
    return {partition: offset for (t, partition), offset in kafka_harness.group_offsets(bootstrap, group).items()
            if t == topic}


def partition_values(scrape: Scrape, group: str, topic: str, metric: str) -> dict:
    values = {p: scrape.get(f"group.{label(group)}.topic.{label(topic)}.partition.{p}.{metric}", "Value")
              for p in range(PARTITIONS)}
    return {p: int(v) for p, v in values.items() if v is not None}


def test_metrics_and_python_status_follow_the_commits(bootstrap, metrics_job, unique_name):
    sasl_bootstrap = os.environ.get("KAFKA_SASL_BOOTSTRAP")
    if not sasl_bootstrap:
        pytest.fail("KAFKA_SASL_BOOTSTRAP is not set: run through tests/with-broker.sh", pytrace=False)
    topic, group, short_group = unique_name("metrics"), unique_name("metrics-group"), unique_name("metrics-short")
    parked_topic = unique_name(kafka_harness.ALICE_PREFIX + "metrics")
    parked_group = unique_name("metrics-denied")  # not alice-*: Kafka refuses alice every commit to it
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    kafka_harness.create_topic(bootstrap, parked_topic, partitions=1)
    log_end = kafka_harness.produce(bootstrap, topic, records_per_partition=RECORDS_PER_PARTITION)
    kafka_harness.produce(bootstrap, parked_topic, records_per_partition=5)
    user, password = kafka_harness.SASL_ALICE
    jaas = kafka_harness.sasl_client_config(user, password)["sasl.jaas.config"]

    metrics_job.start(["--bootstrap", bootstrap, "--topic", topic, "--group", group, "--short-group", short_group,
                       "--parked-bootstrap", sasl_bootstrap, "--parked-topic", parked_topic,
                       "--parked-group", parked_group, "--max-offsets-per-trigger", str(MAX_OFFSETS_PER_TRIGGER)],
                      {"KOC_TEST_PARKED_JAAS": jaas})
    main_query = f"query.metrics-main.group.{label(group)}"

    # A batch that left records behind, once Kafka confirmed its commit: lag + committed = log end, and the
    # committed offsets are what Kafka's own client reads from the group.
    def consistent_lagging_batch(scrape):
        offsets, lag = (partition_values(scrape, group, topic, metric) for metric in ("committedOffset", "lagRecords"))
        if len(offsets) < PARTITIONS or len(lag) < PARTITIONS or sum(lag.values()) == 0:
            return None
        if any(offsets[p] + lag[p] != log_end[p] for p in range(PARTITIONS)):
            return None  # the batch's commit is not confirmed yet
        if committed(bootstrap, group, topic) != offsets:
            return None  # the next batch committed meanwhile
        return scrape

    lagging = metrics_job.until("a lagging batch's consistent lag and committed offsets", consistent_lagging_batch)
    first_count = lagging.get(f"{main_query}.commitsSucceeded", "Count")
    assert first_count >= 1
    batch_lag = lagging.get(f"{main_query}.lagRecords", "Value")
    assert batch_lag == sum(partition_values(lagging, group, topic, "lagRecords").values()) > 0
    assert lagging.get(f"{main_query}.catchUpSeconds", "Value") > 0
    print(f"lagging batch: lag {batch_lag}, commits {first_count}")

    # The end: every record read, committed, and nothing behind; the counter moved on.
    def caught_up(scrape):
        offsets = partition_values(scrape, group, topic, "committedOffset")
        lag = partition_values(scrape, group, topic, "lagRecords")
        return scrape if offsets == log_end and set(lag.values()) == {0} else None

    end = metrics_job.until("the main query at the log end", caught_up)
    assert committed(bootstrap, group, topic) == log_end
    assert end.get(f"{main_query}.commitsSucceeded", "Count") > first_count
    # A new group's first commits may meet a coordinator still loading it; retried, they count as failed attempts.
    assert end.get(f"{main_query}.commitsFailed", "Count") >= 0
    assert end.get(f"{main_query}.lastAttemptFailed", "Value") == 0
    assert all(end.values[name] == 0 for name in end.names_with(f"{main_query}.lastError."))
    # Those retries are the expected start of a new group: nothing about them above DEBUG in the driver's log.
    driver_log = metrics_job.log_path.read_text(errors="replace")
    for fresh_group in (group, short_group):
        assert f"commit to group `{fresh_group}`" not in driver_log
    assert end.get(f"{main_query}.lastCommittedBatchId", "Value") >= RECORDS_PER_PARTITION * PARTITIONS // MAX_OFFSETS_PER_TRIGGER - 1
    assert end.get(f"{main_query}.pendingPartitions", "Value") == 0
    assert end.get(f"{main_query}.parked", "Value") == 0
    assert end.get(f"{main_query}.secondsSinceLastCommit", "Value") >= 0
    assert end.get(f"{main_query}.commitLatencyMs", "Count") >= 1
    assert end.get(f"{main_query}.helperRestarts", "Value") == 0
    for listener_metric in ("eventsDropped", "unidentifiedSources"):
        assert end.get(f"listener.{listener_metric}", "Count") == 0, listener_metric
    assert end.get("metrics.seriesLeftOut", "Value") == 0

    # The CSV sink writes the same registry: its latest committed offsets are the group's.
    def csv_offsets():
        found = {}
        for p in range(PARTITIONS):
            name = f"{NAMESPACE}.driver.{SOURCE}.group.{label(group)}.topic.{label(topic)}.partition.{p}.committedOffset.csv"
            path = metrics_job.csv_dir / name
            if path.is_file():
                rows = list(csv.reader(path.read_text().splitlines()))
                if len(rows) > 1:
                    found[p] = int(float(rows[-1][1]))
        return found if found == log_end else None
    metrics_job.until("the CSV sink's committed offsets at the log end", lambda _: csv_offsets())

    # The Python module, inside the job: status of both queries' groups, a flush.
    metrics_job.signal("python")
    result_path = metrics_job.control / "python-result.json"
    metrics_job.until("the Python module's result", lambda _: result_path.is_file())
    result = json.loads(result_path.read_text())
    assert result["types"] == ["GroupStatus"] and result["dataclasses"] and result["plain"], result
    assert result["flushed"] is True
    assert "Spark Connect" in result["without_driver_jvm"], result["without_driver_jvm"]
    by_group = {status["group"]: status for status in result["after_flush"]}
    assert set(by_group) == {group, short_group}, by_group
    # The job hands the dataclasses over as JSON: partition keys arrive as text.
    log_end_json = {str(p): offset for p, offset in log_end.items()}
    main_status = by_group[group]
    assert main_status["query_name"] == "metrics-main"
    assert main_status["last_committed_offsets"] == {topic: log_end_json}
    assert main_status["lag_at_batch_end"] == {topic: {str(p): 0 for p in range(PARTITIONS)}}
    assert main_status["last_committed_batch_id"] >= 0 and main_status["commits_succeeded"] >= 1
    # A new group's first commit may have met a coordinator still loading it (then last_error_kind names it).
    assert not main_status["last_attempt_failed"] and not main_status["parked"]
    assert by_group[short_group]["last_committed_offsets"] == {topic: log_end_json}

    # A stopped query leaves no series behind.
    short_query = f"query.metrics-short.group.{label(short_group)}"
    assert end.get(f"{short_query}.commitsSucceeded", "Count") >= 1
    metrics_job.signal("stop-short")
    metrics_job.until("the stopped query's series removed",
                      lambda scrape: scrape.values and not scrape.names_with(label(short_group)))

    # A group Kafka refuses: the error kind as a series of its own, the group parked, its offsets pending.
    parked_query = f"query.metrics-parked.group.{label(parked_group)}"
    refused = metrics_job.until("the refused group parked", lambda scrape: scrape if (
        scrape.get(f"{parked_query}.lastError.GroupAuthorizationFailed", "Value") == 1
        and scrape.get(f"{parked_query}.parked", "Value") == 1) else None)
    assert refused.get(f"{parked_query}.commitsFailed", "Count") >= 1
    assert refused.get(f"{parked_query}.commitsSucceeded", "Count") == 0
    assert refused.get(f"{parked_query}.pendingPartitions", "Value") == 1
    assert committed(bootstrap, parked_group, parked_topic) == {}
    print("sample of the scrape:\n" + "\n".join(line for line in refused.text.splitlines()
                                                 if SOURCE in line and "partition_0" in line or "parked" in line))

    metrics_job.signal("stop")
    assert metrics_job.process.wait(timeout=WAIT_S) == 0, "spark-submit failed"
