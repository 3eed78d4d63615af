#!/usr/bin/env bash
# Runs a command with the real test brokers up: starts them (reusing live ones of the same work
# directories), exports their addresses (KAFKA_BOOTSTRAP, KAFKA_SASL_BOOTSTRAP, ... for the main
# broker; KAFKA_BOOTSTRAP_2 for a second, independent cluster), creates the ACL fixtures the tests
# rely on, and stops both brokers when the command ends, whatever its outcome.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
workdir=${KAFKA_HARNESS_WORKDIR:-$root/.cache/broker}
second_workdir="$workdir-2"
harness=(python3 "$root/tests/kafka_harness.py")

stop_brokers() {
    "${harness[@]}" stop --workdir "$workdir" >/dev/null || true
    "${harness[@]}" stop --workdir "$second_workdir" >/dev/null || true
}
trap stop_brokers EXIT
"${harness[@]}" start --workdir "$second_workdir" >/dev/null
# shellcheck source=/dev/null
KAFKA_BOOTSTRAP_2=$(. "$second_workdir/env.sh" && echo "$KAFKA_BOOTSTRAP")
"${harness[@]}" start --workdir "$workdir" >/dev/null
# shellcheck source=/dev/null
. "$workdir/env.sh"
export KAFKA_BOOTSTRAP_2
"${harness[@]}" fixtures --workdir "$workdir" >/dev/null
"$@"
