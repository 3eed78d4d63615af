#!/usr/bin/env python3
"""A real MIT Kerberos KDC on loopback and a Kafka broker whose SASL_PLAINTEXT listener speaks GSSAPI,
and validates OAUTHBEARER tokens against the JWKS of the tests' OIDC provider (tests/oauth/oidc.py).

CLI (tests/kerberos/with-kdc.sh wraps it):
    python3 tests/kerberos/kdc.py start --workdir DIR   # fresh realm, KDC, principals, keytabs, OIDC
                                                        # provider, broker
    python3 tests/kerberos/kdc.py stop  --workdir DIR   # stops the broker, the KDC and the provider of DIR
    python3 tests/kerberos/kdc.py install               # only the packages (`make test` before brokers)
`start` prints DIR/env.sh, which exports (KOC_KRB_* names, plus the MIT tools' own variables):
    KRB5_CONFIG, KOC_KRB5_CONF   the realm's private krb5.conf (never /etc/krb5.conf); give it to a JVM
                                 as -Djava.security.krb5.conf
    KRB5CCNAME                   a ticket cache inside DIR, so no tool touches the user's own
    KOC_KRB_REALM, KOC_KRB_KDC   the realm and the KDC's host:port (TCP and UDP, loopback)
    KOC_KRB_BOOTSTRAP            the broker's SASL_PLAINTEXT listener (GSSAPI, service name kafka)
    KOC_KRB_ADMIN_BOOTSTRAP      the same broker's PLAINTEXT listener (a super user: topics, read-back)
    KOC_KRB_SERVICE_NAME         kafka (the broker is kafka/localhost@REALM)
    KOC_KRB_CLIENT_PRINCIPAL/_KEYTAB   may read groups and topics named KOC_KRB_ACL_PREFIX*
    KOC_KRB_NOACL_PRINCIPAL/_KEYTAB    authenticates, has no ACL at all
    KOC_KRB_ROTATED_PRINCIPAL/_KEYTAB  a keytab whose key the KDC has since replaced (what an expired
                                       keytab looks like to a client: its login fails)
    KOC_KRB_HARNESS_LIBS         Kafka's jars (tests/kafka_harness.py), for Java tools of the tests
    KOC_KRB_WORKDIR              DIR
    KOC_OIDC_*                   the OIDC provider (tests/oauth/oidc.py: token and JWKS URLs, issuer,
                                 audience, the client's id and secret, DIR/oidc/issued-tokens)
    KOC_OIDC_ACL_PREFIX          User:<KOC_OIDC_CLIENT_ID> may read groups and topics named so
    KOC_OIDC_JVM_OPTION          the system property Kafka 3.9.1+/4.x clients need to fetch tokens
                                 from the provider (org.apache.kafka.sasl.oauthbearer.allowed.urls)

The MIT packages (krb5-kdc, krb5-admin-server, krb5-user) are installed from Debian's packages when a
tool is missing (as root, as CI runs). Everything else lives under DIR; ports are free ones picked at
start. The broker is tests/kafka_harness.py's, with GSSAPI added to its SASL_PLAINTEXT listener; its
other listeners, principals and the PLAINTEXT inter-broker/controller traffic are unchanged, except that
its OAUTHBEARER mechanism validates signed JWTs (Kafka's OAuthBearerValidatorCallbackHandler with the
provider's JWKS) instead of unsecured tokens: the OAuth tests share this broker rather than paying for
a broker start of their own. Standard library only.
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "oauth"))
import kafka_harness as harness  # noqa: E402  (tests/ is not a package)
import oidc  # noqa: E402

REALM = "KOC.TEST"
SERVICE_NAME = "kafka"
BROKER_PRINCIPAL = f"{SERVICE_NAME}/localhost@{REALM}"
CLIENT = "koc-client"
NOACL = "koc-noacl"
ROTATED = "koc-rotated"
ACL_PREFIX = "krb-"
OIDC_ACL_PREFIX = "oidc-"
# Kafka fetches tokens and keys only from the URLs this system property allows (since 3.9.1; unset,
# 3.9.x allows every URL and 4.0 and later none), on the broker and in every client JVM.
ALLOWED_URLS_PROPERTY = "org.apache.kafka.sasl.oauthbearer.allowed.urls"
PACKAGES = ["krb5-kdc", "krb5-admin-server", "krb5-user"]
# The tools used, each with the package that brings it.
TOOLS = {"krb5kdc": "krb5-kdc", "kdb5_util": "krb5-kdc", "kadmin.local": "krb5-admin-server",
         "kinit": "krb5-user"}
TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
KDC_START_ATTEMPTS = 3
KDC_READY_TIMEOUT_S = 15.0
STOP_GRACE_S = 10.0


class KerberosError(RuntimeError):
    """The KDC or one of its tools did not do what was asked."""


def tool(name: str) -> str:
    found = shutil.which(name, path=TOOL_PATH)
    if found is None:
        raise KerberosError(f"{name} is missing (package {TOOLS[name]})")
    return found


def ensure_packages() -> None:
    """Installs the MIT packages through apt when one of the tools is missing. Idempotent."""
    missing = sorted({package for name, package in TOOLS.items() if shutil.which(name, path=TOOL_PATH) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise KerberosError(f"missing {', '.join(missing)}; install as root: apt-get install -y {' '.join(PACKAGES)}")
    # Non-interactive: krb5-config would otherwise ask for a default realm. Services the packages try
    # to start are not used (and are refused where no init system runs).
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *PACKAGES]):
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            raise KerberosError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}"
                                f"{done.stderr[-3000:]}")


class Realm:
    """The realm's files under workdir/kdc, its KDC process and its keytabs."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.dir = workdir / "kdc"
        self.krb5_conf = self.dir / "krb5.conf"
        self.kdc_conf = self.dir / "kdc.conf"
        self.pid_path = self.dir / "krb5kdc.pid"
        self.log_path = self.dir / "kdc.log"
        self.ccache = self.dir / "ccache"

    def keytab(self, name: str) -> Path:
        return self.dir / f"{name}.keytab"

    def tool_env(self) -> dict:
        """What the MIT tools need to find this realm's files and nothing of the host's."""
        return dict(os.environ, KRB5_CONFIG=str(self.krb5_conf), KRB5_KDC_PROFILE=str(self.kdc_conf),
                    KRB5CCNAME=f"FILE:{self.ccache}")

    def run(self, command: list, stdin: str = None) -> str:
        done = subprocess.run(command, env=self.tool_env(), input=stdin, capture_output=True, text=True,
                              stdin=None if stdin is not None else subprocess.DEVNULL, timeout=60)
        if done.returncode != 0:
            raise KerberosError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}"
                                f"{done.stderr[-3000:]}")
        return done.stdout

    def create(self, port: int) -> None:
        """A new, empty realm whose KDC will listen on 127.0.0.1:port (TCP and UDP)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.write_config(port)
        # The master key only protects the database file of a throwaway realm; it is stashed.
        self.run([tool("kdb5_util"), "-r", REALM, "create", "-s", "-P", secrets.token_hex(16)])

    def write_config(self, port: int) -> None:
        kdc = f"127.0.0.1:{port}"
        self.krb5_conf.write_text(f"""\
