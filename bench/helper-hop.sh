#!/usr/bin/env bash
# Where the helper hop's time goes: a JVM makes 8-partition commitSync calls 20 ms apart through the
# native helper while `perf trace` records the system calls of the JVM and the helper (one clock for
# both); bench/hop_timeline.py cuts each commit at its hand-offs (JVM writes the frame, the helper reads
# it, the helper's broker thread sends, receives, the helper writes the answer, the JVM reads it).
# Only read, write, sendmsg and recvmsg are traced (futexes are too many: tracing them costs more than the
# hand-offs); perf trace still costs a few µs per traced call: compare segments, not totals with `make bench`.
#
# Usage: KAFKA_HARNESS_WORKDIR=.cache/broker-bench tests/with-broker.sh bench/helper-hop.sh [COMMITS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${KAFKA_BOOTSTRAP:?run under tests/with-broker.sh}"
commits=${1:-200}
# shellcheck source=bench/classpath.sh
. "$root/bench/classpath.sh"
work=${HOP_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/helper-hop.XXXXXX")}
trap 'rm -rf "$classes"' EXIT

coproc BENCH { java -Xmx256m "${java_options[@]}" -cp "$classpath" JvmBench hop "$KAFKA_BOOTSTRAP" "$commits"; }
bench_pid=$BENCH_PID # bash unsets BENCH_PID once the coprocess ends
while read -r marker jvm helper <&"${BENCH[0]}"; do
    case $marker in
        UNTRACED_NS) echo "$marker $jvm" >>"$work/round-trips.txt" ;;
        PIDS) break ;;
        *) echo "unexpected line from the bench JVM: $marker" >&2; exit 1 ;;
    esac
done
perf trace -e read,write,sendmsg,recvmsg -p "$jvm,$helper" -o "$work/trace.txt" &
perf_pid=$!
sleep 3 # perf trace attaches to every thread
echo go >&"${BENCH[1]}"
grep '^ROUND_TRIP_NS' <&"${BENCH[0]}" >>"$work/round-trips.txt" || true
wait "$bench_pid"
# perf trace ends by itself once both traced processes are gone; SIGINT if it has not yet.
kill -INT "$perf_pid" 2>/dev/null || true
wait "$perf_pid" || true
python3 "$root/bench/hop_timeline.py" "$work/trace.txt" "$work/round-trips.txt"
