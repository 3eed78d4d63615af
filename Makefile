# Every target installs or fetches what it needs into .cache/ (git-ignored) on first use.
#   make test    every test tier against a real Kafka broker and real Spark
#   make demo    two topics fed while a spark-submit job reads them; the group's lag, live, from our CLI, drains to 0
#   make bench   speed and memory benchmarks (side-by-side ratios, one run; the JVM rows regenerate docs/benchmarks.md)
#   make fuzz    long fuzzing: each target (offsets parser, config translator) to 10 million executions
#   make compat  the Spark end-to-end suite across every supported Spark line
#   make soak    the fault tests at full length (long outages and pauses, more restarts and cycles)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.PHONY: test demo bench bench-rows fuzz compat soak native jars lint check-native-jars platforms-ready test-tiers test-platforms test-rust test-fuzz-short test-jvm kerberos-ready test-kerberos-tiers test-e2e test-newest-spark soak-tiers clean

ROOT := $(abspath .)
CACHE := $(ROOT)/.cache
SBT := $(ROOT)/build/sbt
# Spark releases the tests run on. The Maven registry reachable here serves Kafka connectors (with
# their token provider) for 3.5.7 (Scala 2.12), 3.5.4 (Scala 2.13), 4.0.0, 4.1.1 and 4.2.0; 4.0.4,
# 4.1.0, 4.1.3 and 4.3.0 run on pyspark's jars with a stand-in connector (tests/e2e/spark_submit.py).
# `make test` covers the newest 3.5 (Scala 2.12) and the newest 4.x; `make compat` every line and
# patch (VERSION@2.13: the Scala 2.13 jar on a 3.5 line), and the broker tiers on Kafka 3.9.1.
SPARK_3 := 3.5.7
SPARK_4 := 4.2.0
SPARK_COMPAT := 3.5.7 3.5.4@2.13 4.0.0 4.0.4 4.1.0 4.1.1 4.1.3 4.2.0 4.3.0
# The test broker is Kafka 4.4 (tests/kafka_harness.py); `make compat` repeats the broker tiers on these.
KAFKA_COMPAT := 3.9.1
# The newest Spark of all: only pyspark carries it, so it runs as its `make compat` cell does
# (Spark from pyspark's jars, a stand-in Kafka connector), under `make test` too.
SPARK_NEWEST := 4.3.0
VENV_3 := $(CACHE)/venv-spark-$(SPARK_3)
VENV_4 := $(CACHE)/venv-spark-$(SPARK_4)
VENV_NEWEST := $(CACHE)/venv-spark-$(SPARK_NEWEST)
# Spark Connect clients (pyspark-client: no JVM) for the Connect server test.
VENV_CONNECT := $(CACHE)/venv-connect-$(SPARK_4)
FUZZ_RUNS ?= 10000000
# The native artifacts (library and helper, linux-x86_64 and linux-aarch64, glibc 2.17) are built once
# by `native` (build/native.sh, cross toolchain installed into .cache/ on first use); sbt packages them
# from target/native/ without building again.
export KOC_SKIP_CARGO := 1

native:
	build/native.sh

# `publish` packages the jars and writes the Maven layout target/maven-repo (sources, javadoc, POMs,
# checksums) that `spark-submit --packages` resolves in the demo and its test; build/wheel.sh the Python
# wheel target/python/kafka_offset_committer-<version>-py3-none-any.whl carrying both listener jars.
jars: native
	$(SBT) core/publish +spark/publish
	build/wheel.sh

$(CACHE)/venv-connect-%/.ready:
	@echo "make: installing pyspark-client==$* into $(CACHE)/venv-connect-$* (first use only)"
	python3 -m venv $(CACHE)/venv-connect-$*
	$(CACHE)/venv-connect-$*/bin/pip install pyspark-client==$* "pandas<3" pytest
	touch $@

$(CACHE)/venv-spark-%/.ready:
	@echo "make: installing pyspark==$* into $(CACHE)/venv-spark-$* (first use only, a few minutes)"
	python3 -m venv $(CACHE)/venv-spark-$*
	$(CACHE)/venv-spark-$*/bin/pip install pyspark==$* pytest
	touch $@

# Every jar carries both platforms' artifacts, for glibc 2.17 and up, needing nothing beyond glibc.
check-native-jars: jars
	tests/check_native_jars.py

# Debian 11 userlands (glibc 2.31) with a JVM, arm64 and amd64, and qemu user-mode (first use only).
platforms-ready:
	tests/platforms/sysroot.sh arm64 bullseye >/dev/null
	tests/platforms/sysroot.sh amd64 bullseye >/dev/null

