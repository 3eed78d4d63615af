#!/usr/bin/env bash
# Fails when a log of a JVM run under -Xcheck:jni holds a JNI warning or error: HotSpot only prints
# them and goes on, so without this check a misuse of JNI would pass unnoticed.
set -euo pipefail
log=${1:?usage: check-jni-warnings.sh LOG}
if grep -nE "WARNING in native method|FATAL ERROR in native method|JNI local refs: [0-9]+, exceeds capacity" "$log"; then
    echo "check-jni-warnings: the JVM reported JNI misuse (lines above, from $log)" >&2
    exit 1
fi
echo "check-jni-warnings: no JNI warnings in $log"
