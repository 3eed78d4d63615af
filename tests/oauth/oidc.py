#!/usr/bin/env python3
"""A small OpenID Connect provider for the tests: a JWKS and an OAuth client-credentials token endpoint
that signs JWTs (RS256) with a key pair made at start, each token living TOKEN_LIFETIME_S.

CLI (tests/kerberos/kdc.py starts and stops it with its broker; see why in docs/security.md):
    python3 tests/oauth/oidc.py start --workdir DIR   # new key pair and client secret, server detached
    python3 tests/oauth/oidc.py stop  --workdir DIR
    python3 tests/oauth/oidc.py serve --workdir DIR   # the server itself, in the foreground
Endpoints (loopback, a free port):
    GET  /jwks     the public key (kid "koc-test-1")
    POST /token    grant_type=client_credentials; the client authenticates with HTTP Basic (Kafka's
                   OAuthBearerLoginCallbackHandler does) or with client_id/client_secret form fields.
                   The one client is CLIENT_ID with the secret made at start; any other pair gets 401
                   invalid_client, as a real provider refuses a wrong secret.
    GET  /stats    {"granted": {client: n}, "refused": {client: n}}: how often each client asked, so
                   tests can tell a backed-off retry from a hot one.
Every token issued is appended to DIR/issued-tokens (one a line) for the canary scan
(tests/canary/scan.py), which must never find one in a log.

Standard library only: RSA (key generation by Miller-Rabin, PKCS #1 v1.5 signatures with SHA-256) is
a few lines of integer arithmetic, and no third-party package is needed on the test host.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CLIENT_ID = "koc-oidc-client"
AUDIENCE = "kafka-test"
SCOPE = "kafka"
KEY_ID = "koc-test-1"
TOKEN_LIFETIME_S = 30
RSA_BITS = 2048
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
# ASN.1 DigestInfo prefix of a SHA-256 digest (RFC 8017, section 9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class OidcError(RuntimeError):
    """The server did not start or stop as asked."""


# ---------------------------------------------------------------------------------------------
# RSA with integers.

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def _probably_prime(n: int, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        # Top two bits set, so the product of two such primes has exactly 2 * bits bits.
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if _probably_prime(candidate):
            return candidate


def new_rsa_key(bits: int = RSA_BITS) -> dict:
    e = 65537
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e != 0:
            return {"n": p * q, "e": e, "d": pow(e, -1, phi)}


def _int_bytes(value: int, length: int = None) -> bytes:
    return value.to_bytes(length or (value.bit_length() + 7) // 8, "big")


def sign_rs256(key: dict, message: bytes) -> bytes:
    size = (key["n"].bit_length() + 7) // 8
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return _int_bytes(pow(int.from_bytes(encoded, "big"), key["d"], key["n"]), size)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwks(key: dict) -> dict:
    return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID,
                      "n": _b64url(_int_bytes(key["n"])), "e": _b64url(_int_bytes(key["e"]))}]}


def new_jwt(key: dict, issuer: str, subject: str, now: int) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    claims = {"iss": issuer, "sub": subject, "aud": AUDIENCE, "scope": SCOPE, "iat": now,
              "exp": now + TOKEN_LIFETIME_S, "jti": secrets.token_hex(8)}
    signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, claims))
    return f"{signing_input}.{_b64url(sign_rs256(key, signing_input.encode()))}"


# ---------------------------------------------------------------------------------------------
# The server.


class Provider:
    """The key, the one client's secret, the counts, and where issued tokens are written."""

    def __init__(self, workdir: Path, key: dict, client_secret: str, issuer: str):
        self.key, self.client_secret, self.issuer = key, client_secret, issuer
        self.issued_path = workdir / "issued-tokens"
        self.granted, self.refused = {}, {}
        self.lock = threading.Lock()

    def token_for(self, client_id: str, client_secret: str):
        """A new token for the right pair, else None; counted either way."""
        with self.lock:
            if client_id == CLIENT_ID and secrets.compare_digest(client_secret, self.client_secret):
                self.granted[client_id] = self.granted.get(client_id, 0) + 1
                token = new_jwt(self.key, self.issuer, client_id, int(time.time()))
                with self.issued_path.open("a") as issued:
                    issued.write(token + "\n")
                return token
            self.refused[client_id] = self.refused.get(client_id, 0) + 1
            return None


def _client_credentials(headers, form: dict) -> tuple:
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Basic "):
        try:
            pair = base64.b64decode(authorization[len("Basic "):]).decode()
        except ValueError:
            return "", ""
        client_id, _, client_secret = pair.partition(":")
        return urllib.parse.unquote(client_id), urllib.parse.unquote(client_secret)
    return form.get("client_id", [""])[0], form.get("client_secret", [""])[0]


