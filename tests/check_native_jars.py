#!/usr/bin/env python3
"""Checks the native files inside every built jar (core jar and both listener jars).

For each jar: every expected platform folder holds every expected artifact; each ELF file's machine
matches its folder; no dynamic symbol needs a glibc newer than 2.17, and none is left undefined
without a version; every NEEDED library is one a glibc system always has. Prints, per file, the highest glibc version it needs and its NEEDED list.

    tests/check_native_jars.py [jar ...]     (default: the jars `make jars` builds)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "io/kafkaoffsetcommitter/native/"
PLATFORMS = {"linux-x86_64": "Advanced Micro Devices X86-64", "linux-aarch64": "AArch64"}
ARTIFACTS = ["libkafka_offset_committer.so", "kafka-offset-committer-helper", "kafka-offset-committer"]
MAX_GLIBC = (2, 17)
ALLOWED_NEEDED = re.compile(
    r"^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libgcc_s\.so\.1|ld-linux[-\w.]*\.so\.\d+)$"
)


def default_jars():
    jars = glob.glob(os.path.join(ROOT, "scala/core/target/kafka-offset-committer-core-*.jar"))
    jars += glob.glob(os.path.join(ROOT, "scala/spark/target/scala-2.1*/kafka-offset-committer-spark_2.1*-*.jar"))
    return sorted(j for j in jars if not re.search(r"-(tests|sources|javadoc)\.jar$", j))


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def glibc_versions(path):
    """{(major, minor, ...): [symbol, ...]} of every dynamic symbol versioned GLIBC_x."""
    versions = {}
    for line in readelf("--dyn-syms", path).splitlines():
        match = re.search(r"\s(\S+)@@?GLIBC_([0-9.]+)", line)
        if match:
            version = tuple(int(part) for part in match.group(2).split("."))
            versions.setdefault(version, []).append(match.group(1))
    # Version needs (.gnu.version_r) too: a requirement can sit there without a named symbol.
    for match in re.finditer(r"Name: GLIBC_([0-9.]+)", readelf("-V", path)):
        versions.setdefault(tuple(int(part) for part in match.group(1).split(".")), [])
    return versions


def check_file(label, path, folder):
    problems = []
    header = readelf("-h", path)
    machine = re.search(r"Machine:\s+(.+)", header).group(1).strip()
    if folder in PLATFORMS and machine != PLATFORMS[folder]:
        problems.append(f"ELF machine {machine!r} does not match folder {folder}")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf("-d", path))
    for library in needed:
        if not ALLOWED_NEEDED.match(library):
            problems.append(f"needs {library}, which is not part of glibc/libgcc")
    # A non-weak undefined symbol without a version was not found in any library at link time: the
    # file would fail to load (or die at the first call) whatever the glibc.
    for line in readelf("--dyn-syms", path).splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[6] == "UND" and fields[4] == "GLOBAL" and "@" not in fields[7]:
            problems.append(f"undefined symbol {fields[7]} has no version: no library provided it at link time")
    versions = glibc_versions(path)
    highest = max(versions) if versions else None
    for version, symbols in sorted(versions.items()):
        if version > MAX_GLIBC:
            problems.append(
                "needs GLIBC_" + ".".join(map(str, version)) + (" (" + ", ".join(sorted(symbols)[:8]) + ")" if symbols else "")
            )
    size = os.path.getsize(path)
    print(
        f"  {label}: {machine}, {size / 1e6:.1f} MB, highest GLIBC_"
        + (".".join(map(str, highest)) if highest else "none")
        + f", NEEDED {' '.join(needed)}"
    )
    return problems


def check_jar(jar):
    problems = []
    print(f"{os.path.relpath(jar, ROOT)} ({os.path.getsize(jar) / 1e6:.1f} MB)")
    with zipfile.ZipFile(jar) as archive, tempfile.TemporaryDirectory() as scratch:
        entries = [name for name in archive.namelist() if name.startswith(PREFIX) and not name.endswith("/")]
        present = {}
        for name in entries:
            folder, _, artifact = name[len(PREFIX):].partition("/")
            present.setdefault(folder, set()).add(artifact)
        for folder in PLATFORMS:
            for artifact in ARTIFACTS:
                if artifact not in present.get(folder, set()):
                    problems.append(f"missing {PREFIX}{folder}/{artifact}")
        for name in sorted(entries):
            path = archive.extract(name, scratch)
            folder = name[len(PREFIX):].split("/")[0]
            with open(path, "rb") as file:
                if file.read(4) != b"\x7fELF":
                    problems.append(f"{name} is not an ELF file")
                    continue
            problems += [f"{name}: {problem}" for problem in check_file(name[len(PREFIX):], path, folder)]
    for problem in problems:
        print(f"  FAIL {problem}")
    return problems


def main(argv):
    jars = argv[1:] or default_jars()
    if len(jars) < 3 and not argv[1:]:
        print(f"expected the core jar and both listener jars, found {jars}: run `make jars`", file=sys.stderr)
        return 1
    failures = sum(len(check_jar(jar)) for jar in jars)
    if failures:
        print(f"{failures} problem(s) in the native files of the jars", file=sys.stderr)
        return 1
    print(f"native files OK in {len(jars)} jars: {', '.join(PLATFORMS)}; glibc <= 2.17; NEEDED within glibc/libgcc")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