# Everything that downloads is done before the brokers start.
test: check-native-jars platforms-ready kerberos-ready $(VENV_3)/.ready $(VENV_4)/.ready $(VENV_NEWEST)/.ready \
	$(VENV_CONNECT)/.ready
	tests/with-broker.sh $(MAKE) --no-print-directory test-tiers
	tests/canary/scan.py --kerberos-workdir $(CACHE)/kerberos $(CANARY_LOGS)

# The tiers run one after another, each timed: the time budget of `make test` is kept per tier
# (printed at the end, kept in .cache/tier-times.log).
TEST_TIERS := lint test-platforms test-rust test-fuzz-short test-jvm test-e2e test-newest-spark
test-tiers:
	rm -f $(CACHE)/tier-times.log
	for tier in $(TEST_TIERS); do \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory $$tier; \
		echo "$$tier: $$(( $$(date +%s) - start )) s" >> $(CACHE)/tier-times.log; \
	done
	echo "make test, time per tier:"; cat $(CACHE)/tier-times.log

# Each platform's build from a jar, on Debian 11's JVM and glibc 2.31 (arm64 under qemu): a commit
# to the real broker, read back by Kafka's Java client.
test-platforms:
	tests/platforms/jvm_commit.py arm64
	tests/platforms/jvm_commit.py amd64

# Fast, first: docs/configuration.md against the keys the code defines, the architecture picture against
# its script, formatting of the Java code (scalafmt is not served by the Maven registry here),
# formatting and lints of the Rust code (clippy reuses the jars' build of librdkafka).
lint:
	python3 tests/docs/test_configuration_doc.py
	python3 docs/img/architecture.py --check
	build/java-format.sh --check
	cargo fmt --check
	build/zigcargo.sh host clippy --release --all-targets -- -D warnings

# The Rust tiers run the build the jars carry (glibc 2.17, zig-linked), not a second host build; the
# test binaries with brokers of their own run in a second lane beside the others (tests/rust-tests.sh).
test-rust:
	$(call logged,$(CACHE)/rust-test.log,tests/rust-tests.sh)

test-fuzz-short:
	rust/fuzz/run.sh seconds 15

# SessionCyclesSuite (50 SparkSession start/stop cycles, tagged) runs once, on Spark 4 (not in tests/compat.sh either).
SESSION_CYCLES_TAG := io.kafkaoffsetcommitter.spark.SessionCycles

# $(call logged,LOG,COMMAND): runs COMMAND with its output shown and kept in LOG; if it fails, reprints
# what failed (tests/failures.sh) last, where CI's excerpt of the output shows it.
logged = $(2) 2>&1 | tee $(1) || { tests/failures.sh $(1); exit 1; }

# Every line these tier logs hold is scanned for the secrets the tests planted (tests/canary/scan.py;
# it also reads the Kerberos tier's spark-submit driver logs).
CANARY_LOGS = $(CACHE)/rust-test.log $(CACHE)/core-test.log $(CACHE)/kerberos-test.log \
	$(CACHE)/spark-$(SPARK_3)-test.log $(CACHE)/spark-$(SPARK_4)-test.log

# The JVM API suite runs with -Xcheck:jni; any JNI warning it prints fails the run.
test-jvm:
	$(call logged,$(CACHE)/core-test.log,$(SBT) core/test)
	tests/check-jni-warnings.sh $(CACHE)/core-test.log
	$(call logged,$(CACHE)/kerberos-test.log,tests/kerberos/with-kdc.sh $(MAKE) --no-print-directory test-kerberos-tiers)
	tests/check-jni-warnings.sh $(CACHE)/kerberos-test.log
	$(call logged,$(CACHE)/spark-$(SPARK_3)-test.log,$(SBT) -Dspark.test.version=$(SPARK_3) "++2.12 spark/testOnly * -- -l $(SESSION_CYCLES_TAG)")
	$(call logged,$(CACHE)/spark-$(SPARK_4)-test.log,$(SBT) -Dspark.test.version=$(SPARK_4) "++2.13 spark/test")

# MIT Kerberos packages (krb5-kdc, krb5-admin-server, krb5-user) from Debian's, when missing (as root).
kerberos-ready:
	python3 tests/kerberos/kdc.py install

# One KDC, OIDC provider and GSSAPI/OAUTHBEARER broker (tests/kerberos/with-kdc.sh) for all: Kafka's own
# Java client proves the fixtures; then, side by side, the JVM API commits through a keytab and through
# OIDC tokens (required: they fail rather than skip), and a spark-submit job on Spark 4 whose Kafka
# sources log in with a keytab and with OIDC client credentials. The job's failure fails the tier too.
test-kerberos-tiers: $(VENV_4)/.ready
	tests/kerberos/baseline.sh
	SPARK_VERSION=$(SPARK_4) $(VENV_4)/bin/python tests/kerberos/spark_submit_keytab.py & job=$$!; \
	$(SBT) -Dkoc.kerberos.required=true \
		"core/testOnly io.kafkaoffsetcommitter.KerberosCommitTest io.kafkaoffsetcommitter.OidcCommitTest" \
		|| sbt_failed=1; \
	wait $$job; exit $${sbt_failed:-0}

