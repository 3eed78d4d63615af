#!/usr/bin/env python3
"""The listener as users run it on a Kerberos cluster: keytab_job.py through the real spark-submit
(our listener jar and the Kafka connector in --jars, the driver given the realm's krb5.conf), its
Kafka source logging in with the client keytab over GSSAPI. Kafka's own Java client then reads the
group's committed offsets on the broker's super-user listener: they must be the log end. No key of
the keytab, and no JAAS entry, may show in the driver's log.

Run with the Python of a venv holding pyspark==$SPARK_VERSION, under tests/kerberos/with-kdc.sh:
    SPARK_VERSION=4.2.0 tests/kerberos/with-kdc.sh .cache/venv-spark-4.2.0/bin/python \
        tests/kerberos/spark_submit_keytab.py
Exits non-zero, saying why, when anything is missing or the offsets are not committed.
"""

import base64
import os
import shlex
import struct
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "e2e"))
import kafka_harness  # noqa: E402
import spark_submit  # noqa: E402

JOB = Path(__file__).resolve().parent / "keytab_job.py"
PARTITIONS = 2
RECORDS_PER_PARTITION = 100
SPARK_SUBMIT_TIMEOUT_S = 600
LOG_TAIL_LINES = 80


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"spark_submit_keytab: {name} is not set: run under tests/kerberos/with-kdc.sh "
                 "(and SPARK_VERSION naming this Python's pyspark)")
    return value


def keytab_keys(path: Path) -> list:
    """The keys of an MIT keytab (format 0x0502: big-endian, each entry a principal and a keyblock)."""
    data = path.read_bytes()
    if data[:2] != b"\x05\x02":
        raise ValueError(f"{path} is not a version 2 keytab")
    keys, at = [], 2
    while at + 4 <= len(data):
        (size,) = struct.unpack_from(">i", data, at)
        entry, at = data[at + 4:at + 4 + abs(size)], at + 4 + abs(size)
        if size <= 0:
            continue  # a hole left by a removed entry
        (components,) = struct.unpack_from(">H", entry, 0)
        cursor = 2
        for _ in range(components + 1):  # the realm, then each component
            (length,) = struct.unpack_from(">H", entry, cursor)
            cursor += 2 + length
        cursor += 4 + 4 + 1 + 2  # name type, timestamp, 8-bit version, key type
        (length,) = struct.unpack_from(">H", entry, cursor)
        keys.append(entry[cursor + 2:cursor + 2 + length])
    if not keys:
        raise ValueError(f"{path} holds no key")
    return keys


def secrets_in(log: str, keytab: Path) -> list:
    """What of the keytab (its keys as hex or Base64, the whole file as Base64) or a JAAS entry shows."""
    planted = [base64.b64encode(keytab.read_bytes()).decode(), "Krb5LoginModule required"]
    for key in keytab_keys(keytab):
        planted += [key.hex(), key.hex().upper(), base64.b64encode(key).decode()]
    return [secret for secret in planted if secret in log]


def main() -> int:
    spark_version = env("SPARK_VERSION")
    admin = env("KOC_KRB_ADMIN_BOOTSTRAP")
    name = f"{env('KOC_KRB_ACL_PREFIX')}spark-{uuid.uuid4().hex[:8]}"
    topic, group = name, f"{name}-group"
    kafka_harness.create_topic(admin, topic, partitions=PARTITIONS)
    log_end = kafka_harness.produce(admin, topic, records_per_partition=RECORDS_PER_PARTITION)

    venv = Path(sys.prefix)
    work = Path(tempfile.mkdtemp(prefix="spark-keytab-", dir=env("KOC_KRB_WORKDIR")))
    command = spark_submit.spark_submit_command(
        venv, spark_version, JOB,
        ["--bootstrap", env("KOC_KRB_BOOTSTRAP"), "--topic", topic, "--group", group,
         "--checkpoint", str(work / "checkpoint"), "--principal", env("KOC_KRB_CLIENT_PRINCIPAL"),
         "--keytab", env("KOC_KRB_CLIENT_KEYTAB"), "--service-name", env("KOC_KRB_SERVICE_NAME")],
        # Local mode: the driver JVM runs the source and the listener alike.
        conf={"spark.driver.extraJavaOptions": f"-Djava.security.krb5.conf={env('KOC_KRB5_CONF')}"})
    log_path = work / "spark-submit.log"
    with open(log_path, "w") as log:
        log.write(f"$ {shlex.join(command)}\n")
        log.flush()
        try:
            exit_code = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       env=spark_submit.spark_submit_environment(venv),
                                       timeout=SPARK_SUBMIT_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            exit_code = None
    committed = {partition: offset for (committed_topic, partition), offset
                 in kafka_harness.group_offsets(admin, group).items() if committed_topic == topic}
    shown = secrets_in(log_path.read_text(errors="replace"), Path(env("KOC_KRB_CLIENT_KEYTAB")))
    if shown:
        print(f"spark_submit_keytab: the driver's log {log_path} shows {len(shown)} secret(s) of the keytab or "
              "its JAAS entry", file=sys.stderr)
        return 1
    if exit_code == 0 and committed == log_end:
        print(f"spark_submit_keytab: Spark {spark_version}, group {group} committed the log end {log_end} "
              "through a keytab")
        return 0
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
    print(f"{tail}\nspark_submit_keytab: spark-submit exited {exit_code}; group {group} committed {committed}, "
          f"log end {log_end} (log {log_path})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
