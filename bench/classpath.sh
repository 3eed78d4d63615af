# Sourced by bench/run.sh and bench/helper-hop.sh: compiles bench/jvm/*.java with javac against
# pyspark's Spark jars, the Kafka connector's jars (fetched into .cache on first use) and our listener
# jar (from `make jars`), and sets `classpath` and `java_options` (Spark's module options on Java 17).
spark_version=${SPARK_VERSION:-4.2.0}
venv=$root/.cache/venv-spark-$spark_version
spark_jars=$(VIRTUAL_ENV= "$venv/bin/python" -c 'import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')
connector=$(python3 "$root/tests/e2e/spark_submit.py" connector-folder "$spark_version")
listener_jar=$(python3 "$root/tests/e2e/spark_submit.py" jars "$spark_version" | cut -d, -f1)

classes=$(mktemp -d "${TMPDIR:-/tmp}/bench-classes.XXXXXX")
trap 'rm -rf "$classes"' EXIT
classpath="$classes:$listener_jar:$connector/*:$spark_jars/*"
javac -nowarn -d "$classes" -cp "$classpath" "$root"/bench/jvm/*.java

java_options=(-Dlog4j2.configurationFile="$root/bench/log4j2.properties" -Djdk.reflect.useDirectMethodHandle=false
    -Dio.netty.tryReflectionSetAccessible=true)
for package in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
    java.util.concurrent java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs \
    sun.security.action sun.util.calendar; do
    java_options+=("--add-opens=java.base/$package=ALL-UNNAMED")
done
