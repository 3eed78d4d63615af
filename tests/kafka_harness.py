#!/usr/bin/env python3
"""A real single-node Apache Kafka broker for the tests, and an independent Java client to check it.

The broker (KRaft, broker+controller in one JVM; Kafka DEFAULT_KAFKA_VERSION, or the release named by
KOC_KAFKA_VERSION: 3.9.1 and 4.x are tested) runs as a detached background process owned by a work
directory, so a shell script can start it once and many test processes can share it. Its classpath
is copied from Maven into the git-ignored .cache/kafka-<version>/ on first use.

CLI:
    python3 tests/kafka_harness.py start   --workdir DIR [--timeout S]  # new broker, or reuse the live one
    python3 tests/kafka_harness.py restart --workdir DIR [--timeout S]  # again, same ports and data
    python3 tests/kafka_harness.py stop    --workdir DIR
    python3 tests/kafka_harness.py fixtures --workdir DIR  # the standing ACLs, see below
`start` and `restart` print DIR/env.sh (also written as DIR/env.json); `. DIR/env.sh` exports
KAFKA_BOOTSTRAP, KAFKA_SASL_BOOTSTRAP, KAFKA_SSL_BOOTSTRAP, KAFKA_HARNESS_LIBS,
KAFKA_HARNESS_KAFKA_VERSION (the broker's release), KAFKA_HARNESS_WORKDIR and the KAFKA_SSL_* store
paths and password. `start` reuses a live broker of the workdir only if it runs the release asked for.

Listeners and principals:
    PLAINTEXT       User:ANONYMOUS, a super user (it must be: the controller listener is plaintext)
    SASL_PLAINTEXT  PLAIN admin/admin-secret (super user), PLAIN alice/alice-secret,
                    SCRAM-SHA-512 scram-user/scram-secret (no ACLs),
                    OAUTHBEARER unsecured tokens (the subject is the principal; sessions re-authenticate
                    every 10 s)
    SSL             client certificate required; CN=client becomes User:client
The authorizer denies everything without an ACL (allow.everyone.if.no.acl.found=false).
`fixtures` adds the standing ACLs the suites rely on: alice may read (hence describe and commit
to) the groups and topics whose names start with "alice-", User:client those starting with
"ssl-client-", and nothing else.

Python API: Broker.start(workdir) / .restart() / .stop() / context manager; Cluster.start(workdir,
size) for several nodes of one cluster (rolling restarts; .nodes are Brokers); and helpers that
talk to a broker through Kafka's own Java client (see create_topic, produce, log_end_offsets,
group_offsets, group_coordinator, describe_group_text, add_acl, cluster_info). Standard library only.
"""

import argparse
import atexit
import base64
import hashlib
import json
import os
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

# The broker's Kafka release: the newest 4.x whose server jars the Maven registry serves (KRaft, the
# new group coordinator). KOC_KAFKA_VERSION picks another one: `make compat` runs the broker-backed
# tiers on 3.9.1 too (tests/broker/other-kafka.sh).
DEFAULT_KAFKA_VERSION = "4.4.0"
KAFKA_VERSION = os.environ.get("KOC_KAFKA_VERSION") or DEFAULT_KAFKA_VERSION
REPO_ROOT = Path(__file__).resolve().parent.parent
BROKER_PROJECT_DIR = REPO_ROOT / "tests" / "broker"
CACHE_DIR = REPO_ROOT / ".cache" / f"kafka-{KAFKA_VERSION}"
LIBS_DIR = CACHE_DIR / "libs"
# Certificates do not depend on the Kafka release: one set for every version's broker.
SSL_DIR = REPO_ROOT / ".cache" / "kafka-ssl"
LOG4J_CONFIG = BROKER_PROJECT_DIR / "log4j.properties"
# Kafka 4 logs through slf4j (reload4j, as 3.x) but its logging controller also configures Log4j 2.
LOG4J2_CONFIG = BROKER_PROJECT_DIR / "log4j2.properties"
ADMIN_TOOL_SOURCE = BROKER_PROJECT_DIR / "HarnessAdmin.java"

SASL_ADMIN = ("admin", "admin-secret")
SASL_ALICE = ("alice", "alice-secret")
SCRAM_USER = ("scram-user", "scram-secret")
SSL_STORE_PASSWORD = "harness-secret"
# The standing ACLs (`fixtures`): alice may use the groups and topics named with this prefix.
ALICE_PREFIX = "alice-"
SSL_CLIENT_PREFIX = "ssl-client-"

