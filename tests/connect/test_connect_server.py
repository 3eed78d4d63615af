"""The committer in a Spark Connect server: the server (SparkConnectServer from pyspark's jars, started
through spark-submit with our listener jar and the Kafka connector in --jars and our listener in its
conf) instantiates the listener once per session that touches streaming, in its own JVM. Two PySpark
Connect clients (`SparkSession.builder.remote(...)`, each a session of its own on the server) start a
Kafka query each, with a group each, against one cluster:
- both groups are committed (read back by Kafka's own Java client, tests/kafka_harness.py);
- the server JVM runs one commit helper for that cluster, whatever the number of sessions (counted
  among its child processes);
- stopping a client's query, and stopping the other client's session (which makes the server stop its
  queries), leaves each group at the end of the last batch its query ran.

Run with the pytest of the Connect client venv (.cache/venv-connect-<version>: `pip install
pyspark-client==<version> "pandas<3" pytest`, which brings gRPC, pandas and pyarrow; pyspark 4.2 warns
about pandas 3), the server's Spark coming from .cache/venv-spark-<version>, with the broker up:
    SPARK_VERSION=4.2.0 tests/with-broker.sh .cache/venv-connect-4.2.0/bin/pytest -v tests/connect
"""

import ast
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "e2e"))

import kafka_harness  # noqa: E402
import spark_submit  # noqa: E402

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
SERVER_STARTED_LINE = "Spark Connect server started at"
SERVER_START_TIMEOUT_S = 180
SERVER_STOP_GRACE_S = 60
# The helper's main thread name (docs/design.md: `top` and `ps -e` show it as koc-helper).
HELPER_THREAD_NAME = "koc-helper"
PARTITIONS = 2
COMMIT_WAIT_S = 180
LOG_TAIL_CHARS = 6000


@pytest.fixture(scope="module")
def bootstrap() -> str:
    address = os.environ.get("KAFKA_BOOTSTRAP")
    if not address:
        pytest.fail("KAFKA_BOOTSTRAP is not set: run the tests through tests/with-broker.sh", pytrace=False)
    return address


@pytest.fixture(scope="module")
def spark_version() -> str:
    """SPARK_VERSION: the Connect client's release (this pytest's pyspark-client) and the server's."""
    wanted = os.environ.get("SPARK_VERSION")
    if not wanted:
        pytest.fail("SPARK_VERSION is not set: it names the Spark of the server and the client", pytrace=False)
    try:
        import pyspark
    except ImportError:
        pytest.fail(f"this pytest's Python ({sys.prefix}) has no pyspark client: run "
                    f".cache/venv-connect-{wanted}/bin/pytest", pytrace=False)
    if pyspark.__version__ != wanted:
        pytest.fail(f"SPARK_VERSION={wanted}, but this pytest's pyspark is {pyspark.__version__}", pytrace=False)
    return wanted


class ConnectServer:
    """A Spark Connect server of its own, through the pyspark venv's spark-submit (exec'd down to the JVM,
    so the process started is the server's JVM), in a session of its own for stopping the whole tree."""

    def __init__(self, spark_version: str, log_path: Path, checkpoint_root: Path):
        venv = spark_submit.REPO_ROOT / ".cache" / f"venv-spark-{spark_version}"
        if not (venv / "bin" / "spark-submit").is_file():
            pytest.fail(f"{venv} has no spark-submit: `make {venv}/.ready` installs pyspark=={spark_version}",
                        pytrace=False)
        try:
            jars = spark_submit.jars_option(spark_version)
        except spark_submit.SparkSetupError as e:
            pytest.fail(str(e), pytrace=False)
        self.port = kafka_harness.free_port()
        self.log_path = log_path
        command = [str(venv / "bin" / "spark-submit"), "--class", CONNECT_SERVER_CLASS,
                   "--master", spark_submit.DEFAULT_MASTER, "--jars", jars,
                   "--conf", f"spark.sql.streaming.streamingQueryListeners={spark_submit.LISTENER_CLASS}",
                   "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
                   "--conf", f"spark.connect.grpc.binding.port={self.port}",
                   "--conf", "spark.ui.enabled=false",
                   "--conf", f"spark.sql.streaming.checkpointLocation={checkpoint_root}"]
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True,
                                            env=spark_submit.spark_submit_environment(venv))
        self._await_started()

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _await_started(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while SERVER_STARTED_LINE not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the Connect server did not start (exit {self.process.returncode}); log "
                            f"{self.log_path}:\n{self.log()[-LOG_TAIL_CHARS:]}", pytrace=False)
            time.sleep(0.5)

    def helper_children(self) -> list:
        """The live commit helpers among the server JVM's child processes."""
        helpers = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = dict(line.split(":\t", 1) for line in (entry / "status").read_text().splitlines()
                              if ":\t" in line)
            except (FileNotFoundError, ProcessLookupError):
                continue
            if (status.get("PPid") == str(self.process.pid) and status.get("Name") == HELPER_THREAD_NAME
                    and not status.get("State", "").startswith("Z")):
                helpers.append(int(entry.name))
        return helpers

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=SERVER_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def connect_server(spark_version, tmp_path, request):
    server = ConnectServer(spark_version, tmp_path / "connect-server.log", tmp_path / "checkpoints")
    request.node.connect_server_log = server.log_path
    yield server
    server.stop()


