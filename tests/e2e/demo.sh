#!/usr/bin/env bash
# `make demo`: a Structured Streaming job, run through spark-submit exactly as a user would run it,
# reads a 3-partition topic; our listener commits each batch's end offsets to the job's consumer
# group; then Kafka's own kafka-consumer-groups shows the group at the log end, lag 0.
#
# Runs under tests/with-broker.sh (KAFKA_BOOTSTRAP), with SPARK_VERSION and VENV (a venv with
# pyspark==SPARK_VERSION) set, after `make jars`.
set -euo pipefail
: "${KAFKA_BOOTSTRAP:?run through tests/with-broker.sh}" "${SPARK_VERSION:?}" "${VENV:?}"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
log_dir=$root/.cache/demo
group=demo-group
partitions=3
records_per_partition=1000
checkpoint=$(mktemp -d)
trap 'rm -rf "$checkpoint"' EXIT

# Quotes an argument for a shell only where it needs it, so the printed command stays readable.
shell_word() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# Prints a command ready to copy: one line per option, and one for the job and its own options.
print_command() {
  local line arg
  line=$(shell_word "$1")
  shift
  for arg in "$@"; do
    if [[ $arg == --* || $arg == *.py ]]; then
      printf '%s \\\n' "$line"
      line="  $(shell_word "$arg")"
    else
      line+=" $(shell_word "$arg")"
    fi
  done
  printf '%s\n' "$line"
}

topic=$(python3 "$here/demo_kafka.py" new-topic demo-events "$partitions")
python3 "$here/demo_kafka.py" produce "$topic" "$records_per_partition"
echo "demo: topic $topic holds $records_per_partition records on each of its $partitions partitions"

jars=$(python3 "$here/spark_submit.py" jars "$SPARK_VERSION")
# As a user with the venv activated; its Python also runs the job.
export PATH="$VENV/bin:$PATH" PYSPARK_PYTHON="$VENV/bin/python"
unset SPARK_HOME
# At most half the records a batch: they take two batches, and the group follows both.
submit=(spark-submit --master "local[2]"
  --jars "$jars"
  --conf spark.sql.streaming.streamingQueryListeners=io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener
  "$here/jobs/commit_job.py" --bootstrap "$KAFKA_BOOTSTRAP" --topic "$topic" --group "$group"
  --checkpoint "$checkpoint" --trigger available-now --max-offsets-per-trigger $((partitions * records_per_partition / 2)))
mkdir -p "$log_dir"
spark_log=$log_dir/spark-submit.log
echo "demo: running (Spark's log: $spark_log)"
print_command "${submit[@]}"
started=$SECONDS
if ! "${submit[@]}" >"$spark_log" 2>&1; then
  tail -n 80 "$spark_log"
  echo "demo: spark-submit failed; the full log is $spark_log" >&2
  exit 1
fi
grep '^commit_job:' "$spark_log" || true
echo "demo: spark-submit finished in $((SECONDS - started)) s"
echo
python3 "$here/demo_kafka.py" report "$topic" "$group"
