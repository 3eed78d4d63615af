#!/usr/bin/env bash
# Builds the Python wheel target/python/kafka_offset_committer-<version>-py3-none-any.whl: the package in
# python/ plus both listener jars `make jars` packaged (Scala 2.12 and 2.13, each carrying the native core of every
# platform). The package's version must be the jars' (rust/Cargo.toml's).
#   build/wheel.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/target/python"
VERSION="$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["version"])' \
  "$ROOT/rust/Cargo.toml")"
PACKAGE_VERSION="$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$ROOT/python/pyproject.toml")"
if [[ "$PACKAGE_VERSION" != "$VERSION" ]]; then
  echo "wheel.sh: python/pyproject.toml says version $PACKAGE_VERSION, the jars (rust/Cargo.toml) $VERSION" >&2
  exit 1
fi

jars=()
for scala in 2.12 2.13; do
  jar="$ROOT/scala/spark/target/scala-$scala/kafka-offset-committer-spark_$scala-$VERSION.jar"
  if [[ ! -f "$jar" ]]; then
    echo "wheel.sh: $jar is missing: run make jars first" >&2
    exit 1
  fi
  jars+=("$jar")
done

# A staging copy: the jars are build output and never enter python/.
staging="$(mktemp -d "${TMPDIR:-/tmp}/koc-wheel.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
cp -r "$ROOT/python/." "$staging/"
find "$staging" \( -name __pycache__ -o -name '*.egg-info' -o -name build \) -prune -exec rm -rf {} +
mkdir -p "$staging/kafka_offset_committer/jars"
cp "${jars[@]}" "$staging/kafka_offset_committer/jars/"

mkdir -p "$OUT"
rm -f "$OUT"/kafka_offset_committer-*.whl
echo "wheel.sh: building the wheel (pip fetches setuptools on first use)"
python3 -m pip wheel --quiet --no-deps --wheel-dir "$OUT" "$staging"
ls "$OUT"/kafka_offset_committer-"$VERSION"-py3-none-any.whl
