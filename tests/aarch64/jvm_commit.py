#!/usr/bin/env python3
"""The linux-aarch64 build, executed: an arm64 OpenJDK 17 under qemu user-mode loads the native
library from the Scala 2.13 listener jar (as NativeLoader does for users) and commits one batch to the
real test broker; Kafka's own Java client, on the host, then reads the group's offsets back.

Needs KAFKA_BOOTSTRAP (run through tests/with-broker.sh) and `make jars`. qemu and the arm64 userland
come from tests/aarch64/sysroot.sh (installed on first use).
"""
import glob
import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import kafka_harness  # noqa: E402


def main():
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    if not bootstrap:
        sys.exit("KAFKA_BOOTSTRAP is not set: run through tests/with-broker.sh")
    sysroot = subprocess.run([os.path.join(HERE, "sysroot.sh")], check=True, capture_output=True, text=True).stdout.strip()
    jars = glob.glob(os.path.join(ROOT, "scala/spark/target/scala-2.13/kafka-offset-committer-spark_2.13-*.jar"))
    jars = [jar for jar in jars if not jar.endswith(("-tests.jar", "-sources.jar", "-javadoc.jar"))]
    if len(jars) != 1:
        sys.exit(f"expected one Scala 2.13 listener jar, found {jars}: run `make jars`")
    jar = jars[0]

    classes = os.path.join(ROOT, "target", "aarch64-check")
    os.makedirs(classes, exist_ok=True)
    # Compiled on the host: javac under emulation would take a minute.
    subprocess.run(["javac", "--release", "8", "-cp", jar, "-d", classes, os.path.join(HERE, "Arm64Commit.java")], check=True)

    topic = f"aarch64-{uuid.uuid4().hex[:8]}"
    group = f"{topic}-group"
    offsets = [11, 22, 33]
    kafka_harness.create_topic(bootstrap, topic, partitions=len(offsets))

    java = os.path.join(sysroot, "usr/lib/jvm/java-17-openjdk-arm64/bin/java")
    command = ["qemu-aarch64-static", "-L", sysroot, java,
               # Emulated code runs ~10x slower: C1 only, small heap, no CDS archive from the host.
               "-XX:TieredStopAtLevel=1", "-Xmx256m", "-Xshare:off",
               "-Djava.io.tmpdir=" + os.path.join(ROOT, "target"),
               "-cp", jar + os.pathsep + classes, "Arm64Commit", bootstrap, group, topic, *map(str, offsets)]
    started = time.monotonic()
    subprocess.run(command, check=True, timeout=300)
    print(f"arm64 JVM under qemu: {time.monotonic() - started:.0f}s")

    committed = kafka_harness.group_offsets(bootstrap, group)
    expected = {(topic, partition): offset for partition, offset in enumerate(offsets)}
    metadata = kafka_harness.group_offset_metadata(bootstrap, group)
    kafka_harness.close_admin_tools()
    if committed != expected:
        sys.exit(f"FAIL: group {group} has {committed}, expected {expected}")
    if not all('"batch":7' in value for value in metadata.values()):
        sys.exit(f"FAIL: commit metadata {metadata}")
    print(f"OK: linux-aarch64 library from {os.path.relpath(jar, ROOT)} committed {committed} (read back by Kafka's Java client)")


if __name__ == "__main__":
    main()