BROKER_HEAP = "-Xmx512m"
# Short-lived tool JVMs: the C1 compiler and serial GC start fastest.
TOOL_JVM_OPTIONS = ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
STARTED_LINE = "Kafka Server started"
DEFAULT_START_TIMEOUT_S = 90.0
STOP_GRACE_S = 30.0
PORT_RACE_ATTEMPTS = 3
# Controller, PLAINTEXT, SASL_PLAINTEXT, SSL.
PORTS_PER_NODE = 4


class HarnessError(RuntimeError):
    """The broker or a tool did not do what the harness asked."""


# ---------------------------------------------------------------------------------------------
# Classpath, compiled admin tool, SSL material: built once into .cache/, shared by all workdirs.


def ensure_libs() -> Path:
    """The broker's and tools' runtime jars, copied by Maven on first use."""
    if LIBS_DIR.is_dir():
        return LIBS_DIR
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # Copy into a private folder and rename it into place, so concurrent first runs cannot see a
    # half-filled folder.
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=CACHE_DIR))
    try:
        _run(
            ["mvn", "-B", "-q", "-f", str(BROKER_PROJECT_DIR / "pom.xml"),
             f"-Dkafka.version={KAFKA_VERSION}",
             "dependency:copy-dependencies", f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            timeout=900,
        )
        _move_into_place(staging, LIBS_DIR)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return LIBS_DIR


def ensure_admin_tool() -> Path:
    """The folder holding HarnessAdmin.class, compiled once per version of its source."""
    source = ADMIN_TOOL_SOURCE.read_bytes()
    classes = CACHE_DIR / f"harness-admin-{_short_hash(source)}"
    if classes.is_dir():
        return classes
    libs = ensure_libs()
    staging = Path(tempfile.mkdtemp(prefix="harness-admin-", dir=CACHE_DIR))
    try:
        _run(["javac", "-cp", f"{libs}/*", "-d", str(staging), str(ADMIN_TOOL_SOURCE)], timeout=300)
        _move_into_place(staging, classes)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return classes


def ensure_ssl_material() -> dict:
    """A CA, a broker keystore (CN=localhost, SAN localhost/127.0.0.1) and a client keystore
    (CN=client), made with keytool only. Certificates do not depend on ports, so they are made
    once into the cache (about 15 keytool runs). Returns the KAFKA_SSL_* variables."""
    files = {
        "KAFKA_SSL_CA_PEM": SSL_DIR / "ca.pem",
        "KAFKA_SSL_TRUSTSTORE_P12": SSL_DIR / "truststore.p12",
        "KAFKA_SSL_TRUSTSTORE_JKS": SSL_DIR / "truststore.jks",
        "KAFKA_SSL_CLIENT_KEYSTORE_P12": SSL_DIR / "client.keystore.p12",
        "KAFKA_SSL_CLIENT_KEYSTORE_JKS": SSL_DIR / "client.keystore.jks",
        "KAFKA_SSL_BROKER_KEYSTORE_P12": SSL_DIR / "broker.keystore.p12",
    }
    if not SSL_DIR.is_dir():
        SSL_DIR.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="ssl-", dir=SSL_DIR.parent))
        try:
            _make_ssl_material(staging)
            _move_into_place(staging, SSL_DIR)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    env = {name: str(path) for name, path in files.items()}
    env["KAFKA_SSL_STORE_PASSWORD"] = SSL_STORE_PASSWORD
    return env


