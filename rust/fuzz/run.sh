#!/usr/bin/env bash
# Fuzzes each target for SECONDS: rust/fuzz/run.sh SECONDS
# New inputs collect in rust/fuzz/corpus/<target> (git-ignored); the committed seeds and
# dictionaries in rust/fuzz/seeds/ hand the fuzzers real input shapes from the first run on
# (config_translate's seeds plant the canary secret its leak check looks for).
# A failing input is saved in rust/fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
seconds=${1:?usage: rust/fuzz/run.sh SECONDS}
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz_dir/.."    # cargo fuzz looks for ./fuzz
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in offsets_parser config_translate; do
    mkdir -p "$fuzz_dir/corpus/$target"
    # The targets are safe Rust, so AddressSanitizer would add only a nightly toolchain and
    # slowness; debug assertions keep integer overflow checks on.
    cargo fuzz run --sanitizer none --debug-assertions "$target" \
        "$fuzz_dir/corpus/$target" "$fuzz_dir/seeds/$target" -- \
        -dict="$fuzz_dir/seeds/$target.dict" -max_total_time="$seconds" -print_final_stats=1
done
