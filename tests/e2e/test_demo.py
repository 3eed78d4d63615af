"""`make demo` run non-interactively, its screen captured and read as a user would read it: lag above 0
while the topics are fed, then every partition of both topics at lag 0, the job's summary, exit 0.
It is also the test of the `--packages` install route: the listener comes from the Maven repository
layout `make jars` publishes (target/maven-repo), resolved by spark-submit from an empty folder with
an empty Ivy cache. Once per `make test`, on Spark 4."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import spark_submit

# Proven once in `make test` (not again on the newest Spark); `make compat` repeats it per line.
pytestmark = pytest.mark.feature

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "tests" / "e2e" / "demo.sh"
# The demo's own limits (first batch, drain) end it well before this.
DEMO_TIMEOUT_S = 600
TABLE_HEADER = ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG"]


def screens(text: str) -> list:
    """Each refresh as (phase, [(topic, partition, committed, log_end, lag), ...])."""
    found = []
    for block in re.split(r"^== ", text, flags=re.M)[1:]:
        lines = block.splitlines()
        phase = lines[0].split()[1]
        rows = []
        for line in lines[1:]:
            cells = line.split()
            if cells == TABLE_HEADER or not cells:
                continue
            if len(cells) == 6 and cells[0].startswith("demo-group"):
                rows.append((cells[1], int(cells[2]), int(cells[3]), int(cells[4]), int(cells[5])))
            elif line.startswith("demo:"):
                break
        found.append((phase, rows))
    return found


def test_demo_shows_lag_rising_while_fed_and_draining_to_zero(bootstrap, spark_version, tmp_path):
    if spark_version.startswith("3."):
        pytest.skip("the demo runs once per make test, on Spark 4 (the Scala 2.13 package)")
    environment = dict(os.environ, SPARK_VERSION=spark_version, VENV=sys.prefix, DEMO_LOG_DIR=str(tmp_path))
    done = subprocess.run([str(DEMO)], env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=DEMO_TIMEOUT_S)
    screen = done.stdout
    spark_log = (tmp_path / "spark-submit.log").read_text() if (tmp_path / "spark-submit.log").exists() else ""
    assert done.returncode == 0, f"demo exited {done.returncode}\n{screen}\n{done.stderr}\n{spark_log[-5000:]}"

    refreshes = screens(screen)
    fed = [rows for phase, rows in refreshes if phase == "feeding"]
    assert any(lag > 0 for rows in fed for *_, lag in rows), f"no lag above 0 while feeding:\n{screen}"
    phase, last = refreshes[-1]
    assert phase == "draining" and len(last) == 6 and all(lag == 0 for *_, lag in last), screen
    assert {topic for topic, *_ in last} == {topic for topic, *_ in fed[-1]} and len({t for t, *_ in last}) == 2, screen
    assert all(committed == log_end > 0 for _, _, committed, log_end, _ in last), screen

    written = int(re.search(r"^demo: feed stopped after \d+ s, (\d+) records written$", screen, re.M).group(1))
    assert sum(log_end for *_, log_end, _ in last) == written, screen
    summary = re.search(r"^demo: summary: (\d+) batches \((\d+) with data\), (\d+) rows, (\d+) commits to group "
                        r"demo-group\S*, commit latency p50 (\d+) ms, p99 (\d+) ms$", screen, re.M)
    assert summary, screen
    batches, with_data, rows, commits = (int(summary.group(i)) for i in range(1, 5))
    assert rows == written and with_data >= 2 and commits >= with_data and batches >= with_data, screen

    # The --packages route: our package found in the file repository (Spark names it repo-1), from a clean Ivy cache.
    version = spark_submit.crate_version()
    assert f"found io.kafkaoffsetcommitter#kafka-offset-committer-spark_2.13;{version} in repo-1" in spark_log, \
        spark_log[-5000:]
