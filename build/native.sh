#!/usr/bin/env bash
# Builds the native artifacts every jar carries, for every Linux platform, linked against glibc 2.17
# at most (build/zigcargo.sh), and lays them out as the jars hold them:
#
#   target/native/<folder>/libkafka_offset_committer.so      the JNI library
#   target/native/<folder>/kafka-offset-committer-helper     the helper executable
#   target/native/<folder>/kafka-offset-committer            the command-line tool (lag, commit), which
#                                                            runs its commits through the helper beside it
#
# where <folder> is what NativePlatform.folder() answers on that platform (asked of the class itself,
# so the build and the loader agree). sbt packs every file under target/native/ into the jars.
#
#   build/native.sh                         both platforms
#   KOC_NATIVE_TARGETS=aarch64-unknown-linux-gnu build/native.sh    only those (space-separated)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a TARGETS <<<"${KOC_NATIVE_TARGETS:-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu}"
ARTIFACTS=(libkafka_offset_committer.so kafka-offset-committer-helper kafka-offset-committer)
STAGING="$ROOT/target/native"

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
  echo "native: $target" >&2
  "$ROOT/build/zigcargo.sh" "$target" zigbuild --release -p kafka-offset-committer
  folder="$(folder_of "$target")"
  mkdir -p "$STAGING/$folder"
  for artifact in "${ARTIFACTS[@]}"; do
    built="$ROOT/target/cross/$target/$target/release/$artifact"
    [[ -f "$built" ]] || { echo "native: $built was not built" >&2; exit 1; }
    # Copied only when changed, so sbt sees an unchanged staging dir after a warm build.
    cmp -s "$built" "$STAGING/$folder/$artifact" || cp -p "$built" "$STAGING/$folder/$artifact"
  done
done
ls -l "$STAGING"/*/ >&2
