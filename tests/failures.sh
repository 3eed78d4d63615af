#!/usr/bin/env bash
# Prints what failed and why from a test run's log: ScalaTest's "*** FAILED ***" entries and pytest's
# failure lines with what follows them, then the log's end. CI shows only the end of a run's output,
# where a test tool's summary names the failed suite but not the failed test or its message.
set -uo pipefail
log=$1
echo "[what failed, from $log:]"
grep -E -A 12 -e '\*\*\* FAILED \*\*\*' -e '^(FAILED|ERROR) ' -e '^E  ' "$log" | head -n 80
echo "[the end of $log:]"
tail -n 12 "$log"
