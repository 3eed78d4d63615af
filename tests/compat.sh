#!/usr/bin/env bash
# `make compat`: for each Spark version given, the spark-submit end-to-end tests (pyspark from PyPI
# in .cache/venv-spark-<version>, the Kafka connector of the same version) and the sbt listener
# suite on that Spark; then a markdown table of the results. Exits non-zero if any cell failed.
#
# Where the Maven registry lacks a release (tests/e2e/spark_submit.py CONNECTOR_STAND_INS names a
# stand-in connector for it), both suites run on pyspark's jars with the stand-in connector, and the
# cells say so. VERSION@2.13 on a Spark 3 release (e.g. 3.5.9@2.13) tests the Scala 2.13 listener jar
# on it, by the sbt suite alone (pyspark 3.x runs Scala 2.12).
#
# Usage (the broker must be up): tests/with-broker.sh tests/compat.sh 3.5.7 3.5.9@2.13 4.2.0 ...
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

# Runs a command with its output in a log file; prints how it went, and what failed if it did.
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
    "$root/tests/failures.sh" "$log"
  fi
  echo "compat: $label: $outcome, log $log"
  [[ $outcome == pass* ]]
}

# "pass (9 s)" plus a note: "pass (9 s, note)".
with_note() {
  if [[ -n $2 ]]; then echo "${1%)}, $2)"; else echo "$1"; fi
}

spark_submit=(python3 "$root/tests/e2e/spark_submit.py")
# The long fault scenarios run once, in `make test`'s test-e2e; KOC_COMPAT_E2E_MARKERS narrows further
# (`make test`'s run on the newest Spark leaves out the real-time job, which its Spark 4 run has).
e2e_markers=${KOC_COMPAT_E2E_MARKERS:-not fault}
# SessionCyclesSuite (50 SparkSession start/stop cycles) runs once, in `make test` on Spark 4; not here.
session_cycles_tag=io.kafkaoffsetcommitter.spark.SessionCycles

# pyspark and the Kafka connector for $version; on failure sets `missing` to what is missing.
prepare_pyspark_and_connector() {
  run_logged "Spark $version: venv" "$log_dir/$version-venv.log" \
    make -C "$root" --no-print-directory "$venv/.ready" || { missing="no pyspark venv"; return 1; }
  run_logged "Spark $version: Kafka connector $connector" "$log_dir/$version-connector.log" \
    "${spark_submit[@]}" jars "$version" || { missing="no Kafka connector"; return 1; }
}

for cell in "$@"; do
  version=${cell%@*}
  # pyspark on PyPI, the e2e tests' Spark, is built for Scala 2.12 up to Spark 3.5 and for 2.13 from
  # Spark 4 on. A Spark 3 release named with @2.13 stands for the Scala 2.13 listener jar on Spark 3.5,
  # which pyspark cannot run: no e2e there.
  if [[ $version == 3.* ]]; then pyspark_scala=2.12; else pyspark_scala=2.13; fi
  if [[ $cell == *@* ]]; then scala=${cell#*@}; else scala=$pyspark_scala; fi
  venv=$root/.cache/venv-spark-$version
  connector=$("${spark_submit[@]}" connector-version "$version")
  # A release with a stand-in connector is missing from the registry altogether, so the sbt suite too
  # takes its Spark from pyspark's jars (a whole Spark distribution) and the connector's folder.
  e2e_note="" sbt_note=""
  if [[ $connector != "$version" ]]; then
    e2e_note="connector $connector"
    sbt_note="pyspark's jars, connector $connector"
  fi

  e2e="n/a (pyspark ${version%.*} is Scala $pyspark_scala)"
  sbt=""
  sbt_options=("-Dspark.test.version=$version")
  if [[ $scala == "$pyspark_scala" || -n $sbt_note ]]; then
    if prepare_pyspark_and_connector; then
      if [[ $scala == "$pyspark_scala" ]]; then
        run_logged "Spark $version: spark-submit e2e" "$log_dir/$version-e2e.log" \
          env SPARK_VERSION="$version" "$venv/bin/pytest" -v -m "$e2e_markers" "$root/tests/e2e" || true
        e2e=$(with_note "$outcome" "$e2e_note")
      fi
      if [[ -n $sbt_note ]]; then
        pyspark_jars=$("$venv/bin/python" -c 'import pathlib, pyspark; print(pathlib.Path(pyspark.__file__).parent / "jars")')
        sbt_options+=("-Dspark.test.jars=$pyspark_jars:$("${spark_submit[@]}" connector-folder "$version")")
      fi
    else
      e2e="FAIL ($missing)"
      if [[ -n $sbt_note ]]; then sbt="FAIL ($missing)"; fi
    fi
  fi

  if [[ -z $sbt ]]; then
    run_logged "Spark $version: sbt suite (Scala $scala${sbt_note:+, $sbt_note})" "$log_dir/$version-sbt.log" \
      "$root/build/sbt" "${sbt_options[@]}" "++$scala spark/testOnly * -- -l $session_cycles_tag" || true
    sbt=$(with_note "$outcome" "$sbt_note")
  fi
  rows+=("| $version | $scala | $e2e | $sbt |")
done

echo
echo "| Spark | Scala | spark-submit e2e | sbt suite |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
