#!/usr/bin/env bash
# Checks that rust/vendor/rdkafka-sys is exactly the published rdkafka-sys of the same version,
# minus the folders dropped on vendoring, plus rust/vendor/patches/*.patch (applied in order).
#
#   rust/vendor/check-patch.sh            # compare against the pristine crate in ~/.cargo/registry
#   rust/vendor/check-patch.sh PRISTINE   # ... or against this unpacked copy of it
#
# Without a pristine copy it still checks that every patch is applied (reverses cleanly).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vendored="$here/rdkafka-sys"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$vendored/Cargo.toml" | head -1)"
# What vendoring left out (not needed to build the crate).
dropped=(librdkafka/tests librdkafka/packaging/nuget .cargo-ok)

pristine="${1:-}"
if [ -z "$pristine" ]; then
    for candidate in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"rdkafka-sys-$version"; do
        [ -d "$candidate" ] && pristine="$candidate"
    done
fi

if [ -z "$pristine" ] || [ ! -d "$pristine" ]; then
    echo "check-patch: no pristine rdkafka-sys-$version found; checking only that the patches are applied"
    for p in "$here"/patches/*.patch; do
        patch -d "$vendored" -p1 -R --dry-run --quiet <"$p" >/dev/null \
            || { echo "check-patch: $(basename "$p") is NOT applied to the vendored tree"; exit 1; }
    done
    echo "check-patch: all patches applied"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -a "$pristine" "$work/expected"
for d in "${dropped[@]}"; do rm -rf "${work:?}/expected/$d"; done
for p in "$here"/patches/*.patch; do
    patch -d "$work/expected" -p1 --quiet --no-backup-if-mismatch <"$p"
done
if diff -r "$work/expected" "$vendored"; then
    echo "check-patch: rust/vendor/rdkafka-sys == rdkafka-sys $version (from $pristine) + patches"
else
    echo "check-patch: rust/vendor/rdkafka-sys differs from rdkafka-sys $version + patches (diff above)"
    exit 1
fi
