#!/usr/bin/env bash
# Formats every tracked Java file with palantir-java-format (4-space indents, 120 columns), or with
# --check lists the files that are not formatted and fails. The formatter is copied by Maven into
# .cache/ on first use; its version is pinned in build/java-format/pom.xml.
#
# Usage: build/java-format.sh [FILE...]           reformat in place (every Java file, or the named ones)
#        build/java-format.sh --check [FILE...]   change nothing; exit 1 if a file needs formatting
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$repo_root/build/java-format/pom.xml"
version="$(sed -n 's:.*<palantir.java.format.version>\(.*\)</palantir.java.format.version>.*:\1:p' "$pom")"
jars="$repo_root/.cache/java-format-$version"

if [[ ! -d "$jars" ]]; then
  mkdir -p "$repo_root/.cache"
  # Copied into a private folder and moved into place whole, so a concurrent first run never sees
  # half a classpath.
  staging="$(mktemp -d "$repo_root/.cache/java-format-download.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  echo "build/java-format.sh: fetching palantir-java-format $version with Maven" >&2
  mvn -B -q -Dstyle.color=never -f "$pom" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    "-DoutputDirectory=$staging" -DincludeScope=runtime
  mv -T "$staging" "$jars" 2>/dev/null || true # another run may have put it in place first
fi

# The formatter drives javac's parser, which JDK 16+ keeps behind module boundaries.
javac_exports=()
for package in api code file main parser tree util; do
  javac_exports+=("--add-exports=jdk.compiler/com.sun.tools.javac.$package=ALL-UNNAMED")
done

check=false
if [[ "${1:-}" == "--check" ]]; then
  check=true
  shift
fi
# Named files only, or every Java file of the checkout (tracked or not ignored).
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  mapfile -t files < <(git -C "$repo_root" ls-files --cached --others --exclude-standard -- '*.java')
fi
cd "$repo_root"
if $check; then
  if ! java "${javac_exports[@]}" -cp "$jars/*" com.palantir.javaformat.java.Main --palantir \
      --dry-run --set-exit-if-changed "${files[@]}"; then
    echo "build/java-format.sh: the files above are not formatted; run build/java-format.sh" >&2
    exit 1
  fi
else
  java "${javac_exports[@]}" -cp "$jars/*" com.palantir.javaformat.java.Main --palantir --replace "${files[@]}"
fi
