#!/usr/bin/env python3
"""The canary scan: no secret that the test runs planted may show in any line those runs wrote.

    tests/canary/scan.py --kerberos-workdir .cache/kerberos .cache/*.log

What counts as a secret (the canaries), each planted in the settings of one mechanism the tests use:
  - the test broker's passwords, PLAIN (admin, alice), SCRAM (scram-user) and the TLS key and store
    password (tests/kafka_harness.py's constants: what every run gives its clients), and the client
    certificate's private key (each line of its PEM, read from the client keystore with openssl: the
    JVM API converts the stores to PEM for librdkafka);
  - from the Kerberos tier's work directory (tests/kerberos/kdc.py): every key of every keytab (hex in
    both cases, Base64) and each whole keytab file (Base64); the OIDC client secret of the tests'
    provider (tests/oauth/oidc.py) and every token it issued during the run, whole, its claims alone
    and its signature alone;
  - any text starting with "koc-canary-": tests plant such values (a wrong client secret, ...) and no
    log line may ever show one;
  - anything shaped like a JWT (two Base64url JSON parts): the unsecured tokens of OAuthBearerTest's
    handler and any other token a run made, whoever planted it.
What is scanned: every file given (the tier logs `make test` keeps: the sbt runs' output with the
committer's log lines, the native core's forwarded lines and the helper's stderr, and whatever the tests
print of statuses, results and exception texts), plus every *.log the Kerberos tier's runs wrote under
its work directory (the spark-submit drivers' logs), except the logs of the test infrastructure itself
(the broker's, the KDC's, the OIDC provider's), which are not the product's.

Exits 1 naming file, line number and which canary (never the value) for every hit; also 1 when a file
given is missing or empty, when nothing was scanned, or when a canary source is missing (a scan that
checks nothing must not pass).
"""

import argparse
import base64
import json
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "kerberos"))
import kafka_harness  # noqa: E402
from spark_submit_keytab import keytab_keys  # noqa: E402

CANARY_PREFIX = re.compile(r"koc-canary-[0-9A-Za-z-]+")
# '{"' Base64url-encoded is "eyJ": a JWT's header and claims both start so.
JWT = re.compile(r"eyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}")
# The infrastructure's own folders under the Kerberos work directory: the broker's (its log, and its
# data, whose segment files end in .log too), the KDC's, the OIDC provider's: not what the product or
# its tests write.
INFRASTRUCTURE = {"broker", "kdc", "oidc"}
# Shorter values would match by chance (and no planted secret is this short).
MIN_SECRET_LENGTH = 8


class ScanError(RuntimeError):
    """A canary source or a file to scan is missing."""


def harness_secrets() -> dict:
    return {
        "PLAIN password of admin": kafka_harness.SASL_ADMIN[1],
        "PLAIN password of alice": kafka_harness.SASL_ALICE[1],
        "SCRAM password of scram-user": kafka_harness.SCRAM_USER[1],
        "TLS key and store password": kafka_harness.SSL_STORE_PASSWORD,
    }


