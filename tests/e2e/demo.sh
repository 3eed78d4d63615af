#!/usr/bin/env bash
# `make demo`: lag rising while data arrives and draining as a streaming query catches up.
#
# Two topics are fed at a steady rate while a Structured Streaming job (processing-time trigger, two
# Kafka sources), run through spark-submit exactly as a user would run it, reads them; the listener
# comes only from --packages (resolved from the Maven repository layout the build publishes into
# target/maven-repo) and --conf. Every couple of seconds our CLI draws the group's lag table. Then
# the feed stops, the lag drains to 0, the job prints its summary and everything stops.
#
# Runs under tests/with-broker.sh (KAFKA_BOOTSTRAP), with SPARK_VERSION and VENV (a venv with
# pyspark==SPARK_VERSION) set, after `make jars`. DEMO_FEED_SECONDS (30) and DEMO_RATE (records a
# second per partition, 40) shape the feed; Spark's log goes to DEMO_LOG_DIR (.cache/demo).
set -euo pipefail
: "${KAFKA_BOOTSTRAP:?run through tests/with-broker.sh}" "${SPARK_VERSION:?}" "${VENV:?}"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
feed_seconds=${DEMO_FEED_SECONDS:-30}
rate=${DEMO_RATE:-40}
refresh_seconds=2
# Longest the lag may take to drain once the feed stops, and the job to stop after that.
drain_limit_seconds=90
partitions=3
log_dir=${DEMO_LOG_DIR:-$root/.cache/demo}
mkdir -p "$log_dir"
work=$(mktemp -d)

say() { printf 'demo: %s\n' "$*"; }

pids=()
stop_children() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop_children EXIT

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/rust/Cargo.toml" | head -n 1)
scala_binary=$([[ $SPARK_VERSION == 3.* ]] && echo 2.12 || echo 2.13)
repository=$root/target/maven-repo
package=io.kafkaoffsetcommitter:kafka-offset-committer-spark_$scala_binary:$version
tool=$root/target/native/linux-$(uname -m)/kafka-offset-committer
[[ -x $tool ]] || { say "$tool is missing: run \`make native\`"; exit 1; }
[[ -f $repository/io/kafkaoffsetcommitter/kafka-offset-committer-spark_$scala_binary/$version/kafka-offset-committer-spark_$scala_binary-$version.pom ]] ||
  { say "$package is not in $repository: run \`make jars\`"; exit 1; }

connector_folder=$root/.cache/spark-deps/$(python3 "$here/spark_submit.py" connector-version "$SPARK_VERSION")-$scala_binary
[[ -d $connector_folder ]] || say "fetching Spark's Kafka connector with Maven into $connector_folder (first run only, about a minute)"
connector_folder=$(python3 "$here/spark_submit.py" connector-folder "$SPARK_VERSION")
connector_jars=$(find "$connector_folder" -name '*.jar' | sort | paste -sd, -)

say "creating topics ($partitions partitions each)"
topics=()
for name in demo-clicks demo-orders; do
  topics+=("$(python3 "$here/demo_kafka.py" new-topic "$name" "$partitions")")
