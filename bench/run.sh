#!/usr/bin/env bash
# `make bench`, the JVM rows (bench/jvm/JvmBench.java): what users pay through the JVM, against what
# they run today, every row side by side in one run, medians over repeats. Runs against the broker of
# tests/with-broker.sh (KAFKA_BOOTSTRAP); the table replaces the generated part of docs/benchmarks.md
# (BENCH_OUT), keeping the findings written around it, and bench/chart.py draws rows 1-3 of that table
# into docs/img/benchmarks.png (BENCH_CHART), with matplotlib from a venv made on first use
# (.cache/venv-bench).
#
# Usage (from anywhere, with the jars built by `make jars`):
#   KAFKA_HARNESS_WORKDIR=.cache/broker-bench tests/with-broker.sh bench/run.sh
# Settings: BENCH_REPEATS (3), BENCH_SCALE_SECONDS (60), BENCH_SCALE_GROUPS (1000), BENCH_SMOKE=1 (few
# samples per row: checks the code, measures nothing; writes to .cache/bench-smoke/ unless BENCH_OUT and
# BENCH_CHART say otherwise, so the committed table and chart stay), BENCH_ONLY=visible (row 2 alone, to
# work on it; written there too), SPARK_VERSION (4.2.0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${KAFKA_BOOTSTRAP:?run under tests/with-broker.sh}"
cd "$root"
if [[ ${BENCH_SMOKE:-} == 1 || -n ${BENCH_ONLY:-} ]]; then
    smoke=$root/.cache/bench-smoke
    mkdir -p "$smoke"
    if [[ -z ${BENCH_OUT:-} ]]; then
        cp docs/benchmarks.md "$smoke/benchmarks.md"
        export BENCH_OUT=$smoke/benchmarks.md
    fi
    : "${BENCH_CHART:=$smoke/benchmarks.png}"
fi
export BENCH_OUT=${BENCH_OUT:-$root/docs/benchmarks.md}
chart=${BENCH_CHART:-$root/docs/img/benchmarks.png}

# (not `venv`: bench/classpath.sh sets that to pyspark's)
chart_venv=$root/.cache/venv-bench
if [[ ! -x $chart_venv/bin/python ]] || ! "$chart_venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    echo "making $chart_venv (matplotlib, for the chart)" >&2
    python3 -m venv "$chart_venv"
    "$chart_venv/bin/pip" install --quiet matplotlib
fi

# shellcheck source=bench/classpath.sh
. "$root/bench/classpath.sh"
export BENCH_CLASSPATH=$classpath
java -Xmx2g "${java_options[@]}" -cp "$classpath" JvmBench all
if [[ -n ${BENCH_ONLY:-} ]]; then
    exit 0 # a part of the table: nothing to chart
fi
mkdir -p "$(dirname "$chart")"
"$chart_venv/bin/python" "$root/bench/chart.py" "$BENCH_OUT" "$chart"
echo "chart of rows 1-3: $chart" >&2