def _make_ssl_material(out: Path) -> None:
    password = SSL_STORE_PASSWORD

    def keytool(*args: str) -> None:
        _run(["keytool", *args], timeout=120)

    def new_key_pair(store: Path, alias: str, dname: str, *extra: str) -> None:
        keytool("-genkeypair", "-alias", alias, "-dname", dname, "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "3650", "-keystore", str(store), "-storetype", "PKCS12",
                "-storepass", password, "-keypass", password, *extra)

    def import_cert(store: Path, alias: str, cert: Path, store_type: str = "PKCS12") -> None:
        keytool("-importcert", "-noprompt", "-alias", alias, "-file", str(cert),
                "-keystore", str(store), "-storetype", store_type, "-storepass", password)

    ca_store, ca_pem = out / "ca.p12", out / "ca.pem"
    new_key_pair(ca_store, "ca", "CN=kafka-harness-ca", "-ext", "bc:c")
    keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), "-storepass", password,
            "-file", str(ca_pem))

    for entity, dname, san in (("broker", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1"),
                               ("client", "CN=client", None)):
        store = out / f"{entity}.keystore.p12"
        request, cert = out / f"{entity}.csr", out / f"{entity}.pem"
        new_key_pair(store, entity, dname)
        keytool("-certreq", "-alias", entity, "-keystore", str(store), "-storepass", password,
                "-file", str(request))
        keytool("-gencert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), "-storepass", password,
                "-validity", "3650", "-infile", str(request), "-outfile", str(cert),
                *(["-ext", san] if san else []))
        # The CA first, so that importing the signed certificate can build the chain.
        import_cert(store, "ca", ca_pem)
        import_cert(store, entity, cert)

    import_cert(out / "truststore.p12", "ca", ca_pem)
    import_cert(out / "truststore.jks", "ca", ca_pem, store_type="JKS")
    keytool("-importkeystore", "-noprompt", "-srckeystore", str(out / "client.keystore.p12"),
            "-srcstoretype", "PKCS12", "-srcstorepass", password,
            "-destkeystore", str(out / "client.keystore.jks"), "-deststoretype", "JKS",
            "-deststorepass", password)


def _move_into_place(staging: Path, target: Path) -> None:
    try:
        staging.rename(target)
    except OSError:
        if not target.is_dir():  # else another process won the race with the same content
            raise


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def _run(command: list, timeout: float) -> str:
    """Runs a command to completion; its stdout, or HarnessError with its output."""
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"{shlex.join(command)}: {e}") from e
    if done.returncode != 0:
        raise HarnessError(f"{shlex.join(command)} exited {done.returncode}:\n"
                           f"{done.stdout[-4000:]}{done.stderr[-4000:]}")
    return done.stdout


def java_command(main_class: str, args: list, jvm_options: list = TOOL_JVM_OPTIONS,
                 extra_classpath: Path = None) -> list:
    """`java` running main_class on the Kafka classpath, logging per tests/broker/log4j.properties."""
    classpath = f"{ensure_libs()}/*"
    if extra_classpath is not None:
        classpath = f"{extra_classpath}{os.pathsep}{classpath}"
    return ["java", *jvm_options, f"-Dlog4j.configuration=file:{LOG4J_CONFIG}",
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}", "-cp", classpath, main_class, *args]


def run_kafka_tool(main_class: str, args: list, timeout: float = 120) -> str:
    """Runs one of Kafka's command-line tools (e.g. ConsumerGroupCommand) and returns its stdout."""
    return _run(java_command(main_class, args), timeout=timeout)


# ---------------------------------------------------------------------------------------------
# The broker.


