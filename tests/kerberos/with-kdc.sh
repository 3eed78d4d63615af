#!/usr/bin/env bash
# Runs a command with a real MIT KDC and a GSSAPI broker up (tests/kerberos/kdc.py: a fresh realm
# KOC.TEST on a free loopback port, principals and keytabs, a broker of its own), exports their
# paths, realm and addresses (KRB5_CONFIG, KOC_KRB5_CONF, KOC_KRB_*; see kdc.py), and stops both
# when the command ends, whatever its outcome. Installs the MIT packages on first use (as root).
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