done
# A broker kept from an earlier demo holds that group too: a new group goes with new topics.
group=demo-group${topics[0]#demo-clicks}
say "topics ${topics[*]}, consumer group $group"

# As a user with the venv activated; its Python also runs the job.
export PATH="$VENV/bin:$PATH" PYSPARK_PYTHON="$VENV/bin/python"
unset SPARK_HOME
stop_file=$work/stop
submit=(spark-submit --master "local[2]"
  --packages "$package"
  --repositories "file://$repository"
  --jars "$connector_jars"
  --conf spark.sql.streaming.streamingQueryListeners=io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener
  --conf "spark.jars.ivy=$work/ivy"
  "$here/jobs/demo_job.py" --bootstrap "$KAFKA_BOOTSTRAP" --topics "$(IFS=,; echo "${topics[*]}")"
  --group "$group" --checkpoint "$work/checkpoint" --stop-file "$stop_file" --trigger-seconds "$refresh_seconds")
spark_log=$log_dir/spark-submit.log
say "starting the streaming job (Spark's log: $spark_log):"
printf '  spark-submit --packages %s --repositories file://%s \\\n' "$package" "$repository"
printf '    --conf spark.sql.streaming.streamingQueryListeners=io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener ...\n'
# From an empty folder with an empty Ivy cache: the package comes from the repository, nothing else.
(cd "$work" && exec "${submit[@]}") >"$spark_log" 2>&1 &
spark_pid=$!
pids+=("$spark_pid")

# Waits for the query's first batch, so that the feed meets a running query.
started=$SECONDS
until grep -q '^demo_job: query running' "$spark_log"; do
  if ! kill -0 "$spark_pid" 2>/dev/null; then
    tail -n 60 "$spark_log"
    say "spark-submit ended before its query ran; the full log is $spark_log"
    exit 1
  fi
  (( SECONDS - started < 180 )) || { say "no query after 180 s; see $spark_log"; exit 1; }
  sleep 0.5
done
say "query running after $((SECONDS - started)) s; its first batch commits offset 0 of the empty topics"
start_feed() {
  say "feeding $rate records a second to each partition for $feed_seconds s"
  python3 "$here/demo_kafka.py" feed "$feed_seconds" "$rate" "${topics[@]}" >"$work/feed.log" 2>&1 &
  feed_pid=$!
  pids+=("$feed_pid")
}

lag_command=("$tool" lag --bootstrap-server "$KAFKA_BOOTSTRAP" --group "$group")
interactive=false
[[ -t 1 ]] && interactive=true
phase=starting
phase_started=$SECONDS
# The feed waits for the group's first commit (or at most this long), so the screen shows lag from the start.
first_commit_limit_seconds=30
drained_at=
while :; do
  table=$("${lag_command[@]}" 2>&1) || true
  # LAG is the last column; the header and a group without offsets have no number there.
  read -r rows total < <(awk '$NF ~ /^[0-9]+$/ { rows++; total += $NF } END { print rows + 0, total + 0 }' <<<"$table")
  if $interactive; then
    printf '\033[H\033[2J'
  fi
  printf '== %s  %s (%d s)  total lag %d   [%s]\n' "$(date -u +%H:%M:%S)" "$phase" $((SECONDS - phase_started)) "$total" \
    "kafka-offset-committer lag --bootstrap-server $KAFKA_BOOTSTRAP --group $group"
  printf '%s\n\n' "$table"
  if [[ $phase == starting ]] && (( rows == 2 * partitions || SECONDS - phase_started >= first_commit_limit_seconds )); then
    start_feed
    phase=feeding
    phase_started=$SECONDS
  elif [[ $phase == feeding ]] && ! kill -0 "$feed_pid" 2>/dev/null; then
    wait "$feed_pid" || { cat "$work/feed.log"; say "the feed failed"; exit 1; }
    cat "$work/feed.log"
    phase=draining
    phase_started=$SECONDS
  elif [[ $phase == draining ]]; then
    if (( rows == 2 * partitions && total == 0 )); then
      drained_at=$((SECONDS - phase_started))
      break
    fi
    (( SECONDS - phase_started < drain_limit_seconds )) || { say "the lag did not drain in $drain_limit_seconds s"; exit 1; }
  fi
  kill -0 "$spark_pid" 2>/dev/null || { tail -n 60 "$spark_log"; say "spark-submit ended early; see $spark_log"; exit 1; }
  sleep "$refresh_seconds"
done
say "lag drained to 0 on all $rows partitions ${drained_at} s after the feed stopped; stopping the job"
touch "$stop_file"
if ! wait "$spark_pid"; then
  tail -n 60 "$spark_log"
  say "spark-submit failed; the full log is $spark_log"
  exit 1
fi
grep '^demo_job: summary' "$spark_log" | sed 's/^demo_job: /demo: /'
say "done: the job, the feed and the CLI stopped; the broker stops next"
