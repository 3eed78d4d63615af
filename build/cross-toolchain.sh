#!/usr/bin/env bash
# Installs, on first use, the toolchain that cross-builds the native artifacts for old glibc: Zig
# (the `ziglang` Python package) and cargo-zigbuild (its prebuilt Python wheel: seconds, where
# `cargo install` compiles for minutes) in one venv under .cache/, and the Rust standard library for
# each target. Prints nothing when warm.
# Sourced by build/zigcargo.sh; exports CARGO_ZIGBUILD and CARGO_ZIGBUILD_ZIG_PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ZIG_VERSION=0.14.1
CARGO_ZIGBUILD_VERSION=0.24.1
RUST_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)

TOOLCHAIN_VENV="$ROOT/.cache/zig-$ZIG_VERSION-cargo-zigbuild-$CARGO_ZIGBUILD_VERSION"
if [[ ! -f "$TOOLCHAIN_VENV/.ready" ]]; then
  echo "cross toolchain: installing Zig $ZIG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $TOOLCHAIN_VENV" >&2
  rm -rf "$TOOLCHAIN_VENV"
  python3 -m venv "$TOOLCHAIN_VENV"
  "$TOOLCHAIN_VENV/bin/pip" install --quiet "ziglang==$ZIG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
  touch "$TOOLCHAIN_VENV/.ready"
fi
CARGO_ZIGBUILD="$TOOLCHAIN_VENV/bin/cargo-zigbuild"
# The wheel ships the zig binary inside the package folder.
CARGO_ZIGBUILD_ZIG_PATH="$("$TOOLCHAIN_VENV/bin/python3" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"

installed_targets="$(rustup target list --installed)"
for rust_target in "${RUST_TARGETS[@]}"; do
  if ! grep -qx "$rust_target" <<<"$installed_targets"; then
    echo "cross toolchain: rustup target add $rust_target" >&2
    rustup target add "$rust_target" >&2
  fi
done

export CARGO_ZIGBUILD CARGO_ZIGBUILD_ZIG_PATH
