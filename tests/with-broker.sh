#!/usr/bin/env bash
# Runs a command with the real test broker up: starts it (reusing a live one of the same work
# directory), exports its addresses (KAFKA_BOOTSTRAP, KAFKA_SASL_BOOTSTRAP, ...), creates the ACL
# fixtures the tests rely on, and stops the broker when the command ends, whatever its outcome.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
workdir=${KAFKA_HARNESS_WORKDIR:-$root/.cache/broker}
harness=(python3 "$root/tests/kafka_harness.py")

"${harness[@]}" start --workdir "$workdir" >/dev/null
trap '"${harness[@]}" stop --workdir "$workdir" >/dev/null' EXIT
# shellcheck source=/dev/null
. "$workdir/env.sh"
"${harness[@]}" fixtures --workdir "$workdir" >/dev/null
"$@"