def handler_for(provider: Provider):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/jwks":
                self._answer(200, jwks(provider.key))
            elif self.path == "/stats":
                with provider.lock:
                    self._answer(200, {"granted": dict(provider.granted), "refused": dict(provider.refused)})
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            if self.path != "/token":
                self._answer(404, {"error": "not_found"})
            elif form.get("grant_type", [""])[0] != "client_credentials":
                self._answer(400, {"error": "unsupported_grant_type"})
            else:
                token = provider.token_for(*_client_credentials(self.headers, form))
                if token is None:
                    self._answer(401, {"error": "invalid_client",
                                       "error_description": "client authentication failed"})
                else:
                    self._answer(200, {"access_token": token, "token_type": "Bearer",
                                       "expires_in": TOKEN_LIFETIME_S, "scope": SCOPE})

        def log_message(self, format, *args):
            # One line per request, never a header or body (they carry the secret and the token).
            sys.stderr.write(f"{time.strftime('%H:%M:%S')} {self.command} {self.path.split('?')[0]} "
                             f"{args[1] if len(args) > 1 else ''}\n")

    return Handler


def serve(workdir: Path) -> None:
    """Runs the server; writes DIR/ready (the port) once it listens."""
    settings = json.loads((workdir / "settings.json").read_text())
    key = {name: int(value) for name, value in settings["key"].items()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    server.RequestHandlerClass = handler_for(Provider(workdir, key, settings["client_secret"], issuer))
    (workdir / "ready").write_text(str(server.server_address[1]))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


# ---------------------------------------------------------------------------------------------
# Start and stop, detached (the server outlives `start`, like the harness's broker).


def _pid(workdir: Path):
    try:
        return int((workdir / "server.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_server(pid: int, workdir: Path) -> bool:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z" and b"serve" in args and str(workdir).encode() in args


def stop(workdir: Path) -> None:
    pid = _pid(workdir)
    if pid is not None and _is_server(pid, workdir):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while _is_server(pid, workdir) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _is_server(pid, workdir):
            os.kill(pid, signal.SIGKILL)
    (workdir / "server.pid").unlink(missing_ok=True)


def start(workdir: Path, client_secret: str) -> dict:
    """A new key pair and the server on a free port; the KOC_OIDC_* variables."""
    stop(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("ready", "issued-tokens", "settings.json"):
        (workdir / stale).unlink(missing_ok=True)
    key = new_rsa_key()
    settings = workdir / "settings.json"
    settings.write_text(json.dumps({"client_secret": client_secret,
                                    "key": {name: str(value) for name, value in key.items()}}))
    settings.chmod(0o600)
    (workdir / "issued-tokens").touch(mode=0o600)
    log = open(workdir / "server.log", "ab")
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", "--workdir", str(workdir)],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    (workdir / "server.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not (workdir / "ready").is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(workdir)
            raise OidcError(f"the OIDC server did not start; log {workdir / 'server.log'}")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{(workdir / 'ready').read_text().strip()}"
    return {
        "KOC_OIDC_ISSUER": base,
        "KOC_OIDC_TOKEN_URL": f"{base}/token",
        "KOC_OIDC_JWKS_URL": f"{base}/jwks",
        "KOC_OIDC_STATS_URL": f"{base}/stats",
        "KOC_OIDC_AUDIENCE": AUDIENCE,
        "KOC_OIDC_SCOPE": SCOPE,
        "KOC_OIDC_CLIENT_ID": CLIENT_ID,
        "KOC_OIDC_CLIENT_SECRET": client_secret,
        "KOC_OIDC_TOKEN_LIFETIME_S": str(TOKEN_LIFETIME_S),
        "KOC_OIDC_ISSUED_TOKENS": str(workdir / "issued-tokens"),
    }


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description="The tests' OIDC provider (JWKS and token endpoint).")
    parser.add_argument("action", choices=["start", "stop", "serve"])
    parser.add_argument("--workdir", required=True, type=Path)
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    if args.action == "serve":
        serve(workdir)
    elif args.action == "stop":
        stop(workdir)
    else:
        try:
            env = start(workdir, f"koc-canary-oidc-{secrets.token_hex(12)}")
        except OidcError as e:
            print(f"oidc: {e}", file=sys.stderr)
            return 1
        sys.stdout.write("".join(f"export {name}={value}\n" for name, value in sorted(env.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
