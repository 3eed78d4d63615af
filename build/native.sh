#!/usr/bin/env bash
# Builds the native artifacts every jar carries, for every Linux platform, linked against glibc 2.17
# at most, and lays them out as the jars hold them:
#
#   target/native/<folder>/libkafka_offset_committer.so      the JNI library
#   target/native/<folder>/kafka-offset-committer-helper     the helper executable
#
# where <folder> is what NativePlatform.folder() answers on that platform (asked of the class itself,
# so the build and the loader agree). sbt packs every file under target/native/ into the jars.
#
# Cross-compiled with cargo-zigbuild: Zig's `cc` links against glibc stubs of the version named in
# the target (x86_64-unknown-linux-gnu.2.17), so a symbol newer than 2.17 fails the link instead of
# slipping in. Toolchain: build/cross-toolchain.sh (installed into .cache/ on first use). Each target
# keeps its own cargo target dir, target/cross/<triple>/, so a second run rebuilds nothing.
#
#   build/native.sh                         both platforms
#   KOC_NATIVE_TARGETS=aarch64-unknown-linux-gnu build/native.sh    only those (space-separated)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GLIBC=2.17
TARGETS=(${KOC_NATIVE_TARGETS:-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu})
ARTIFACTS=(libkafka_offset_committer.so kafka-offset-committer-helper)
STAGING="$ROOT/target/native"
CROSS_TARGET_DIR="$ROOT/target/cross"

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

PLATFORM_SOURCE="$ROOT/scala/core/src/main/java/io/kafkaoffsetcommitter/NativePlatform.java"
PLATFORM_CLASSES="$ROOT/target/native-platform"
if [[ ! -f "$PLATFORM_CLASSES/io/kafkaoffsetcommitter/NativePlatform.class" \
      || "$PLATFORM_SOURCE" -nt "$PLATFORM_CLASSES/io/kafkaoffsetcommitter/NativePlatform.class" ]]; then
  javac -d "$PLATFORM_CLASSES" "$PLATFORM_SOURCE"
fi
folder_of() { # rust target triple -> NativePlatform.folder() for it
  java -cp "$PLATFORM_CLASSES" io.kafkaoffsetcommitter.NativePlatform linux "${1%%-*}"
}

for target in "${TARGETS[@]}"; do
  arch="${target%%-*}"
  zig_target="$arch-linux-gnu.$GLIBC"
  # mklove probes the compiler with `$CC --version`, which zig refuses with a glibc version in the
  # target ("version '.2.17' in target triple is invalid"), and then silently falls back to gcc.
  # Its `make libs` also links librdkafka.so.1 with a version script naming a symbol this build
  # leaves out; GNU ld shrugs, zig's lld fails ("version script assignment ... symbol not defined").
  write_wrapper "$arch-cc" "'$CARGO_ZIGBUILD_ZIG_PATH' cc -target $zig_target" \
    "case \" \$* \" in *' --version '*) exec '$CARGO_ZIGBUILD_ZIG_PATH' cc -target $arch-linux-gnu --version;; *' -shared '*) set -- \"\$@\" -Wl,--undefined-version;; esac"
  # `make libs` builds the C++ wrapper library too (unused here); host g++ would make x86_64 objects.
  write_wrapper "$arch-c++" "'$CARGO_ZIGBUILD_ZIG_PATH' c++ -target $zig_target" \
    "case \" \$* \" in *' --version '*) exec '$CARGO_ZIGBUILD_ZIG_PATH' c++ -target $arch-linux-gnu --version;; *' -shared '*) set -- \"\$@\" -Wl,--undefined-version;; esac"
  write_wrapper "$arch-ar" "'$CARGO_ZIGBUILD_ZIG_PATH' ar"
  write_wrapper "$arch-ranlib" "'$CARGO_ZIGBUILD_ZIG_PATH' ranlib"
  echo "native: $target (glibc $GLIBC)" >&2
  CC="$WRAPPERS/$arch-cc" CXX="$WRAPPERS/$arch-c++" AR="$WRAPPERS/$arch-ar" RANLIB="$WRAPPERS/$arch-ranlib" \
    "$CARGO_ZIGBUILD" zigbuild --release --locked -p kafka-offset-committer \
      --manifest-path "$ROOT/Cargo.toml" --target "$target.$GLIBC" --target-dir "$CROSS_TARGET_DIR/$target"

  folder="$(folder_of "$target")"
  mkdir -p "$STAGING/$folder"
  for artifact in "${ARTIFACTS[@]}"; do
    built="$CROSS_TARGET_DIR/$target/$target/release/$artifact"
    [[ -f "$built" ]] || { echo "native: $built was not built" >&2; exit 1; }
    # Copied only when changed, so sbt sees an unchanged staging dir after a warm build.
    cmp -s "$built" "$STAGING/$folder/$artifact" || cp -p "$built" "$STAGING/$folder/$artifact"
  done
done
ls -l "$STAGING"/*/ >&2
