#!/usr/bin/env bash
# Runs a command with a real MIT KDC, the tests' OIDC provider and a broker up (tests/kerberos/kdc.py:
# a fresh realm KOC.TEST on a free loopback port, principals and keytabs, tests/oauth/oidc.py's JWKS and
# token endpoint, a broker of its own speaking GSSAPI and validating OAUTHBEARER JWTs), exports their
# paths, realm and addresses (KRB5_CONFIG, KOC_KRB5_CONF, KOC_KRB_*, KOC_OIDC_*; see kdc.py), and stops
# them when the command ends, whatever its outcome. Installs the MIT packages on first use (as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
workdir=${KOC_KERBEROS_WORKDIR:-$root/.cache/kerberos}
kdc=(python3 "$root/tests/kerberos/kdc.py")

stop_kdc() {
    "${kdc[@]}" stop --workdir "$workdir" >/dev/null || true
}
trap stop_kdc EXIT
"${kdc[@]}" start --workdir "$workdir" >/dev/null
# shellcheck source=/dev/null
. "$workdir/env.sh"
"$@"