class Broker:
    """A broker process owned by a work directory (its pid file, config, data, logs, env files)."""

    def __init__(self, workdir):
        """The broker of this workdir, started or not; env is what its last start wrote."""
        self.workdir = Path(workdir).resolve()
        env_path = self.workdir / "env.json"
        self.env = json.loads(env_path.read_text()) if env_path.is_file() else {}

    @property
    def bootstrap(self) -> str:
        """PLAINTEXT listener: every client is User:ANONYMOUS, a super user."""
        return self.env["KAFKA_BOOTSTRAP"]

    @property
    def sasl_bootstrap(self) -> str:
        return self.env["KAFKA_SASL_BOOTSTRAP"]

    @property
    def ssl_bootstrap(self) -> str:
        return self.env["KAFKA_SSL_BOOTSTRAP"]

    @classmethod
    def start(cls, workdir, timeout: float = DEFAULT_START_TIMEOUT_S) -> "Broker":
        """Reuses the live broker of this workdir, else starts a new one (fresh data, free ports)."""
        broker = cls(workdir)
        if (broker.is_running() and broker.env.get("KAFKA_HARNESS_KAFKA_VERSION") == KAFKA_VERSION
                and _accepts_connections(broker.bootstrap)):
            return broker
        broker._clear_workdir()
        for attempt in range(1, PORT_RACE_ATTEMPTS + 1):
            ports = free_ports(PORTS_PER_NODE)
            broker._use_ports(ports)
            broker._write_config(controller_port=ports[0])
            broker._format_storage(_new_cluster_id())
            try:
                broker._launch(timeout)
                break
            except _PortTaken:
                if attempt == PORT_RACE_ATTEMPTS:
                    raise
        return broker

    def restart(self, timeout: float = DEFAULT_START_TIMEOUT_S) -> None:
        """Stops the broker if it runs, then starts it again on the same ports and data, as after
        an outage."""
        if not self.config_path.is_file():
            raise HarnessError(f"no broker was started in {self.workdir}")
        self.stop()
        self._launch(timeout)

    def _clear_workdir(self) -> None:
        self.stop()  # a half-dead broker left by a crash would hold the workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        for stale in ("env.json", "env.sh", "broker.log"):
            (self.workdir / stale).unlink(missing_ok=True)

    def _use_ports(self, ports: list) -> None:
        """ports: controller, PLAINTEXT, SASL_PLAINTEXT, SSL (PORTS_PER_NODE of them)."""
        self.env = dict(ensure_ssl_material(), KAFKA_HARNESS_LIBS=str(ensure_libs()),
                        KAFKA_HARNESS_KAFKA_VERSION=KAFKA_VERSION,
                        KAFKA_HARNESS_WORKDIR=str(self.workdir),
                        KAFKA_BOOTSTRAP=f"127.0.0.1:{ports[1]}",
                        KAFKA_SASL_BOOTSTRAP=f"127.0.0.1:{ports[2]}",
                        KAFKA_SSL_BOOTSTRAP=f"127.0.0.1:{ports[3]}")

    def stop(self) -> None:
        """SIGTERM (controlled shutdown), then SIGKILL after a grace period. Idempotent.
        Also closes the shared admin tools of this broker's listeners, which would otherwise keep
        reconnecting to it."""
        close_admin_tools({self.env.get(name) for name in
                           ("KAFKA_BOOTSTRAP", "KAFKA_SASL_BOOTSTRAP", "KAFKA_SSL_BOOTSTRAP")})
        pid = self._pid()
        if pid is not None and _is_broker_process(pid, self.config_path):
            try:
                group = os.getpgid(pid)
                os.killpg(group, signal.SIGTERM)
                if not _wait_until(lambda: not _is_broker_process(pid, self.config_path), STOP_GRACE_S):
                    os.killpg(group, signal.SIGKILL)
                    _wait_until(lambda: not _is_broker_process(pid, self.config_path), STOP_GRACE_S)
            except ProcessLookupError:
                pass  # it exited on its own meanwhile
        self.pid_path.unlink(missing_ok=True)

    def is_running(self) -> bool:
        pid = self._pid()
        return pid is not None and _is_broker_process(pid, self.config_path)

    def __enter__(self) -> "Broker":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def config_path(self) -> Path:
        return self.workdir / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.workdir / "broker.log"

    @property
    def pid_path(self) -> Path:
        return self.workdir / "broker.pid"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def _pid(self):
        try:
            return int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _write_config(self, controller_port: int, node_id: int = 1, quorum_voters: str = None,
                      replicas: int = 1) -> None:
        """One broker+controller node. A cluster's nodes share quorum_voters ("1@host:port,...");
        `replicas` is the replication factor of internal topics and new topics by default."""
        plaintext, sasl, tls = (self.env[name] for name in
                                ("KAFKA_BOOTSTRAP", "KAFKA_SASL_BOOTSTRAP", "KAFKA_SSL_BOOTSTRAP"))
        plain_users = " ".join(f'user_{user}="{password}"' for user, password in (SASL_ADMIN, SASL_ALICE))
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(node_id),
            "controller.quorum.voters": quorum_voters or f"{node_id}@127.0.0.1:{controller_port}",
            "controller.listener.names": "CONTROLLER",
            "listeners": f"PLAINTEXT://{plaintext},SASL_PLAINTEXT://{sasl},SSL://{tls},"
                         f"CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://{plaintext},SASL_PLAINTEXT://{sasl},SSL://{tls}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map":
                "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # A single node needs replication factor 1, else __consumer_offsets is never created.
            # In a cluster two replicas must stay in sync, so one node may be away at a time.
            "offsets.topic.replication.factor": str(replicas),
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(min(replicas, 2)),
            "default.replication.factor": str(replicas),
            "min.insync.replicas": str(min(replicas, 2)),
            "offsets.topic.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            # The broker is unfenced (serves clients) on a heartbeat: 2 s by default.
            "broker.heartbeat.interval.ms": "500",
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512,OAUTHBEARER",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config":
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{SASL_ADMIN[0]}" password="{SASL_ADMIN[1]}" {plain_users};',
            # SCRAM credentials live in the metadata log (added by `format --add-scram`).
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            # OAUTHBEARER: unsecured tokens (the broker's default validator), subject admin for a super
            # user. Sessions must re-authenticate every 10 s, so short-lived tokens are put to the test.
            "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config":
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
            "listener.name.sasl_plaintext.oauthbearer.connections.max.reauth.ms": "10000",
            "listener.name.ssl.ssl.keystore.location": self.env["KAFKA_SSL_BROKER_KEYSTORE_P12"],
            "listener.name.ssl.ssl.keystore.type": "PKCS12",
            "listener.name.ssl.ssl.keystore.password": SSL_STORE_PASSWORD,
            "listener.name.ssl.ssl.key.password": SSL_STORE_PASSWORD,
            "listener.name.ssl.ssl.truststore.location": self.env["KAFKA_SSL_TRUSTSTORE_P12"],
            "listener.name.ssl.ssl.truststore.type": "PKCS12",
            "listener.name.ssl.ssl.truststore.password": SSL_STORE_PASSWORD,
            "listener.name.ssl.ssl.client.auth": "required",
            # Subject "CN=client" -> principal User:client.
            "ssl.principal.mapping.rules": "RULE:^CN=([^,]+)$/$1/,DEFAULT",
            # Issues delegation tokens (SCRAM with tokenauth on the SASL listener), as Spark's
            # spark.kafka.clusters.* token provider obtains them.
            "delegation.token.secret.key": "koc-test-delegation-token-key",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            # ANONYMOUS: the plaintext controller listener's principal must be a super user, else
            # the node cannot register with its own controller.
            "super.users": f"User:ANONYMOUS;User:{SASL_ADMIN[0]}",
        }
        self.config_path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))

    def _format_storage(self, cluster_id: str) -> None:
        """Empty storage for a node of the cluster. StorageTool calls System.exit, hence its own JVM."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        scram = f"SCRAM-SHA-512=[name={SCRAM_USER[0]},password={SCRAM_USER[1]}]"
        _run(java_command("kafka.tools.StorageTool",
                          ["format", "-t", cluster_id, "-c", str(self.config_path),
                           "--add-scram", scram]),
             timeout=120)

    def _launch(self, timeout: float) -> None:
        self._await_ready(*self._spawn(), timeout)

    def _spawn(self) -> tuple:
        """Starts the broker JVM without waiting for it; (pid, where its log lines of this start begin)."""
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = java_command("kafka.Kafka", [str(self.config_path)],
                               jvm_options=[BROKER_HEAP, "-Djava.awt.headless=true"])
        # An intermediate shell starts the JVM in the background and exits: the broker outlives
        # this process, is never its child (no zombie, no reaping), and has its own process group
        # (setsid) so that a terminal's Ctrl-C does not reach it and stop() can signal the group.
        launcher = subprocess.run(
            ["sh", "-c", 'log="$1"; shift; "$@" >>"$log" 2>&1 </dev/null & echo $!',
             "sh", str(self.log_path), *command],
            capture_output=True, text=True, start_new_session=True, check=True)
        pid = int(launcher.stdout.strip())
        self.pid_path.write_text(f"{pid}\n")
        return pid, log_start

    def _await_ready(self, pid: int, log_start: int, timeout: float) -> None:
        self._wait_ready(pid, log_start, timeout)
        self._write_env_files()

    def _wait_ready(self, pid: int, log_start: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            log = _read_from(self.log_path, log_start)
            if not _is_broker_process(pid, self.config_path):
                self.pid_path.unlink(missing_ok=True)
                if "Address already in use" in log:
                    raise _PortTaken(f"a port of the broker is taken; log {self.log_path}")
                raise HarnessError(f"broker exited during start; log {self.log_path}:\n{log[-4000:]}")
            if STARTED_LINE in log:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise HarnessError(f"broker not started after {timeout:.0f} s; log {self.log_path}:\n"
                                   f"{log[-4000:]}")
            time.sleep(0.2)
        # The line says the listeners are up; a metadata request proves the broker serves clients.
        cluster_info(self.bootstrap, timeout=max(deadline - time.monotonic(), 10))

    def _write_env_files(self) -> None:
        (self.workdir / "env.json").write_text(json.dumps(self.env, indent=2, sort_keys=True) + "\n")
        (self.workdir / "env.sh").write_text(env_sh(self.env))


class Cluster:
    """A KRaft cluster of `size` broker+controller nodes (all of them voters), one Broker per subfolder
    node-<id> of the workdir, for tests that take single nodes away (rolling restarts). Internal topics,
    and topics created without a replication factor, get a replica on every node and need two in sync,
    so a 3-node cluster serves clients while any one node is away."""

    def __init__(self, workdir, size: int):
        self.workdir = Path(workdir).resolve()
        self.nodes = {node_id: Broker(self.workdir / f"node-{node_id}") for node_id in range(1, size + 1)}

    @property
    def bootstrap(self) -> str:
        """Every node's PLAINTEXT listener: clients given it reach the cluster whichever node is away."""
        return ",".join(node.bootstrap for node in self.nodes.values())

    @classmethod
    def start(cls, workdir, size: int = 3, timeout: float = DEFAULT_START_TIMEOUT_S) -> "Cluster":
        """A new cluster (fresh data, free ports)."""
        cluster = cls(workdir, size)
        for node in cluster.nodes.values():
            node._clear_workdir()
        for attempt in range(1, PORT_RACE_ATTEMPTS + 1):
            ports = free_ports(PORTS_PER_NODE * size)
            node_ports = {node_id: ports[PORTS_PER_NODE * (node_id - 1):PORTS_PER_NODE * node_id]
                          for node_id in cluster.nodes}
            voters = ",".join(f"{node_id}@127.0.0.1:{own[0]}" for node_id, own in node_ports.items())
            cluster_id = _new_cluster_id()
            for node_id, node in cluster.nodes.items():
                node._use_ports(node_ports[node_id])
                node._write_config(controller_port=node_ports[node_id][0], node_id=node_id,
                                   quorum_voters=voters, replicas=size)
                node._format_storage(cluster_id)
            # The controllers elect a leader only once a majority runs: start every node, then wait.
            spawned = [(node, node._spawn()) for node in cluster.nodes.values()]
            try:
                for node, (pid, log_start) in spawned:
                    node._await_ready(pid, log_start, timeout)
                break
            except _PortTaken:
                cluster.stop()
                if attempt == PORT_RACE_ATTEMPTS:
                    raise
        return cluster

    def stop(self) -> None:
        """Stops every node at once: one by one, the last ones would wait out their grace period for
        a controller quorum that is already gone."""
        close_admin_tools({self.bootstrap})
        stoppers = [threading.Thread(target=node.stop) for node in self.nodes.values()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class _PortTaken(HarnessError):
    """Another process took a port between our probe and the broker's bind."""


def env_sh(env: dict) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(env.items()))


