"""Fixtures of the spark-submit end-to-end tests.

Run with the pytest of a venv holding pyspark==$SPARK_VERSION (.cache/venv-spark-<version>), with
the test broker up (tests/with-broker.sh exports KAFKA_BOOTSTRAP):
    SPARK_VERSION=4.2.0 tests/with-broker.sh .cache/venv-spark-4.2.0/bin/pytest -v tests/e2e
"""

import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

# The tests import kafka_harness from tests/; pytest puts only this folder on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import spark_submit  # noqa: E402

SPARK_LOG_TAIL_LINES = 80


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "fault: a long fault scenario (several brokers, outages); `make test` "
                            "runs these on one Spark version only, `make soak` with long outages")
    config.addinivalue_line("markers", "realtime: a real-time mode job (Spark 4.1+); `make test` runs it on "
                            "one Spark version only")
    config.addinivalue_line("markers", "feature: a feature of ours that does not vary with Spark's internals "
                            "(demo, seeding, metrics); `make test` leaves it out of the newest-Spark run, "
                            "`make compat` runs it on every line")


def pytest_report_header(config) -> str:
    """Names the Kafka connector the jobs get, which is not always the Spark release's own."""
    wanted = os.environ.get("SPARK_VERSION")
    if not wanted:
        return ""  # the spark_version fixture fails the tests with the explanation
    connector = spark_submit.connector_version(wanted)
    stand_in = "" if connector == wanted else f" (stand-in: the registry lacks Spark {wanted}'s)"
    return f"Spark {wanted}, Kafka connector {connector}{stand_in}"


@pytest.fixture(scope="session")
def bootstrap() -> str:
    address = os.environ.get("KAFKA_BOOTSTRAP")
    if not address:
        pytest.fail("KAFKA_BOOTSTRAP is not set: run the tests through tests/with-broker.sh "
                    "(make test does)", pytrace=False)
    return address


@pytest.fixture(scope="session")
def spark_version() -> str:
    """SPARK_VERSION, checked against the pyspark this pytest runs with."""
    wanted = os.environ.get("SPARK_VERSION")
    if not wanted:
        pytest.fail("SPARK_VERSION is not set: it names the Spark to test, whose venv runs pytest",
                    pytrace=False)
    try:
        import pyspark
    except ImportError:
        pytest.fail(f"this pytest's Python ({sys.prefix}) has no pyspark: run "
                    f".cache/venv-spark-{wanted}/bin/pytest", pytrace=False)
    if pyspark.__version__ != wanted:
        pytest.fail(f"SPARK_VERSION={wanted}, but this pytest's Python ({sys.prefix}) has pyspark "
                    f"{pyspark.__version__}: run .cache/venv-spark-{wanted}/bin/pytest", pytrace=False)
    return wanted


@pytest.fixture(scope="session")
def required_jars(spark_version) -> None:
    """Fails the tests early, and clearly, when the listener jar or the connector is missing."""
    try:
        spark_submit.jars_option(spark_version)
    except spark_submit.SparkSetupError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def unique_name():
    """Topic and group names of their own for each test, on a broker other tests share."""
    suffix = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{suffix}"


class SparkSubmit:
    """Runs a job (commit_job.py unless told) through the venv's spark-submit, its output going to a
    log file."""

    def __init__(self, spark_version: str, log_dir: Path):
        self.spark_version = spark_version
        self.venv = Path(sys.prefix)
        self.log_dir = log_dir
        self.log_paths = []
        self._processes = []

    def start(self, job_args: list, extra_jars: tuple = (), listeners_before: tuple = (),
              conf: dict = None, job: Path = spark_submit.COMMIT_JOB,
              master: str = spark_submit.DEFAULT_MASTER) -> subprocess.Popen:
        command = spark_submit.spark_submit_command(self.venv, self.spark_version, job, job_args,
                                                    extra_jars=extra_jars, listeners_before=listeners_before,
                                                    conf=conf, master=master)
        log_path = self.log_dir / f"spark-submit-{len(self.log_paths) + 1}.log"
        self.log_paths.append(log_path)
        with open(log_path, "w") as log:
            log.write(f"$ {shlex.join(command)}\n")
            log.flush()
            # A session of its own, so that the whole process tree (spark-submit starts the
            # driver JVM, which starts Python) can be stopped together.
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       env=spark_submit.spark_submit_environment(self.venv))
        process.started_at = time.monotonic()
        self._processes.append(process)
        return process

    def wait(self, process: subprocess.Popen, timeout: float) -> None:
        """Waits for the job to exit 0."""
        try:
            exit_code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"spark-submit still runs after {timeout:.0f} s", pytrace=False)
        elapsed = time.monotonic() - process.started_at
        print(f"spark-submit ran {elapsed:.1f} s")
        assert exit_code == 0, f"spark-submit exited {exit_code}"

    def run(self, job_args: list, timeout: float, **start_options) -> None:
        self.wait(self.start(job_args, **start_options), timeout)

    def stop_all(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


SLOW_LISTENER_SOURCE = Path(__file__).resolve().parent / "jobs" / "SlowStreamingListener.java"


@pytest.fixture(scope="session")
def slow_listener_jar(spark_version, tmp_path_factory) -> Path:
    """jobs/SlowStreamingListener.java compiled against this run's Spark jars, as a jar."""
    jars = spark_submit.pyspark_jars(Path(sys.prefix))
    classes = tmp_path_factory.mktemp("slow-listener-classes")
    compiled = subprocess.run(["javac", "--release", "17", "-cp", f"{jars}/*", "-d", str(classes),
                               str(SLOW_LISTENER_SOURCE)], capture_output=True, text=True)
    if compiled.returncode != 0:
        pytest.fail(f"javac {SLOW_LISTENER_SOURCE.name} failed:\n{compiled.stdout}{compiled.stderr}", pytrace=False)
    jar = classes.parent / "slow-listener.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        for path in sorted(classes.rglob("*.class")):
            archive.write(path, path.relative_to(classes).as_posix())
    return jar


@pytest.fixture
def spark(request, spark_version, required_jars, tmp_path):
    runner = SparkSubmit(spark_version, tmp_path)
    request.node.spark_logs = runner.log_paths  # shown by pytest_runtest_makereport on failure
    yield runner
    runner.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Adds the tail of each spark-submit log of a failed test to its report."""
    report = yield
    if report.failed:
        for log_path in getattr(item, "spark_logs", []):
            lines = log_path.read_text(errors="replace").splitlines() if log_path.is_file() else []
            report.sections.append((f"spark-submit log {log_path} (last {SPARK_LOG_TAIL_LINES} lines)",
                                    "\n".join(lines[-SPARK_LOG_TAIL_LINES:])))
    return report

