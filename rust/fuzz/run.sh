#!/usr/bin/env bash
# Fuzzes each target for a time or to a number of executions, and prints each target's count:
#   rust/fuzz/run.sh seconds 15          (make test: a short pass)
#   rust/fuzz/run.sh runs 10000000       (make fuzz: at least ten million executions per target)
# New inputs collect in rust/fuzz/corpus/<target> (git-ignored); the committed seeds and
# dictionaries in rust/fuzz/seeds/ hand the fuzzers real input shapes from the first run on
# (config_translate's seeds plant the canary secret its leak check looks for).
# A failing input is saved in rust/fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
usage="usage: rust/fuzz/run.sh seconds N | runs N"
mode=${1:?$usage}
amount=${2:?$usage}
case "$mode" in
    seconds) budget=(-max_total_time="$amount") ;;
    runs) budget=(-runs="$amount") ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz_dir/.."    # cargo fuzz looks for ./fuzz
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
summary=()
for target in offsets_parser config_translate; do
    mkdir -p "$fuzz_dir/corpus/$target"
    log="$fuzz_dir/corpus/$target.log"
    # The targets are safe Rust, so AddressSanitizer would add only a nightly toolchain and
    # slowness; debug assertions keep integer overflow checks on.
    cargo fuzz run --sanitizer none --debug-assertions "$target" \
        "$fuzz_dir/corpus/$target" "$fuzz_dir/seeds/$target" -- \
        -dict="$fuzz_dir/seeds/$target.dict" "${budget[@]}" -print_final_stats=1 2>&1 | tee "$log" | grep -v '^#[0-9]'
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    seconds=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
    if [[ "$mode" == runs && "${executed:-0}" -lt "$amount" ]]; then
        echo "fuzz: $target ran ${executed:-0} executions, fewer than $amount" >&2
        exit 1
    fi
    summary+=("$target: ${executed:-?} executions in ${seconds:-?} s, 0 crashes")
done
printf 'fuzz: %s\n' "${summary[@]}"