def _new_cluster_id() -> str:
    # What `StorageTool random-uuid` prints (Kafka's Uuid: URL-safe base64 of 16 random bytes, no
    # padding, never starting with '-'), without paying for a JVM start.
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def free_ports(count: int) -> list:
    """Ports the kernel reports free now. All are held open together so they are distinct."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    """A port the kernel reports free now (for a server a test starts)."""
    return free_ports(1)[0]


def _is_broker_process(pid: int, config_path: Path) -> bool:
    """True for a running (not zombie) kafka.Kafka JVM of this config: guards against pid reuse."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return b"kafka.Kafka" in args and str(config_path).encode() in args


def _accepts_connections(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------------------------------------
# Client settings for the secured listeners (Java client keys, as a Spark job would pass them).


def sasl_client_config(user: str, password: str, mechanism: str = "PLAIN") -> dict:
    module = {"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
              "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}[mechanism]
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.jaas.config": f'{module} required username="{user}" password="{password}";',
    }


def ssl_client_config(env: dict) -> dict:
    """Java client settings for the SSL listener, as User:client (PKCS12 stores)."""
    return {
        "security.protocol": "SSL",
        "ssl.truststore.location": env["KAFKA_SSL_TRUSTSTORE_P12"],
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.password": env["KAFKA_SSL_STORE_PASSWORD"],
        "ssl.keystore.location": env["KAFKA_SSL_CLIENT_KEYSTORE_P12"],
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.password": env["KAFKA_SSL_STORE_PASSWORD"],
        "ssl.key.password": env["KAFKA_SSL_STORE_PASSWORD"],
    }


# ---------------------------------------------------------------------------------------------
# The independent Java client: one long-lived HarnessAdmin JVM per (bootstrap, settings).


class AdminTool:
    """A HarnessAdmin JVM (Kafka's Admin client and producer) answering one request at a time."""

    def __init__(self, bootstrap: str, client_config: dict = None):
        settings = {"bootstrap.servers": bootstrap, **(client_config or {})}
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            java_command("HarnessAdmin", [f"{k}={v}" for k, v in settings.items()],
                         extra_classpath=ensure_admin_tool()),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self._pending = b""
        self._lock = threading.Lock()

    def call(self, op: str, timeout: float = 90, **fields):
        """Sends {"op": op, **fields}; returns the result, or raises HarnessError with the error."""
        with self._lock:
            if self._process.poll() is not None:
                raise HarnessError(f"admin tool exited {self._process.returncode}: {self._stderr_tail()}")
            try:
                self._process.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
                self._process.stdin.flush()
            except BrokenPipeError as e:
                raise HarnessError(f"admin tool is gone: {self._stderr_tail()}") from e
            answer = json.loads(self._read_line(timeout))
        if not answer["ok"]:
            raise HarnessError(f"{op} {fields}: {answer['error']}")
        return answer["result"]

    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        self._stderr.close()

    def _read_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        stdout = self._process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    # The request state is unknown now: this JVM cannot be reused.
                    self._process.kill()
                    raise HarnessError(f"admin tool gave no answer in {timeout:.0f} s")
                chunk = os.read(stdout, 65536)
                if not chunk:
                    self._process.wait()
                    raise HarnessError(f"admin tool exited {self._process.returncode}: "
                                       f"{self._stderr_tail()}")
                self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]


