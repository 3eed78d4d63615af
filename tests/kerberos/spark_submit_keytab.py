#!/usr/bin/env python3
"""The listener as users run it on a Kerberos cluster and on an OIDC-secured one: keytab_job.py through
the real spark-submit (our listener jar and the Kafka connector in --jars, the driver given the realm's
krb5.conf and the OIDC URLs Kafka's client may fetch from), one query's Kafka source logging in with the
client keytab over GSSAPI, the other's with OAUTHBEARER through Kafka's own OAuthBearerLoginCallbackHandler
(client credentials at the tests' token endpoint; the broker checks the JWTs against the provider's JWKS).
Kafka's own Java client then reads each group's committed offsets on the broker's super-user listener:
they must be the log end. No key of the keytab, no JAAS entry, no client secret and no token the
provider issued may show in the driver's log.

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


def secrets_in(log: str, keytab: Path, client_secret: str, issued_tokens: Path) -> list:
    """What of the keytab (its keys as hex or Base64, the whole file as Base64), a JAAS entry, the OIDC
    client secret or a token the provider issued (whole, its claims or its signature) shows."""
    planted = [base64.b64encode(keytab.read_bytes()).decode(), "Krb5LoginModule required",
               "OAuthBearerLoginModule required", client_secret]
    for key in keytab_keys(keytab):
        planted += [key.hex(), key.hex().upper(), base64.b64encode(key).decode()]
    for token in issued_tokens.read_text().split():
        planted += [token, *token.split(".")[1:]]
    return [secret for secret in planted if secret in log]


def new_topic(admin: str, prefix: str) -> tuple:
    """A topic holding records, its group's name and its log end."""
    name = f"{prefix}spark-{uuid.uuid4().hex[:8]}"
    kafka_harness.create_topic(admin, name, partitions=PARTITIONS)
    return name, f"{name}-group", kafka_harness.produce(admin, name, records_per_partition=RECORDS_PER_PARTITION)


def main() -> int:
    spark_version = env("SPARK_VERSION")
    admin = env("KOC_KRB_ADMIN_BOOTSTRAP")
    topic, group, log_end = new_topic(admin, env("KOC_KRB_ACL_PREFIX"))
    oidc_topic, oidc_group, oidc_log_end = new_topic(admin, env("KOC_OIDC_ACL_PREFIX"))

    venv = Path(sys.prefix)
    work = Path(tempfile.mkdtemp(prefix="spark-keytab-", dir=env("KOC_KRB_WORKDIR")))
    command = spark_submit.spark_submit_command(
        venv, spark_version, JOB,
        ["--bootstrap", env("KOC_KRB_BOOTSTRAP"), "--topic", topic, "--group", group,
         "--checkpoint", str(work / "checkpoint"), "--principal", env("KOC_KRB_CLIENT_PRINCIPAL"),
         "--keytab", env("KOC_KRB_CLIENT_KEYTAB"), "--service-name", env("KOC_KRB_SERVICE_NAME"),
         "--oidc-topic", oidc_topic, "--oidc-group", oidc_group, "--token-url", env("KOC_OIDC_TOKEN_URL"),
         "--client-id", env("KOC_OIDC_CLIENT_ID"), "--client-secret", env("KOC_OIDC_CLIENT_SECRET")],
        # Local mode: the driver JVM runs the sources and the listener alike.
        conf={"spark.driver.extraJavaOptions":
              f"-Djava.security.krb5.conf={env('KOC_KRB5_CONF')} {env('KOC_OIDC_JVM_OPTION')}"})
    log_path = work / "spark-submit.log"
    with open(log_path, "w") as log:
        # The command without the client secret (the job's argument): the log must never hold it.
        log.write(f"$ {shlex.join(command).replace(env('KOC_OIDC_CLIENT_SECRET'), '<client secret>')}\n")
        log.flush()
        try:
            exit_code = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       env=spark_submit.spark_submit_environment(venv),
                                       timeout=SPARK_SUBMIT_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            exit_code = None
    committed = committed_offsets(admin, group, topic)
    oidc_committed = committed_offsets(admin, oidc_group, oidc_topic)
    shown = secrets_in(log_path.read_text(errors="replace"), Path(env("KOC_KRB_CLIENT_KEYTAB")),
                       env("KOC_OIDC_CLIENT_SECRET"), Path(env("KOC_OIDC_ISSUED_TOKENS")))
    if shown:
        print(f"spark_submit_keytab: the driver's log {log_path} shows {len(shown)} secret(s) of the keytab, "
              "a JAAS entry, the OIDC client secret or a token", file=sys.stderr)
        return 1
    if exit_code == 0 and committed == log_end and oidc_committed == oidc_log_end:
        print(f"spark_submit_keytab: Spark {spark_version}, group {group} committed the log end {log_end} "
              f"through a keytab, group {oidc_group} the log end {oidc_log_end} through OIDC tokens")
        return 0
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
    print(f"{tail}\nspark_submit_keytab: spark-submit exited {exit_code}; group {group} committed {committed}, "
          f"log end {log_end}; group {oidc_group} committed {oidc_committed}, log end {oidc_log_end} "
          f"(log {log_path})", file=sys.stderr)
    return 1


def committed_offsets(admin: str, group: str, topic: str) -> dict:
    return {partition: offset for (committed_topic, partition), offset
            in kafka_harness.group_offsets(admin, group).items() if committed_topic == topic}


if __name__ == "__main__":
    sys.exit(main())
