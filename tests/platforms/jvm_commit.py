#!/usr/bin/env python3
"""A jar's native build, executed on another Linux userland: Debian 11's OpenJDK 17 on Debian 11's
glibc 2.31 (Ubuntu 20.04's too; older than the 2.34 a host build needs) loads the native library from
the jar as NativeLoader does for users, starts the jar's helper executable on that same userland and
commits one batch through it to the real test broker; Kafka's own Java client, on the host, then
reads the group's offsets back.

    tests/platforms/jvm_commit.py arm64    the linux-aarch64 build from the Scala 2.13 listener jar, under qemu
    tests/platforms/jvm_commit.py amd64    the linux-x86_64 build from the core jar, run by Debian 11's loader

The userland comes from tests/platforms/sysroot.sh (installed on first use). The JVM is started through
that userland's loader (qemu user-mode with -L for arm64; the loader itself for amd64), so it and our
library run on its glibc. The helper would not: the JVM starts it with execve, and the host kernel
would run it with the host's loader (and, for arm64, could only run it at all with a binfmt_misc
registration for qemu, a host setting containers rarely allow). So the test names, as the helper path
override, a small host script that starts the jar's own helper bytes through the same loader.

Needs KAFKA_BOOTSTRAP (run through tests/with-broker.sh) and `make jars`.
"""
import glob
import os
import subprocess
import sys
import time
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import kafka_harness  # noqa: E402

SUITE = "bullseye"
PLATFORMS = {
    # Debian arch: (NativePlatform folder, jar glob, Debian's multiarch triple)
    "arm64": ("linux-aarch64", "scala/spark/target/scala-2.13/kafka-offset-committer-spark_2.13-*.jar", "aarch64-linux-gnu"),
    "amd64": ("linux-x86_64", "scala/core/target/kafka-offset-committer-core-*.jar", "x86_64-linux-gnu"),
}


def loader_command(arch, sysroot, triple):
    """The command prefix that runs a program of that userland on its own loader and glibc."""
    if arch == "arm64":
        return ["qemu-aarch64-static", "-L", sysroot]
    libraries = [os.path.join(sysroot, "lib", triple), os.path.join(sysroot, "usr/lib", triple)]
    return [os.path.join(sysroot, "lib", triple, "ld-linux-x86-64.so.2"), "--library-path", os.pathsep.join(libraries)]


def main(arch):
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    if not bootstrap:
        sys.exit("KAFKA_BOOTSTRAP is not set: run through tests/with-broker.sh")
    folder, jar_glob, triple = PLATFORMS[arch]
    sysroot = subprocess.run([os.path.join(HERE, "sysroot.sh"), arch, SUITE], check=True, capture_output=True,
                             text=True).stdout.strip()
    glibc = [name[len("libc-"):-len(".so")] for name in os.listdir(os.path.join(sysroot, "lib", triple))
             if name.startswith("libc-") and name.endswith(".so")]
    jars = [jar for jar in glob.glob(os.path.join(ROOT, jar_glob))
            if not jar.endswith(("-tests.jar", "-sources.jar", "-javadoc.jar"))]
    if len(jars) != 1:
        sys.exit(f"expected one jar matching {jar_glob}, found {jars}: run `make jars`")
    jar = jars[0]

    work = os.path.join(ROOT, "target", f"platform-{arch}-{SUITE}")
    os.makedirs(work, exist_ok=True)
    # Compiled on the host: javac under emulation would take a minute.
    subprocess.run(["javac", "--release", "8", "-cp", jar, "-d", work, os.path.join(HERE, "PlatformCommit.java")],
                   check=True)
    loader = loader_command(arch, sysroot, triple)
    helper = os.path.join(work, "kafka-offset-committer-helper")
    with zipfile.ZipFile(jar) as archive, open(helper, "wb") as extracted:
        extracted.write(archive.read(f"io/kafkaoffsetcommitter/native/{folder}/kafka-offset-committer-helper"))
    os.chmod(helper, 0o755)
    helper_on_userland = os.path.join(work, "helper-on-userland")
    with open(helper_on_userland, "w") as script:
        script.write("#!/bin/sh\nexec " + " ".join(f'"{part}"' for part in loader + [helper]) + ' "$@"\n')
    os.chmod(helper_on_userland, 0o755)

    topic = f"platform-{arch}-{uuid.uuid4().hex[:8]}"
    group = f"{topic}-group"
    offsets = [11, 22, 33]
    kafka_harness.create_topic(bootstrap, topic, partitions=len(offsets))

    java = os.path.join(sysroot, f"usr/lib/jvm/java-17-openjdk-{arch}/bin/java")
    command = loader + [java,
                        # Emulated code runs ~10x slower: C1 only, small heap, no CDS archive from the host.
                        "-XX:TieredStopAtLevel=1", "-Xmx256m", "-Xshare:off",
                        "-Djava.io.tmpdir=" + work,
                        "-Dkafka.offset.committer.helper.path=" + helper_on_userland,
                        "-cp", jar + os.pathsep + work, "PlatformCommit", folder, bootstrap, group, topic,
                        *map(str, offsets)]
    started = time.monotonic()
    subprocess.run(command, check=True, timeout=300)
    print(f"{folder} on Debian {SUITE} {arch} (glibc {', '.join(glibc)}): JVM ran {time.monotonic() - started:.0f}s")

    committed = kafka_harness.group_offsets(bootstrap, group)
    expected = {(topic, partition): offset for partition, offset in enumerate(offsets)}
    metadata = kafka_harness.group_offset_metadata(bootstrap, group)
    kafka_harness.close_admin_tools()
    if committed != expected:
        sys.exit(f"FAIL: group {group} has {committed}, expected {expected}")
    if not all('"batch":7' in value for value in metadata.values()):
        sys.exit(f"FAIL: commit metadata {metadata}")
    print(f"OK: {folder} build from {os.path.relpath(jar, ROOT)} on glibc {', '.join(glibc)} committed {committed}"
          " (read back by Kafka's Java client)")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PLATFORMS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(PLATFORMS)}")
    main(sys.argv[1])