_admin_tools = {}
_admin_tools_lock = threading.Lock()


def admin_tool(bootstrap: str, client_config: dict = None) -> AdminTool:
    """The shared AdminTool for these settings, started on first use, closed at exit."""
    key = (bootstrap, tuple(sorted((client_config or {}).items())))
    with _admin_tools_lock:
        tool = _admin_tools.get(key)
        if tool is None or not tool.alive():
            tool = _admin_tools[key] = AdminTool(bootstrap, client_config)
        return tool


def close_admin_tools(bootstraps: set = None) -> None:
    """Closes the shared admin tools of these bootstrap addresses, or all of them."""
    with _admin_tools_lock:
        for key in list(_admin_tools):
            if bootstraps is None or key[0] in bootstraps:
                _admin_tools.pop(key).close()


atexit.register(close_admin_tools)


def cluster_info(bootstrap: str, client_config: dict = None, timeout: float = 60) -> dict:
    """{"cluster_id", "node_ids"} via a metadata request; HarnessError if it fails (e.g. bad
    credentials: the error names SaslAuthenticationException)."""
    return admin_tool(bootstrap, client_config).call("cluster", timeout=timeout)


def create_topic(bootstrap: str, name: str, partitions: int = 1, client_config: dict = None,
                 replication_factor: int = 1, min_insync_replicas: int = None) -> None:
    """Creates the topic and waits until every partition has a leader."""
    admin_tool(bootstrap, client_config).call("create_topic", topic=name, partitions=partitions,
                                              replication_factor=replication_factor,
                                              min_insync_replicas=min_insync_replicas or 0)