def committed(bootstrap: str, group: str, topic: str) -> dict:
    return {partition: offset for (t, partition), offset in kafka_harness.group_offsets(bootstrap, group).items()
            if t == topic}


def wait_for(condition, what: str, timeout_s: float = COMMIT_WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout_s} s")


def end_offsets(progress, topic: str) -> dict:
    """{partition: offset} of the query's Kafka source in a progress report (PySpark 4.2+ gives JSON
    text, 4.0 and 4.1 str() of a dict)."""
    if not progress or not progress["sources"]:
        return {}
    offsets = progress["sources"][0]["endOffset"]
    if isinstance(offsets, str):
        try:
            offsets = json.loads(offsets)
        except json.JSONDecodeError:
            offsets = ast.literal_eval(offsets)
    return {int(partition): offset for partition, offset in (offsets or {}).get(topic, {}).items()}


def start_query(session, bootstrap: str, topic: str, group: str):
    return (session.readStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", topic)
            .option("startingOffsets", "earliest")
            .option("kafka.consumer.commit.groupid", group)
            .load()
            .writeStream.format("noop")
            .queryName(f"connect-{group}")
            .trigger(processingTime="1 second")
            .start())


def test_two_connect_clients_commit_their_groups_through_one_helper(bootstrap, connect_server):
    from pyspark.sql import SparkSession

    suffix = uuid.uuid4().hex[:8]
    topic = f"connect-{suffix}"
    groups = [f"connect-a-{suffix}", f"connect-b-{suffix}"]
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    first_end = kafka_harness.produce(bootstrap, topic, records_per_partition=100)

    # Two clients: `create()` opens a new server-side session each time (getOrCreate would share one).
    clients = [SparkSession.builder.remote(connect_server.url).create() for _ in groups]
    assert len({client.session_id for client in clients}) == len(clients)
    queries = [start_query(client, bootstrap, topic, group) for client, group in zip(clients, groups)]
    try:
        for group in groups:
            wait_for(lambda: committed(bootstrap, group, topic) == first_end,
                     f"group {group} did not reach {first_end}")

        # The root session and two client sessions each have a listener; the cluster has one helper.
        helpers = connect_server.helper_children()
        assert len(helpers) == 1, f"the server JVM runs {len(helpers)} commit helpers ({helpers}), not one"

        # More records; once each query's batch has read them, client A stops its query and client B its
        # whole session (the server then stops B's query): both groups must end at that batch.
        final_end = kafka_harness.produce(bootstrap, topic, records_per_partition=25)
        for query in queries:
            wait_for(lambda: end_offsets(query.lastProgress, topic) == final_end,
                     f"query {query.name} did not finish a batch at {final_end}")
        queries[0].stop()
        clients[1].stop()
        for group in groups:
            wait_for(lambda: committed(bootstrap, group, topic) == final_end,
                     f"group {group} did not reach {final_end} after its query stopped", timeout_s=60)
        assert not queries[0].isActive
    finally:
        for client in clients:
            client.stop()

    # No warning from the listener in the server's log (e.g. an execution it could not find).
    warnings = [line for line in connect_server.log().splitlines()
                if " WARN " in line and "io.kafkaoffsetcommitter" in line]
    assert not warnings, "the listener warned:\n" + "\n".join(warnings)
