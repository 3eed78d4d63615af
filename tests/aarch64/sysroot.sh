#!/usr/bin/env bash
# Prepares, on first use, what running aarch64 Linux programs on this x86_64 machine takes:
#   - qemu user-mode (Debian's qemu-user-static, apt-get installed only when missing), and
#   - an arm64 Debian userland under .cache/aarch64-sysroot: glibc, libgcc, libstdc++, zlib and the
#     OpenJDK 17 headless runtime, unpacked from Debian's arm64 packages with a private apt state
#     (the system's apt sources, arch arm64), so the machine's own dpkg setup is left as it is and no
#     arm64 maintainer script ever runs.
# Prints the sysroot path on stdout. qemu-aarch64-static -L <sysroot> <program> then runs programs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SYSROOT="$ROOT/.cache/aarch64-sysroot"
APT_STATE="$ROOT/.cache/aarch64-apt"
PACKAGES=(libc6 libgcc-s1 libstdc++6 zlib1g openjdk-17-jre-headless)

if ! command -v qemu-aarch64-static >/dev/null; then
  echo "aarch64: installing qemu-user-static" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >&2
fi

if [[ ! -f "$SYSROOT/.ready" ]]; then
  echo "aarch64: unpacking an arm64 userland into $SYSROOT" >&2
  rm -rf "$SYSROOT" "$APT_STATE"
  mkdir -p "$APT_STATE/lists/partial" "$APT_STATE/archives/partial" "$APT_STATE/debs" "$SYSROOT"
  touch "$APT_STATE/status"
  apt_options=(
    -o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o Dir::State::Lists="$APT_STATE/lists" -o Dir::State::status="$APT_STATE/status"
    -o Dir::Cache="$APT_STATE" -o Dir::Cache::archives="$APT_STATE/archives"
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq
  )
  apt-get "${apt_options[@]}" update >&2
  (cd "$APT_STATE/debs" && apt-get "${apt_options[@]}" download "${PACKAGES[@]}" >&2)
  for deb in "$APT_STATE"/debs/*.deb; do
    dpkg-deb -x "$deb" "$SYSROOT"
  done
  # Debian ships the loader under /usr/lib (merged /usr); aarch64 programs ask for /lib/ld-linux-aarch64.so.1.
  for dir in lib lib64; do
    [[ -e "$SYSROOT/$dir" ]] || ln -s usr/$dir "$SYSROOT/$dir"
  done
  rm -rf "$APT_STATE/lists" "$APT_STATE/debs"
  touch "$SYSROOT/.ready"
fi
echo "$SYSROOT"