def produce(bootstrap: str, topic: str, records_per_partition: int, client_config: dict = None) -> dict:
    """Writes records_per_partition records to each partition; returns {partition: log-end offset}."""
    result = admin_tool(bootstrap, client_config).call("produce", topic=topic,
                                        records_per_partition=records_per_partition)
    return {int(partition): offset for partition, offset in result.items()}


def log_end_offsets(bootstrap: str, topic: str, client_config: dict = None) -> dict:
    """{partition: log-end offset}."""
    result = admin_tool(bootstrap, client_config).call("log_end_offsets", topic=topic)
    return {int(partition): offset for partition, offset in result.items()}


def group_offsets(bootstrap: str, group: str, client_config: dict = None) -> dict:
    """{(topic, partition): committed offset}; {} for a group with no committed offsets."""
    return {(entry["topic"], entry["partition"]): entry["offset"]
            for entry in admin_tool(bootstrap, client_config).call("group_offsets", group=group)}


def group_offset_metadata(bootstrap: str, group: str, client_config: dict = None) -> dict:
    """{(topic, partition): commit metadata string}."""
    return {(entry["topic"], entry["partition"]): entry["metadata"]
            for entry in admin_tool(bootstrap, client_config).call("group_offsets", group=group)}


def group_coordinator(bootstrap: str, group: str) -> int:
    """The node id of the broker coordinating the group (leader of its __consumer_offsets partition)."""
    return admin_tool(bootstrap).call("group_coordinator", group=group)


def describe_group_text(bootstrap: str, group: str) -> str:
    """What `kafka-consumer-groups --describe --offsets` prints for the group (for humans)."""
    return run_kafka_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                          ["--bootstrap-server", bootstrap, "--describe", "--offsets", "--group", group])


def add_acl(bootstrap: str, principal: str, operation: str, resource_type: str, resource_name: str,
            pattern_type: str = "LITERAL", permission: str = "ALLOW", host: str = "*") -> None:
    """Adds one ACL through the (super-user) bootstrap given, e.g.
    add_acl(b, "User:alice", "READ", "GROUP", "my-group"). Names are Kafka's enum names."""
    admin_tool(bootstrap).call("add_acl", principal=principal, operation=operation,
                               resource_type=resource_type, resource_name=resource_name,
                               pattern_type=pattern_type, permission=permission, host=host)


