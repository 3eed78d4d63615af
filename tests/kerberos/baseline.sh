#!/usr/bin/env bash
# The Kerberos fixtures proven with Kafka's own Java client (KerberosBaseline.java, run from source
# on the harness's Kafka jars). Runs under tests/kerberos/with-kdc.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${KOC_KRB5_CONF:?run through tests/kerberos/with-kdc.sh}"
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    "-Djava.security.krb5.conf=$KOC_KRB5_CONF" \
    "-Dlog4j.configuration=file:$here/../broker/log4j.properties" \
    -cp "$KOC_KRB_HARNESS_LIBS/*" "$here/KerberosBaseline.java"
