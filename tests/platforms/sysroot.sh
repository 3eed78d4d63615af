#!/usr/bin/env bash
# Prepares, on first use, what running another Linux userland's programs on this machine takes:
#   - qemu user-mode for arm64 programs (Debian's qemu-user-static, apt-get installed only when missing), and
#   - a Debian userland of that architecture and release under .cache/sysroot-<arch>-<suite>: glibc,
#     libgcc, libstdc++, zlib and the OpenJDK 17 headless runtime, unpacked from Debian's packages with
#     a private apt state (this machine's Debian mirror, the release's main suite), so the machine's
#     own dpkg setup is left as it is and no maintainer script ever runs.
# Prints the sysroot path on stdout. `qemu-aarch64-static -L <sysroot> <program>` runs an arm64 program
# on that userland's loader and glibc; an amd64 one runs on its loader directly (see jvm_commit.py).
#
#   tests/platforms/sysroot.sh arm64 bullseye      Debian 11's arm64 userland (glibc 2.31)
#   tests/platforms/sysroot.sh amd64 bullseye      Debian 11's x86_64 userland (glibc 2.31)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ARCH="${1:?usage: sysroot.sh DEBIAN_ARCH SUITE}"
SUITE="${2:?usage: sysroot.sh DEBIAN_ARCH SUITE}"
SYSROOT="$ROOT/.cache/sysroot-$ARCH-$SUITE"
APT_STATE="$ROOT/.cache/apt-$ARCH-$SUITE"
PACKAGES=(libc6 libgcc-s1 libstdc++6 zlib1g openjdk-17-jre-headless)

if ! command -v qemu-aarch64-static >/dev/null; then
  echo "platforms: installing qemu-user-static" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >&2
fi

if [[ ! -f "$SYSROOT/.ready" ]]; then
  echo "platforms: unpacking Debian $SUITE $ARCH into $SYSROOT" >&2
  rm -rf "$SYSROOT" "$APT_STATE"
  mkdir -p "$APT_STATE/lists/partial" "$APT_STATE/archives/partial" "$APT_STATE/debs" "$APT_STATE/sources" "$SYSROOT"
  touch "$APT_STATE/status"
  # This machine's own Debian mirror and keyring, for the release's main suite only: a mirror need
  # not carry every architecture of the security archive.
  codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
  awk -v codename="$codename" -v suite="$SUITE" '
    /^URIs:/ { uri = $2 } /^Signed-By:/ { keyring = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == codename) main = 1 }
    /^$/ { if (main && !done) { print "deb [signed-by=" keyring "] " uri " " suite " main"; done = 1 } main = 0 }
    END { if (main && !done) print "deb [signed-by=" keyring "] " uri " " suite " main" }
  ' /etc/apt/sources.list.d/*.sources >"$APT_STATE/sources/debian.list"
  [[ -s "$APT_STATE/sources/debian.list" ]] || { echo "platforms: no Debian $codename source in /etc/apt/sources.list.d" >&2; exit 1; }
  apt_options=(
    -o APT::Architecture="$ARCH" -o APT::Architectures::="$ARCH"
    -o Dir::Etc::sourcelist=- -o Dir::Etc::sourceparts="$APT_STATE/sources"
    -o Dir::State::Lists="$APT_STATE/lists" -o Dir::State::status="$APT_STATE/status"
    -o Dir::Cache="$APT_STATE" -o Dir::Cache::archives="$APT_STATE/archives"
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq
  )
  apt-get "${apt_options[@]}" update >&2
  (cd "$APT_STATE/debs" && apt-get "${apt_options[@]}" download "${PACKAGES[@]}" >&2)
  for deb in "$APT_STATE"/debs/*.deb; do
    dpkg-deb -x "$deb" "$SYSROOT"
  done
  # Programs ask for /lib/ld-linux-*.so or /lib64/ld-linux-x86-64.so.2; Debian may keep them under /usr.
  for dir in lib lib64; do
    [[ -e "$SYSROOT/$dir" || ! -d "$SYSROOT/usr/$dir" ]] || ln -s "usr/$dir" "$SYSROOT/$dir"
  done
  rm -rf "$APT_STATE"
  touch "$SYSROOT/.ready"
fi
echo "$SYSROOT"
