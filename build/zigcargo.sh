#!/usr/bin/env bash
# Runs one cargo command for one Linux target through cargo-zigbuild, linked against glibc 2.17 at
# most with baseline CPU features, in that target's own cargo target dir (target/cross/<triple>/).
# Every Rust build of the workspace goes through here, so the tests, clippy, the benchmarks and the
# jars share one build of librdkafka per target, and the tests run the very code the jars carry.
#
#   build/zigcargo.sh TRIPLE SUBCOMMAND [ARGS...]   e.g. build/zigcargo.sh aarch64-unknown-linux-gnu zigbuild --release
#   build/zigcargo.sh host SUBCOMMAND [ARGS...]     this machine's architecture (tests, clippy, benchmarks)
#
# Zig's `cc` links against glibc stubs of the version named in the target (x86_64-unknown-linux-gnu.2.17),
# so a symbol newer than 2.17 fails the link instead of slipping in. Built artifacts land in
# target/cross/<triple>/<triple>/release/. Toolchain: build/cross-toolchain.sh (into .cache/ on first use).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GLIBC=2.17
target="${1:?usage: build/zigcargo.sh TRIPLE|host SUBCOMMAND [ARGS...]}"
subcommand="${2:?usage: build/zigcargo.sh TRIPLE|host SUBCOMMAND [ARGS...]}"
shift 2
if [[ "$target" == host ]]; then
  target="$(rustc -vV | sed -n 's/^host: //p')"
fi
arch="${target%%-*}"

# shellcheck source=cross-toolchain.sh
source "$ROOT/build/cross-toolchain.sh"

# librdkafka's own ./configure and Makefile (run by rdkafka-sys) take the compiler from plain CC and
# AR, not from the per-target CC_<triple> that cargo-zigbuild sets for the cc crate; without these
# they would use the host gcc, host glibc headers and the host architecture.
WRAPPERS="$ROOT/.cache/cross-cc"
write_wrapper() { # name, command [, shell line run before it]
  local file="$WRAPPERS/$1" text
  text="$(printf '#!/bin/sh\n%s\nexec %s "$@"\n' "${3:-}" "$2")"
  if [[ ! -f "$file" || "$(cat "$file")" != "$text" ]]; then
    mkdir -p "$WRAPPERS"
    printf '%s\n' "$text" >"$file"
    chmod +x "$file"
  fi
}
zig_target="$arch-linux-gnu.$GLIBC"
# mklove probes the compiler with `$CC --version`, which zig refuses with a glibc version in the
# target ("version '.2.17' in target triple is invalid"), and then silently falls back to gcc.
# Its `make libs` also links librdkafka.so.1 with a version script naming a symbol this build
# leaves out; GNU ld shrugs, zig's lld fails ("version script assignment ... symbol not defined").
probe_and_shared="case \" \$* \" in *' --version '*) exec '$CARGO_ZIGBUILD_ZIG_PATH' \$ZIG_TOOL -target $arch-linux-gnu --version;; *' -shared '*) set -- \"\$@\" -Wl,--undefined-version;; esac"
write_wrapper "$arch-cc" "'$CARGO_ZIGBUILD_ZIG_PATH' cc -target $zig_target" "ZIG_TOOL=cc; $probe_and_shared"
# `make libs` builds the C++ wrapper library too (unused here); host g++ would make x86_64 objects.
write_wrapper "$arch-c++" "'$CARGO_ZIGBUILD_ZIG_PATH' c++ -target $zig_target" "ZIG_TOOL=c++; $probe_and_shared"
write_wrapper "$arch-ar" "'$CARGO_ZIGBUILD_ZIG_PATH' ar"
write_wrapper "$arch-ranlib" "'$CARGO_ZIGBUILD_ZIG_PATH' ranlib"

export CC="$WRAPPERS/$arch-cc" CXX="$WRAPPERS/$arch-c++" AR="$WRAPPERS/$arch-ar" RANLIB="$WRAPPERS/$arch-ranlib"
exec "$CARGO_ZIGBUILD" "$subcommand" --locked --manifest-path "$ROOT/Cargo.toml" \
  --target "$target.$GLIBC" --target-dir "$ROOT/target/cross/$target" "$@"
