#!/usr/bin/env bash
# `make compat`'s broker cell: the broker-backed tiers of `make test` against another Kafka release than
# the harness's default (tests/kafka_harness.py DEFAULT_KAFKA_VERSION), on brokers of their own, then a
# markdown table of the results. Exits non-zero if any tier failed.
#
# Usage: tests/broker/other-kafka.sh KAFKA_VERSION SPARK_VERSION
#   KAFKA_VERSION  the broker's release (its jars are copied by Maven into .cache/kafka-<version>/)
#   SPARK_VERSION  the Spark of the JVM suite and the spark-submit tests (its venv must exist: make does it)
# Needs the listener jars (`make jars`). Logs go to .cache/compat/kafka-<version>-<tier>.log.
set -euo pipefail
if (($# != 2)); then
  echo "usage: tests/broker/other-kafka.sh KAFKA_VERSION SPARK_VERSION" >&2
  exit 2
fi
kafka=$1 spark=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
log_dir=$root/.cache/compat
mkdir -p "$log_dir"
venv=$root/.cache/venv-spark-$spark
if [[ $spark == 3.* ]]; then scala=2.12; else scala=2.13; fi
export KOC_KAFKA_VERSION=$kafka
# Brokers of their own, so that this cell never stops or reuses the brokers of the default release.
export KAFKA_HARNESS_WORKDIR=$root/.cache/broker-kafka-$kafka
with_broker=("$root/tests/with-broker.sh")

rows=()
failed=0
# tier ID LABEL COMMAND...: runs COMMAND with the brokers up, its output in kafka-<version>-ID.log.
tier() {
  local log=$log_dir/kafka-$kafka-$1.log name=$2 started=$SECONDS outcome
  shift 2
  echo "compat: Kafka $kafka: $name ..."
  if "${with_broker[@]}" "$@" >"$log" 2>&1; then
    outcome="pass ($((SECONDS - started)) s)"
  else
    outcome="FAIL ($((SECONDS - started)) s)"
    failed=1
    "$root/tests/failures.sh" "$log"
  fi
  echo "compat: Kafka $kafka: $name: $outcome, log $log"
  rows+=("| $kafka | $name | $outcome |")
}

tier smoke "harness smoke" "$venv/bin/pytest" -v "$root/tests/test_harness_smoke.py"
tier e2e "spark-submit e2e, Spark $spark" \
  env SPARK_VERSION="$spark" "$venv/bin/pytest" -v -m "not fault" "$root/tests/e2e"
tier core "JVM API suite" "$root/build/sbt" core/test
tier spark "listener suite, Spark $spark" "$root/build/sbt" -Dspark.test.version="$spark" \
  "++$scala spark/testOnly * -- -l io.kafkaoffsetcommitter.spark.SessionCycles"
tier rust "Rust tiers" "$root/tests/rust-tests.sh"

echo
echo "| Kafka broker | tier | result |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