def add_fixture_acls(bootstrap: str) -> None:
    """The standing ACLs: READ (which implies DESCRIBE) for User:alice on the groups and topics
    whose names start with ALICE_PREFIX, and for the SSL certificate's User:client on those
    starting with SSL_CLIENT_PREFIX. Adding them again changes nothing."""
    for principal, prefix in ((f"User:{SASL_ALICE[0]}", ALICE_PREFIX), ("User:client", SSL_CLIENT_PREFIX)):
        for resource_type in ("GROUP", "TOPIC"):
            add_acl(bootstrap, principal, "READ", resource_type, prefix, pattern_type="PREFIXED")


# ---------------------------------------------------------------------------------------------
# CLI.


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description="Start or stop the test Kafka broker.")
    parser.add_argument("action", choices=["start", "restart", "stop", "fixtures"])
    parser.add_argument("--workdir", required=True, type=Path,
                        help="the broker's folder: config, data, log, pid file, env.sh/env.json")
    parser.add_argument("--timeout", type=float, default=DEFAULT_START_TIMEOUT_S,
                        help="seconds to wait for the broker to serve clients")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    try:
        if args.action == "stop":
            Broker(workdir).stop()
            return 0
        if args.action == "fixtures":
            broker = Broker(workdir)
            if not broker.is_running():
                raise HarnessError(f"no broker runs in {workdir}")
            add_fixture_acls(broker.bootstrap)
            return 0
        if args.action == "start":
            broker = Broker.start(workdir, timeout=args.timeout)
        else:
            broker = Broker(workdir)
            broker.restart(timeout=args.timeout)
    except HarnessError as e:
        print(f"kafka_harness: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(env_sh(broker.env))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class OffsetWatcher:
    """Watches one group's committed offsets on one topic for as long as it runs: a thread of its own
    reads them every `period_s` through a HarnessAdmin JVM of its own (never the shared one, whose
    calls a broker outage would hold up) and records every reading. A failed read (the broker is
    away) is counted and retried with a new JVM. `finish()` stops it and raises AssertionError if a
    partition's committed offset was ever seen lower than before, or gone after being seen."""

    READ_TIMEOUT_S = 60

    def __init__(self, bootstrap: str, group: str, topic: str, period_s: float = 0.2,
                 client_config: dict = None):
        self.bootstrap, self.group, self.topic = bootstrap, group, topic
        self.period_s = period_s
        self.client_config = client_config
        self.observations = []  # (seconds since start, partition, offset or None)
        self.rounds = 0
        self.failed_reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"offset-watcher[{group}]", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        seen = set()
        tool = None
        while True:
            # One more round after finish() asked, so that the last state is always read.
            last_round = self._stop.is_set()
            try:
                if tool is None or not tool.alive():
                    tool = AdminTool(self.bootstrap, self.client_config)
                entries = tool.call("group_offsets", timeout=self.READ_TIMEOUT_S, group=self.group)
                at = time.monotonic() - started
                offsets = {e["partition"]: e["offset"] for e in entries if e["topic"] == self.topic}
                for partition in sorted(seen | set(offsets)):
                    self.observations.append((at, partition, offsets.get(partition)))
                seen |= set(offsets)
                self.rounds += 1
            except HarnessError:
                self.failed_reads += 1
                if tool is not None:
                    tool.close()
                    tool = None
            if last_round:
                break
            self._stop.wait(self.period_s)
        if tool is not None:
            tool.close()

    def decreases(self) -> list:
        """[(partition, before, seconds, after, seconds)] for every reading lower than an earlier one."""
        highest, found = {}, []
        for at, partition, offset in self.observations:
            before = highest.get(partition)
            if before is not None and (offset is None or offset < before[0]):
                found.append((partition, before[0], before[1], offset, at))
            elif offset is not None:
                highest[partition] = (offset, at)
        return found

    def finish(self) -> list:
        """Stops watching; the observations, or AssertionError if an offset went down or none was seen."""
        self._stop.set()
        self._thread.join()
        decreases = self.decreases()
        if decreases:
            raise AssertionError(
                f"committed offsets of group {self.group} moved backwards:\n" + "\n".join(
                    f"  partition {p}: {before} at {before_at:.1f} s, then "
                    f"{'none' if after is None else after} at {after_at:.1f} s"
                    for p, before, before_at, after, after_at in decreases))
        if not any(offset is not None for _, _, offset in self.observations):
            raise AssertionError(f"the watcher never saw a committed offset of group {self.group} "
                                 f"({self.rounds} reads, {self.failed_reads} failed)")
        print(f"offset watcher: {len(self.observations)} readings in {self.rounds} reads "
              f"({self.failed_reads} failed while the broker was away) of {self.group}: never backwards")
        return self.observations
