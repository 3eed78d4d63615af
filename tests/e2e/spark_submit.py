#!/usr/bin/env python3
"""What a spark-submit of a job using the offset committer needs: our listener jar, the Kafka
connector jars for the Spark version at hand, and the command line itself. Standard library only.

CLI (for shell scripts):
    python3 tests/e2e/spark_submit.py jars SPARK_VERSION
prints the comma-separated --jars value (listener jar first), fetching the connector on first use;
    python3 tests/e2e/spark_submit.py connector-version SPARK_VERSION
prints the release of the Kafka connector those jars hold (see CONNECTOR_STAND_INS);
    python3 tests/e2e/spark_submit.py connector-folder SPARK_VERSION
prints the folder of the connector jars, fetching them on first use.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONNECTOR_PROJECT = REPO_ROOT / "tests" / "spark-deps" / "pom.xml"
CONNECTOR_CACHE = REPO_ROOT / ".cache" / "spark-deps"
COMMIT_JOB = REPO_ROOT / "tests" / "e2e" / "jobs" / "commit_job.py"
REALTIME_JOB = REPO_ROOT / "tests" / "e2e" / "jobs" / "realtime_job.py"
# Two task slots: a micro-batch job's tasks take turns on them.
DEFAULT_MASTER = "local[2]"
LISTENER_CLASS = "io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener"
# A deliberately slow listener the tests compile from jobs/SlowStreamingListener.java (see conftest.py).
SLOW_LISTENER_CLASS = "io.kafkaoffsetcommitter.e2e.SlowStreamingListener"
MAVEN_TIMEOUT_S = 900
# How Maven says that an artifact is not in the repository (also when it remembers an earlier miss).
MISSING_ARTIFACT_SIGNS = ("Could not find artifact", "was not found in", "Failed to read artifact descriptor")
# Spark releases whose Kafka connector the package registry reached from here lacks, each with the
# release whose connector the tests use in its place. The connector also reaches into Spark
# internals, so an older one is not sure to work on a newer Spark: the e2e tests (and the sbt suite,
# tests/compat.sh) are what show that a pairing does. Drop an entry once the registry carries that
# release's own connector. The registry has the connector jar of 4.0.4, 4.1.0 and 4.1.3 but not the
# token provider it depends on (nor 4.3.0's at all), so their nearest release that resolves stands in.
CONNECTOR_STAND_INS = {"4.0.4": "4.0.0", "4.1.0": "4.1.1", "4.1.3": "4.1.1", "4.3.0": "4.2.0"}


class SparkSetupError(RuntimeError):
    """Something spark-submit needs is missing; the message says what to do."""


def scala_binary_for(spark_version: str) -> str:
    """The Scala binary version of the Spark distribution on PyPI: 2.12 for Spark 3, 2.13 for 4."""
    return "2.12" if spark_version.startswith("3.") else "2.13"


def crate_version() -> str:
    """The project's version: the Rust crate's, which the jars and the wheel carry."""
    with open(REPO_ROOT / "rust" / "Cargo.toml", "rb") as manifest:
        return tomllib.load(manifest)["package"]["version"]


def listener_jar(scala_binary: str) -> Path:
    """The self-contained listener jar sbt packaged for this Scala binary version."""
    jar = (REPO_ROOT / "scala" / "spark" / "target" / f"scala-{scala_binary}"
           / f"kafka-offset-committer-spark_{scala_binary}-{crate_version()}.jar")
    if not jar.is_file():
        raise SparkSetupError(f"{jar} is missing: build it with `make jars`")
    return jar


def connector_version(spark_version: str) -> str:
    """The release of the Kafka connector used with this Spark: its own, or its stand-in."""
    return CONNECTOR_STAND_INS.get(spark_version, spark_version)


def connector_folder(spark_version: str) -> Path:
    """.cache/spark-deps/<connector>-<scala>/: Spark's Kafka connector and the few jars it needs
    that Spark does not ship, copied there by Maven on first use (see tests/spark-deps/pom.xml)."""
    connector, scala_binary = connector_version(spark_version), scala_binary_for(spark_version)
    folder = CONNECTOR_CACHE / f"{connector}-{scala_binary}"
    if not folder.is_dir():
        _copy_connector(connector, scala_binary, folder)
    return folder


def _copy_connector(connector: str, scala_binary: str, folder: Path) -> None:
    CONNECTOR_CACHE.mkdir(parents=True, exist_ok=True)
    # Copied into a private folder and renamed into place: a concurrent run never sees a half-filled one.
    staging = Path(tempfile.mkdtemp(prefix=f"{folder.name}-", dir=CONNECTOR_CACHE))
    try:
        command = ["mvn", "-B", "-q", "-f", str(CONNECTOR_PROJECT), "dependency:copy-dependencies",
                   f"-Dspark.version={connector}", f"-Dscala.binary={scala_binary}",
                   f"-DoutputDirectory={staging}"]
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=MAVEN_TIMEOUT_S)
        if done.returncode != 0:
            output = done.stdout + done.stderr
            # Maven's first error line names the artifact; the rest is advice about Maven itself.
            errors = [line.split("[ERROR]", 1)[1].strip() for line in output.splitlines() if "[ERROR]" in line]
            errors = [error for error in errors if error]
            message = errors[0] if errors else output[-3000:]
            if any(sign in output for sign in MISSING_ARTIFACT_SIGNS):
                message += (f"\nThe package registry reached from here does not carry Spark {connector}'s "
                            f"Kafka connector for Scala {scala_binary}: pick a Spark version whose connector it has, "
                            f"or give it a stand-in in CONNECTOR_STAND_INS.")
            raise SparkSetupError(f"{' '.join(command)} exited {done.returncode}:\n{message}")
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # else a concurrent run put the same jars there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def jars_option(spark_version: str) -> str:
    """The --jars value: our listener jar, then the Kafka connector jars."""
    jars = [listener_jar(scala_binary_for(spark_version)), *sorted(connector_folder(spark_version).glob("*.jar"))]
    return ",".join(str(jar) for jar in jars)


def spark_submit_command(venv: Path, spark_version: str, job: Path, job_args: list,
                         extra_jars: tuple = (), listeners_before: tuple = (), conf: dict = None,
                         master: str = DEFAULT_MASTER) -> list:
    """spark-submit from the venv's pyspark, exactly as a user runs a job with the committer.
    `extra_jars` and `listeners_before` add the user's own listeners, registered ahead of ours;
    `conf` adds Spark settings (e.g. the listener's spark.kafkaOffsetCommitter.*)."""
    jars = ",".join([jars_option(spark_version), *(str(jar) for jar in extra_jars)])
    listeners = ",".join([*listeners_before, LISTENER_CLASS])
    settings = [f"--conf={key}={value}" for key, value in (conf or {}).items()]
    return [str(venv / "bin" / "spark-submit"),
            "--master", master,
            "--jars", jars,
            "--conf", f"spark.sql.streaming.streamingQueryListeners={listeners}",
            *settings,
            str(job), *job_args]


def pyspark_jars(venv: Path) -> Path:
    """The Spark jars of the venv's pyspark (what spark-submit runs)."""
    found = sorted(venv.glob("lib/python*/site-packages/pyspark/jars"))
    if not found:
        raise SparkSetupError(f"no pyspark/jars folder in {venv}")
    return found[0]


def spark_submit_environment(venv: Path) -> dict:
    """This environment, with the venv's pyspark in charge: a SPARK_HOME set elsewhere would make
    spark-submit run another Spark, and the job's Python must be the venv's. Java is whichever
    spark-submit finds itself (JAVA_HOME, else `java` on PATH)."""
    environment = {name: value for name, value in os.environ.items() if name != "SPARK_HOME"}
    environment["PYSPARK_PYTHON"] = str(venv / "bin" / "python")
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    return environment


def main(argv: list) -> int:
    commands = {"jars": jars_option, "connector-version": connector_version, "connector-folder": connector_folder}
    if len(argv) != 2 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(commands[argv[0]](argv[1]))
    except SparkSetupError as e:
        print(f"spark_submit: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