# Both listener jars, as users run them: Scala 2.12 on Spark 3, Scala 2.13 on Spark 4. Spark 3 runs the
# query shapes (tests/e2e/test_spark_submit.py) and the wheel (which picks the Scala 2.12 jar there); the
# fault scenarios and our other features (demo, seeding, metrics) are proven once, on Spark 4, and `make
# compat` repeats them on every line.
test-e2e: $(VENV_3)/.ready $(VENV_4)/.ready $(VENV_CONNECT)/.ready
	SPARK_VERSION=$(SPARK_3) $(VENV_3)/bin/pytest -v tests/e2e/test_spark_submit.py tests/e2e/test_wheel.py
	SPARK_VERSION=$(SPARK_4) $(VENV_4)/bin/pytest -v --durations=0 tests/e2e
	SPARK_VERSION=$(SPARK_4) $(VENV_CONNECT)/bin/pytest -v --durations=0 tests/connect

# Real-time mode and our own features (demo, seeding, metrics) are proven once, in test-e2e; `make
# compat` repeats them on every line.
test-newest-spark: $(VENV_NEWEST)/.ready
	KOC_COMPAT_E2E_MARKERS="not fault and not realtime and not feature" tests/compat.sh $(SPARK_NEWEST)

demo: jars $(VENV_4)/.ready
	SPARK_VERSION=$(SPARK_4) VENV=$(VENV_4) tests/with-broker.sh tests/e2e/demo.sh

# Speed and memory, one run on brokers of its own: the Rust API rows (printed), then the JVM rows
# (bench/run.sh: regenerates the table in docs/benchmarks.md and its chart docs/img/benchmarks.png, drawn
# by bench/chart.py with matplotlib from .cache/venv-bench, installed on first use). BENCH_SCALE_SECONDS=N shortens the scale row.
bench: jars $(VENV_4)/.ready
	python3 tests/e2e/spark_submit.py connector-folder $(SPARK_4) >/dev/null
	KAFKA_HARNESS_WORKDIR=$(CACHE)/broker-bench tests/with-broker.sh $(MAKE) --no-print-directory bench-rows

# cargo-zigbuild has no `bench`: the bench target (harness = false) runs as a test binary of the release build.
bench-rows:
	build/zigcargo.sh host test --release -p kafka-offset-committer --bench engine
	bench/run.sh

fuzz:
	rust/fuzz/run.sh runs $(FUZZ_RUNS)

compat: jars $(VENV_4)/.ready
	status=0; \
	tests/with-broker.sh tests/compat.sh $(SPARK_COMPAT) || status=1; \
	tests/broker/other-kafka.sh $(KAFKA_COMPAT) $(SPARK_4) || status=1; \
	exit $$status

# The fault tests of `make test` at the lengths of issue 10, printing what they measure: ten broker
# kills, a broker away 60 s, paused 120 s, gone for 150 s (Spark's own Kafka source fails a query whose
# broker is away for three 60 s look-ups), three rolling restarts of the 3-node cluster with nodes away
# 30 s, 200 session cycles.
SOAK_SETTINGS := KOC_OUTAGE_CYCLES=10 KOC_OUTAGE_SECONDS=60 KOC_PAUSE_SECONDS=120 KOC_GONE_SECONDS=150 \
	KOC_ROLLING_CYCLES=3 KOC_ROLLING_DOWN_SECONDS=30
SOAK_SESSION_CYCLES := 200

soak: jars $(VENV_4)/.ready
	tests/with-broker.sh env $(SOAK_SETTINGS) $(MAKE) --no-print-directory soak-tiers

soak-tiers:
	build/zigcargo.sh host test --release --test helper_outage --test broker_gone -- --nocapture
	$(SBT) -Dspark.test.version=$(SPARK_4) -Dkoc.session.cycles=$(SOAK_SESSION_CYCLES) \
		"++2.13 spark/testOnly io.kafkaoffsetcommitter.spark.SessionCyclesSuite"
	SPARK_VERSION=$(SPARK_4) $(VENV_4)/bin/pytest -v -s --durations=0 tests/e2e/test_broker_outage.py

clean:
	cargo clean
	rm -rf scala/*/target project/target target-sbt