[libdefaults]
    default_realm = {REALM}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    # TCP only: one transport to reason about, no UDP packet-size retries.
    udp_preference_limit = 1
    ticket_lifetime = 1h
    renew_lifetime = 1h
    forwardable = true

[realms]
    {REALM} = {{
        kdc = {kdc}
    }}

[domain_realm]
    localhost = {REALM}
    127.0.0.1 = {REALM}
""")
        self.kdc_conf.write_text(f"""\
[kdcdefaults]
    kdc_listen = {kdc}
    kdc_tcp_listen = {kdc}

[realms]
    {REALM} = {{
        database_name = {self.dir / "principal"}
        key_stash_file = {self.dir / "stash"}
        acl_file = {self.dir / "kadm5.acl"}
        kdc_listen = {kdc}
        kdc_tcp_listen = {kdc}
        max_life = 1h
        max_renewable_life = 1h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{self.log_path}
""")
        (self.dir / "kadm5.acl").write_text("")

    def add_principals(self) -> None:
        """The broker's and the clients' principals with their keytabs; the rotated client's key is
        replaced after its keytab was written, so that keytab no longer logs in."""
        commands = []
        for principal, keytab in ((BROKER_PRINCIPAL, self.keytab("broker")), (CLIENT, self.keytab("client")),
                                  (NOACL, self.keytab("noacl")), (ROTATED, self.keytab("rotated"))):
            commands += [f"addprinc -randkey {principal}", f"ktadd -k {keytab} {principal}"]
        commands.append(f"cpw -randkey {ROTATED}")
        self.run([tool("kadmin.local"), "-r", REALM], stdin="\n".join(commands) + "\n")
        for name in ("broker", "client", "noacl", "rotated"):
            self.keytab(name).chmod(0o600)

    def start_kdc(self) -> None:
        """Starts krb5kdc (it daemonizes and writes its pid file) and waits until a keytab login works."""
        self.run([tool("krb5kdc"), "-r", REALM, "-P", str(self.pid_path)])
        deadline = time.monotonic() + KDC_READY_TIMEOUT_S
        while True:
            if self.pid() is not None and not self.is_running():
                raise KerberosError(f"krb5kdc exited; log {self.log_path}:\n{_tail(self.log_path)}")
            try:
                self.run([tool("kinit"), "-k", "-t", str(self.keytab("client")), CLIENT])
                return
            except KerberosError as e:
                if time.monotonic() > deadline:
                    self.stop_kdc()
                    raise KerberosError(f"no ticket from the KDC after {KDC_READY_TIMEOUT_S:.0f} s: {e}\n"
                                        f"{_tail(self.log_path)}") from e
            time.sleep(0.2)

    def pid(self):
        try:
            return int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def is_running(self) -> bool:
        """A live krb5kdc of this realm's pid file (guards against pid reuse)."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        return state != "Z" and any(arg.endswith(b"krb5kdc") for arg in args) and str(self.pid_path).encode() in args

    def stop_kdc(self) -> None:
        if self.is_running():
            pid = self.pid()
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_S
            while self.is_running() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.is_running():
                os.kill(pid, signal.SIGKILL)
        self.pid_path.unlink(missing_ok=True)


def _free_tcp_and_udp_port() -> int:
    """A loopback port free for both TCP and UDP now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-3000:]
    except FileNotFoundError:
        return ""


def jvm_krb5_option(realm: Realm) -> str:
    return f"-Djava.security.krb5.conf={realm.krb5_conf}"


def allowed_urls_option(provider: dict) -> str:
    return f"-D{ALLOWED_URLS_PROPERTY}={provider['KOC_OIDC_TOKEN_URL']},{provider['KOC_OIDC_JWKS_URL']}"


class KerberosBroker(harness.Broker):
    """The harness's broker with GSSAPI added to its SASL_PLAINTEXT listener, its keytab's principal
    being kafka/localhost, and OAUTHBEARER tokens validated as signed JWTs of the OIDC provider. Java
    reads later duplicates of a properties key over earlier ones, so the additions are appended to the
    config the harness writes."""

    realm: Realm = None  # set before start()
    provider: dict = None  # oidc.start's variables, set before start()

    def _write_config(self, *args, **kwargs) -> None:
        super()._write_config(*args, **kwargs)
        keytab = self.realm.keytab("broker")
        additions = {
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512,OAUTHBEARER,GSSAPI",
            "sasl.kerberos.service.name": SERVICE_NAME,
            "listener.name.sasl_plaintext.gssapi.sasl.jaas.config":
                "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true"
                f' keyTab="{keytab}" principal="{BROKER_PRINCIPAL}";',
            # The harness's connections.max.reauth.ms (10 s) for OAUTHBEARER stays: sessions
            # re-authenticate with fresh tokens several times per 30 s token.
            "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
            "sasl.oauthbearer.jwks.endpoint.url": self.provider["KOC_OIDC_JWKS_URL"],
            "sasl.oauthbearer.expected.audience": self.provider["KOC_OIDC_AUDIENCE"],
            "sasl.oauthbearer.expected.issuer": self.provider["KOC_OIDC_ISSUER"],
        }
        with self.config_path.open("a") as config:
            config.write("".join(f"{key}={value}\n" for key, value in additions.items()))


def start_broker(realm: Realm, provider: dict) -> harness.Broker:
    """A fresh broker (the realm's keys are new, so a live one of an earlier start cannot be reused).
    The harness starts its JVMs without a way to add options, so the krb5.conf and allowed-URLs
    properties travel in JAVA_TOOL_OPTIONS, set only while this process starts them."""
    broker_dir = realm.workdir / "broker"
    harness.Broker(broker_dir).stop()
    KerberosBroker.realm = realm
    KerberosBroker.provider = provider
    saved = os.environ.get("JAVA_TOOL_OPTIONS")
    os.environ["JAVA_TOOL_OPTIONS"] = \
        f"{saved or ''} {jvm_krb5_option(realm)} {allowed_urls_option(provider)}".strip()
    try:
        broker = KerberosBroker.start(broker_dir)
    finally:
        if saved is None:
            del os.environ["JAVA_TOOL_OPTIONS"]
        else:
            os.environ["JAVA_TOOL_OPTIONS"] = saved
    for resource_type in ("GROUP", "TOPIC"):
        harness.add_acl(broker.bootstrap, f"User:{CLIENT}", "READ", resource_type, ACL_PREFIX,
                        pattern_type="PREFIXED")
        harness.add_acl(broker.bootstrap, f"User:{provider['KOC_OIDC_CLIENT_ID']}", "READ", resource_type,
                        OIDC_ACL_PREFIX, pattern_type="PREFIXED")
    return broker


def env_for(realm: Realm, broker: harness.Broker, port: int, provider: dict) -> dict:
    return {
        **provider,
        "KOC_OIDC_ACL_PREFIX": OIDC_ACL_PREFIX,
        "KOC_OIDC_JVM_OPTION": allowed_urls_option(provider),
        "KRB5_CONFIG": str(realm.krb5_conf),
        "KRB5CCNAME": f"FILE:{realm.ccache}",
        "KOC_KRB5_CONF": str(realm.krb5_conf),
        "KOC_KRB_REALM": REALM,
        "KOC_KRB_KDC": f"127.0.0.1:{port}",
        "KOC_KRB_BOOTSTRAP": broker.sasl_bootstrap,
        "KOC_KRB_ADMIN_BOOTSTRAP": broker.bootstrap,
        "KOC_KRB_SERVICE_NAME": SERVICE_NAME,
        "KOC_KRB_CLIENT_PRINCIPAL": f"{CLIENT}@{REALM}",
        "KOC_KRB_CLIENT_KEYTAB": str(realm.keytab("client")),
        "KOC_KRB_NOACL_PRINCIPAL": f"{NOACL}@{REALM}",
        "KOC_KRB_NOACL_KEYTAB": str(realm.keytab("noacl")),
        "KOC_KRB_ROTATED_PRINCIPAL": f"{ROTATED}@{REALM}",
        "KOC_KRB_ROTATED_KEYTAB": str(realm.keytab("rotated")),
        "KOC_KRB_ACL_PREFIX": ACL_PREFIX,
        "KOC_KRB_HARNESS_LIBS": str(harness.ensure_libs()),
        "KOC_KRB_WORKDIR": str(realm.workdir),
    }


def start(workdir: Path) -> dict:
    ensure_packages()
    realm = Realm(workdir)
    stop(workdir)
    # The spark-submit logs of earlier runs (tests/kerberos/spark_submit_keytab.py): the canary scan
    # (tests/canary/scan.py) reads those of this run, with this run's secrets.
    for earlier in workdir.glob("spark-keytab-*"):
        shutil.rmtree(earlier, ignore_errors=True)
    for attempt in range(1, KDC_START_ATTEMPTS + 1):
        port = _free_tcp_and_udp_port()
        realm.create(port)
        realm.add_principals()
        try:
            realm.start_kdc()
            break
        except KerberosError:
            # Another process may have taken the port between the probe and krb5kdc's bind.
            if attempt == KDC_START_ATTEMPTS:
                raise
    try:
        # The client secret is a canary: tests/canary/scan.py fails on any log line showing it.
        provider = oidc.start(workdir / "oidc", f"koc-canary-oidc-{secrets.token_hex(12)}")
        broker = start_broker(realm, provider)
    except BaseException:
        oidc.stop(workdir / "oidc")
        realm.stop_kdc()
        raise
    env = env_for(realm, broker, port, provider)
    (workdir / "env.sh").write_text(harness.env_sh(env))
    return env


def stop(workdir: Path) -> None:
    harness.Broker(workdir / "broker").stop()
    Realm(workdir).stop_kdc()
    oidc.stop(workdir / "oidc")


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description="Start or stop the test KDC and its GSSAPI broker.")
    parser.add_argument("action", choices=["start", "stop", "install"])
    parser.add_argument("--workdir", type=Path, help="realm, keytabs, broker, env.sh (start, stop)")
    args = parser.parse_args(argv)
    if args.action != "install" and args.workdir is None:
        parser.error(f"{args.action} needs --workdir")
    try:
        if args.action == "install":
            ensure_packages()
            return 0
        workdir = args.workdir.resolve()
        if args.action == "stop":
            stop(workdir)
            return 0
        workdir.mkdir(parents=True, exist_ok=True)
        env = start(workdir)
    except (KerberosError, harness.HarnessError, oidc.OidcError) as e:
        print(f"kdc: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(harness.env_sh(env))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
