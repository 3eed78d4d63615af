#!/usr/bin/env bash
# `make compat`: for each Spark version given, the spark-submit end-to-end tests (pyspark from PyPI
# in .cache/venv-spark-<version>, the Kafka connector of the same version) and the sbt listener
# suite on that Spark; then a markdown table of the results. Exits non-zero if any cell failed.
#
# Usage (the broker must be up): tests/with-broker.sh tests/compat.sh 3.5.7 4.2.0 ...
# Needs the listener jars (`make jars`). Logs go to .cache/compat/<version>-<suite>.log.
set -euo pipefail
: "${KAFKA_BOOTSTRAP:?run through tests/with-broker.sh}"
if (($# == 0)); then
  echo "usage: tests/compat.sh SPARK_VERSION..." >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
log_dir=$root/.cache/compat
mkdir -p "$log_dir"
rows=()
failed=0

# Runs a command with its output in a log file; prints how it went, and the log's tail if it failed.
# Sets `outcome` to "pass (N s)" or "FAIL (N s)" and returns the command's success.
run_logged() {
  local label=$1 log=$2 started=$SECONDS
  shift 2
  echo "compat: $label ..."
  if "$@" >"$log" 2>&1; then
    outcome="pass ($((SECONDS - started)) s)"
  else
    outcome="FAIL ($((SECONDS - started)) s)"
    failed=1
    tail -n 30 "$log"
  fi
  echo "compat: $label: $outcome, log $log"
  [[ $outcome == pass* ]]
}

for version in "$@"; do
  # pyspark on PyPI is built for Scala 2.12 up to Spark 3.5 and for 2.13 from Spark 4 on.
  if [[ $version == 3.* ]]; then scala=2.12; else scala=2.13; fi
  venv=$root/.cache/venv-spark-$version

  e2e="FAIL (no pyspark venv)"
  if run_logged "Spark $version: venv" "$log_dir/$version-venv.log" \
      make -C "$root" --no-print-directory "$venv/.ready"; then
    e2e="FAIL (no Kafka connector)"
    if run_logged "Spark $version: Kafka connector" "$log_dir/$version-connector.log" \
        python3 "$root/tests/e2e/spark_submit.py" jars "$version"; then
      run_logged "Spark $version: spark-submit e2e" "$log_dir/$version-e2e.log" \
        env SPARK_VERSION="$version" "$venv/bin/pytest" -v "$root/tests/e2e" || true
      e2e=$outcome
    fi
  fi

  run_logged "Spark $version: sbt suite (Scala $scala)" "$log_dir/$version-sbt.log" \
    "$root/build/sbt" "-Dspark.test.version=$version" "++$scala spark/test" || true
  rows+=("| $version | $scala | $e2e | $outcome |")
done

echo
echo "| Spark | Scala | spark-submit e2e | sbt suite |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
