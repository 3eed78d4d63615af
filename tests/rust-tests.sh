#!/usr/bin/env bash
# The Rust tier of `make test`: one build, then the test binaries in two lanes side by side. Four
# binaries start brokers of their own and spend most of their minutes waiting (a broker killed,
# paused, gone, a request left to time out); run one after another they took 300 of the tier's
# 345 s of tests, on a machine whose two cores they leave mostly idle. Both lanes' output ends up
# on stdout, the second lane's after the first's, so a log of this script holds every line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Balanced by their last measured times (helper_outage 113 s + broker_restart 58 s against
# broker_gone 71 s + ordering 59 s + the other binaries, about 45 s).
SECOND_LANE=(helper_outage broker_restart)

build/zigcargo.sh host test --release --no-run

second=() first=(--lib --bins)
for file in rust/tests/*.rs; do
  name="$(basename "$file" .rs)"
  if [[ " ${SECOND_LANE[*]} " == *" $name "* ]]; then second+=(--test "$name"); else first+=(--test "$name"); fi
done
if (( ${#second[@]} != 2 * ${#SECOND_LANE[@]} )); then
  echo "tests/rust-tests.sh: a test binary of SECOND_LANE (${SECOND_LANE[*]}) is not in rust/tests/" >&2
  exit 1
fi

# cargo holds its build-directory lock only while it builds: with everything built, both run at once.
second_log="$(mktemp)"
trap 'rm -f "$second_log"' EXIT
build/zigcargo.sh host test --release "${second[@]}" >"$second_log" 2>&1 &
second_lane=$!
status=0
build/zigcargo.sh host test --release "${first[@]}" || status=1
wait "$second_lane" || status=1
echo "[the second lane: ${SECOND_LANE[*]}]"
cat "$second_log"
exit "$status"
