#!/usr/bin/env bash
# Installs, on first use, the toolchain that cross-builds the native artifacts for old glibc:
# Zig (from the `ziglang` Python package, in a venv under .cache/), cargo-zigbuild (built by
# `cargo install` into .cache/) and the Rust standard library for aarch64. Prints nothing when warm.
# Sourced by build/native.sh; exports ZIG_PYTHON, CARGO_ZIGBUILD and CARGO_ZIGBUILD_ZIG_PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
ZIG_VERSION=0.14.1
CARGO_ZIGBUILD_VERSION=0.24.1
RUST_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)

ZIG_VENV="$CACHE/zig-$ZIG_VERSION"
if [[ ! -f "$ZIG_VENV/.ready" ]]; then
  echo "cross toolchain: installing Zig $ZIG_VERSION (ziglang) into $ZIG_VENV" >&2
  rm -rf "$ZIG_VENV"
  python3 -m venv "$ZIG_VENV"
  "$ZIG_VENV/bin/pip" install --quiet "ziglang==$ZIG_VERSION"
  touch "$ZIG_VENV/.ready"
fi
ZIG_PYTHON="$ZIG_VENV/bin/python3"
# The wheel ships the zig binary inside the package folder.
CARGO_ZIGBUILD_ZIG_PATH="$("$ZIG_PYTHON" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"

ZIGBUILD_ROOT="$CACHE/cargo-zigbuild-$CARGO_ZIGBUILD_VERSION"
CARGO_ZIGBUILD="$ZIGBUILD_ROOT/bin/cargo-zigbuild"
if [[ ! -x "$CARGO_ZIGBUILD" ]]; then
  echo "cross toolchain: cargo install cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $ZIGBUILD_ROOT" >&2
  cargo install --quiet --locked --root "$ZIGBUILD_ROOT" --version "$CARGO_ZIGBUILD_VERSION" cargo-zigbuild
fi

installed_targets="$(rustup target list --installed)"
for target in "${RUST_TARGETS[@]}"; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    echo "cross toolchain: rustup target add $target" >&2
    rustup target add "$target" >&2
  fi
done

export ZIG_PYTHON CARGO_ZIGBUILD CARGO_ZIGBUILD_ZIG_PATH