def tls_key_secrets() -> dict:
    """Each Base64 line of the client key's PEM (a line of it in a log is a piece of the key)."""
    ssl = kafka_harness.ensure_ssl_material()
    done = subprocess.run(["openssl", "pkcs12", "-in", ssl["KAFKA_SSL_CLIENT_KEYSTORE_P12"], "-nocerts", "-nodes",
                           "-passin", f"pass:{ssl['KAFKA_SSL_STORE_PASSWORD']}"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    pem = re.search(r"-----BEGIN PRIVATE KEY-----\n(.*?)-----END PRIVATE KEY-----", done.stdout, re.S)
    if done.returncode != 0 or pem is None:
        raise ScanError(f"openssl could not read the client key of {ssl['KAFKA_SSL_CLIENT_KEYSTORE_P12']}: "
                        f"{done.stderr[-500:]}")
    return {f"line {number} of the TLS client key": line
            for number, line in enumerate(pem.group(1).split(), start=1)}


def kerberos_tier_secrets(workdir: Path) -> dict:
    keytabs = sorted((workdir / "kdc").glob("*.keytab"))
    if not keytabs:
        raise ScanError(f"no keytab under {workdir / 'kdc'}: did the Kerberos tier run with this work directory?")
    found = {}
    for keytab in keytabs:
        found[f"keytab {keytab.name} (whole file, Base64)"] = base64.b64encode(keytab.read_bytes()).decode()
        for number, key in enumerate(keytab_keys(keytab)):
            found[f"key {number} of keytab {keytab.name} (hex)"] = key.hex()
            found[f"key {number} of keytab {keytab.name} (HEX)"] = key.hex().upper()
            found[f"key {number} of keytab {keytab.name} (Base64)"] = base64.b64encode(key).decode()
    provider = workdir / "oidc"
    try:
        found["OIDC client secret"] = json.loads((provider / "settings.json").read_text())["client_secret"]
        tokens = (provider / "issued-tokens").read_text().split()
    except FileNotFoundError as e:
        raise ScanError(f"the OIDC provider's files are missing ({e.filename})") from e
    if not tokens:
        raise ScanError(f"the OIDC provider under {provider} issued no token: did the OAuth tests run?")
    for number, token in enumerate(tokens):
        _, claims, signature = token.split(".")
        found[f"OIDC token {number}"] = token
        found[f"claims of OIDC token {number}"] = claims
        found[f"signature of OIDC token {number}"] = signature
    return found


def run_logs(workdir: Path) -> list:
    return sorted(path for path in workdir.rglob("*.log")
                  if path.relative_to(workdir).parts[0] not in INFRASTRUCTURE)


def scan(files: list, secrets: dict) -> tuple:
    """(lines scanned, [(file, line number, canary name)])."""
    secrets = {name: value for name, value in secrets.items() if len(value) >= MIN_SECRET_LENGTH}
    lines, hits = 0, []
    for path in files:
        with open(path, errors="replace") as text:
            for number, line in enumerate(text, start=1):
                lines += 1
                for name, value in secrets.items():
                    if value in line:
                        hits.append((path, number, name))
                if CANARY_PREFIX.search(line):
                    hits.append((path, number, "a planted koc-canary- value"))
                if JWT.search(line):
                    hits.append((path, number, "a JWT (an OAUTHBEARER token)"))
    return lines, hits


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description="Fails on any planted secret in the test runs' logs.")
    parser.add_argument("--kerberos-workdir", type=Path, required=True,
                        help="the Kerberos tier's work directory (tests/kerberos/with-kdc.sh)")
    parser.add_argument("logs", nargs="+", type=Path, help="log files the runs wrote (the tier logs)")
    args = parser.parse_args(argv)
    try:
        missing = [str(path) for path in args.logs if not path.is_file()]
        if missing:
            raise ScanError(f"no such log: {', '.join(missing)}")
        empty = [str(path) for path in args.logs if path.stat().st_size == 0]
        if empty:
            raise ScanError(f"empty log (did its run write nothing?): {', '.join(empty)}")
        secrets = {**harness_secrets(), **tls_key_secrets(), **kerberos_tier_secrets(args.kerberos_workdir)}
        files = [*args.logs, *run_logs(args.kerberos_workdir)]
        lines, hits = scan(files, secrets)
    except ScanError as e:
        print(f"canary scan: {e}", file=sys.stderr)
        return 1
    if lines == 0:
        print(f"canary scan: nothing to scan in {len(files)} file(s)", file=sys.stderr)
        return 1
    for path, number, name in hits:
        print(f"canary scan: {path}:{number} shows: {name}", file=sys.stderr)
    if hits:
        print(f"canary scan: {len(hits)} hit(s) in {lines} lines of {len(files)} files", file=sys.stderr)
        return 1
    print(f"canary scan: {len(secrets)} planted secrets, {lines} lines of {len(files)} files, no hit")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
