#!/usr/bin/env bash
# `make bench`, the JVM rows (bench/jvm/JvmBench.java): what users pay through the JVM, against what
# they run today, every row side by side in one run, medians over repeats. Runs against the broker of
# tests/with-broker.sh (KAFKA_BOOTSTRAP); the table replaces the generated part of docs/benchmarks.md
# (BENCH_OUT), keeping the findings written around it.
#
# Usage (from anywhere, with the jars built by `make jars`):
#   KAFKA_HARNESS_WORKDIR=.cache/broker-bench tests/with-broker.sh bench/run.sh
# Settings: BENCH_REPEATS (3), BENCH_SCALE_SECONDS (60), BENCH_SCALE_GROUPS (1000), BENCH_SMOKE=1 (few
# samples per row: checks the code, measures nothing), SPARK_VERSION (4.2.0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${KAFKA_BOOTSTRAP:?run under tests/with-broker.sh}"
# shellcheck source=bench/classpath.sh
. "$root/bench/classpath.sh"
cd "$root"
export BENCH_CLASSPATH=$classpath
java -Xmx2g "${java_options[@]}" -cp "$classpath" JvmBench all
