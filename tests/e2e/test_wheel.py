"""The pip route: the wheel build/wheel.sh makes (target/python/), installed with `pip install --no-deps` into a
fresh venv in a clean directory, then a real PySpark job (jobs/wheel_job.py, plain `python`, local mode) that gets
the listener from kafka_offset_committer.configure(builder) alone. Kafka's own Java client then reads the group:
it must hold the topic's end offsets. The venv inherits pyspark from this test's venv through a .pth file (pyspark
is large; what is tested is our wheel, not pyspark's)."""

import json
import os
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

import kafka_harness
import spark_submit

# Proven once in `make test` (not again on the newest Spark); `make compat` repeats it per line.
pytestmark = pytest.mark.feature

REPO_ROOT = Path(__file__).resolve().parents[2]
WHEEL_JOB = REPO_ROOT / "tests" / "e2e" / "jobs" / "wheel_job.py"
PARTITIONS = 2
RECORDS_PER_PARTITION = 20
JOB_TIMEOUT_S = 300
LISTENER_CLASS = spark_submit.LISTENER_CLASS
LISTENERS_KEY = "spark.sql.streaming.streamingQueryListeners"


@pytest.fixture(scope="module")
def wheel() -> Path:
    """The wheel, checked to carry the listener jars the build holds now (a stale wheel would test old code)."""
    version = spark_submit.crate_version()
    path = REPO_ROOT / "target" / "python" / f"kafka_offset_committer-{version}-py3-none-any.whl"
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it with build/wheel.sh (after make jars)", pytrace=False)
    with zipfile.ZipFile(path) as archive:
        for scala in ("2.12", "2.13"):
            jar = spark_submit.listener_jar(scala)
            inside = f"kafka_offset_committer/jars/{jar.name}"
            if inside not in archive.namelist():
                pytest.fail(f"{path} lacks {inside}", pytrace=False)
            if archive.read(inside) != jar.read_bytes():
                pytest.fail(f"{path} carries another {jar.name} than {jar}: rebuild it with build/wheel.sh",
                            pytrace=False)
    return path


def run(command: list, cwd: Path, env: dict, timeout: float, log: Path) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    with open(log, "a") as out:
        out.write(f"$ {' '.join(map(str, command))}\n{done.stdout}{done.stderr}\nexit {done.returncode}\n")
    assert done.returncode == 0, f"{command[:3]} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def user_venv(wheel, tmp_path_factory) -> tuple:
    """A clean directory holding a fresh venv with the wheel installed and this venv's pyspark inherited; returns
    (directory, its python, the environment to run it in, the log of the commands run there)."""
    home = tmp_path_factory.mktemp("user")
    log = home.parent / f"{home.name}-commands.log"
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("SPARK_HOME", "PYTHONPATH", "VIRTUAL_ENV")}
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(home / "venv")], home, environment, 120, log)
    python = home / "venv" / "bin" / "python"
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       home, environment, 60, log).strip())
    # Appended after the venv's own site-packages: pyspark and py4j come from here, our package from the wheel.
    (purelib / "inherited-pyspark.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], home, environment, 120, log)
    print(f"venv with the wheel ready in {time.monotonic() - started:.1f} s")
    environment["PYSPARK_PYTHON"] = str(python)
    return home, python, environment, log


def test_configure_appends_to_the_builder(user_venv, spark_version):
    """configure() keeps what the builder holds, and picks the jar of the installed Spark's Scala version."""
    home, python, environment, log = user_venv
    script = (
        "import json, kafka_offset_committer as k\n"
        "from pyspark.sql import SparkSession\n"
        "b = SparkSession.builder.config('spark.jars', '/opt/mine.jar')"
        f".config('{LISTENERS_KEY}', 'com.example.Mine')\n"
        "k.configure(k.configure(b))\n"
        "print(json.dumps({'options': dict(b._options), 'scala': k.spark_scala_version(),"
        " 'jars': [k.jar_path('2.12'), k.jar_path('2.13')], 'module': k.__file__}))\n")
    report = json.loads(run([str(python), "-c", script], home, environment, 60, log).splitlines()[-1])
    scala = spark_submit.scala_binary_for(spark_version)
    assert report["scala"] == scala
    venv = str(home / "venv")
    assert report["module"].startswith(venv), report["module"]
    jar = report["jars"][0 if scala == "2.12" else 1]
    assert all(path.startswith(venv) and Path(path).is_file() for path in report["jars"]), report["jars"]
    # Twice configured, each item once.
    assert report["options"]["spark.jars"] == f"/opt/mine.jar,{jar}"
    assert report["options"][LISTENERS_KEY] == f"com.example.Mine,{LISTENER_CLASS}"


def test_pyspark_job_commits_through_the_wheel(user_venv, bootstrap, spark_version, unique_name):
    home, python, environment, log = user_venv
    topic, group = unique_name("wheel-topic"), unique_name("wheel-group")
    kafka_harness.create_topic(bootstrap, topic, partitions=PARTITIONS)
    end = kafka_harness.produce(bootstrap, topic, RECORDS_PER_PARTITION)
    connector_jars = ",".join(str(jar) for jar in sorted(spark_submit.connector_folder(spark_version).glob("*.jar")))

    started = time.monotonic()
    output = run([str(python), str(WHEEL_JOB), "--bootstrap", bootstrap, "--topic", topic, "--group", group,
                  "--checkpoint", str(home / "checkpoint"), "--connector-jars", connector_jars],
                 home, environment, JOB_TIMEOUT_S, log)
    print(f"wheel_job ran {time.monotonic() - started:.1f} s")
    lines = [line for line in output.splitlines() if line.startswith("wheel_job: ")]
    assert lines, f"the job printed no report:\n{output[-3000:]}"
    report = json.loads(lines[-1].removeprefix("wheel_job: "))

    assert report["module"].startswith(str(home / "venv")), report["module"]
    scala = spark_submit.scala_binary_for(spark_version)
    assert Path(report["jar_path"]).name == f"kafka-offset-committer-spark_{scala}-{spark_submit.crate_version()}.jar"
    # The connector jars the builder held stay, the listener jar follows them.
    assert report["spark_jars"] == f"{connector_jars},{report['jar_path']}"
    assert report["listeners"] == LISTENER_CLASS

    expected = {(topic, partition): offset for partition, offset in end.items()}
    assert report["flushed"] is True, report
    [entry] = report["status"]
    # A first commit may meet a coordinator still loading (NotCoordinator) and succeed on retry: last_error_kind then
    # keeps that kind, so the verdict is the last attempt's.
    assert entry["group"] == group and not entry["last_attempt_failed"] and not entry["parked"], entry
    assert {(topic, int(partition)): offset for partition, offset in entry["last_committed_offsets"][topic].items()} \
        == expected
    assert kafka_harness.group_offsets(bootstrap, group) == expected
