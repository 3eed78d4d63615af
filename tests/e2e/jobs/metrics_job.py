"""The job of tests/e2e/test_metrics.py, run through spark-submit with the Prometheus servlet and CSV sinks on:
three Kafka queries whose commits the test watches from outside, and the Python module's checks from inside.

    metrics_job.py --bootstrap HOST:PORT --topic T --group G --short-group G2 --control DIR
                   --parked-bootstrap HOST:PORT --parked-topic T3 --parked-group G3

The test steers it with files appearing in DIR (each step waits for its file):
    python      run the kafka_offset_committer checks, write their outcome to DIR/python-result.json
    stop-short  stop the query "metrics-short"
    then        the query "metrics-parked" starts: it reads T3 as alice (SASL, credentials from the
                environment variable KOC_TEST_PARKED_JAAS) and commits to G3, which alice may not use
    stop        stop every query and leave

Queries: "metrics-main" reads T in batches of at most --max-offsets-per-trigger records every 2 s (so the
test sees batches that leave records behind), "metrics-short" reads T for G2.
"""

import argparse
import dataclasses
import json
import os
import sys
import time
import types
from pathlib import Path

from pyspark.sql import SparkSession

import kafka_offset_committer

POLL_S = 0.3
FLUSH_TIMEOUT_S = 60


def parse_args(argv):
    parser = argparse.ArgumentParser()
    for name in ("--bootstrap", "--topic", "--group", "--short-group", "--parked-bootstrap", "--parked-topic",
                 "--parked-group"):
        parser.add_argument(name, required=True)
    parser.add_argument("--control", required=True, type=Path)
    parser.add_argument("--max-offsets-per-trigger", type=int, default=150)
    return parser.parse_args(argv)


def start(spark, name, bootstrap, topic, group, checkpoint, trigger, extra=None):
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", bootstrap)
              .option("subscribe", topic)
              .option("startingOffsets", "earliest")
              .option("kafka.consumer.commit.groupid", group))
    for key, value in (extra or {}).items():
        reader = reader.option(key, value)
    return (reader.load().writeStream.format("noop").queryName(name)
            .option("checkpointLocation", str(checkpoint)).trigger(**trigger).start())


def wait_for(path: Path, queries) -> None:
    while not path.exists():
        for query in queries:
            if not query.isActive and query.exception() is not None:
                raise RuntimeError(f"query {query.name} failed: {query.exception()}")
        time.sleep(POLL_S)


def plain(value) -> bool:
    """True when `value` holds only Python's own types: nothing of py4j reached the caller."""
    if isinstance(value, dict):
        return all(isinstance(key, (str, int)) and plain(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(item) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))


def without_driver_jvm() -> str:
    """What a session without a driver JVM (a Spark Connect client's) gets: CommitterUnavailable, saying why."""
    try:
        kafka_offset_committer.status(types.SimpleNamespace())
    except kafka_offset_committer.CommitterUnavailable as error:
        return str(error)
    return "no error"


def python_checks(spark) -> dict:
    statuses = kafka_offset_committer.status(spark)
    flushed = kafka_offset_committer.flush(spark, FLUSH_TIMEOUT_S)
    after_flush = kafka_offset_committer.status(spark)
    return {
        "types": sorted({type(status).__name__ for status in statuses + after_flush}),
        "dataclasses": all(dataclasses.is_dataclass(status) for status in statuses + after_flush),
        "plain": all(plain(dataclasses.asdict(status)) for status in statuses + after_flush),
        "flushed": flushed,
        "after_flush": [dataclasses.asdict(status) for status in after_flush],
        "without_driver_jvm": without_driver_jvm(),
    }


def main(argv) -> int:
    args = parse_args(argv)
    spark = SparkSession.builder.appName("kafka-offset-committer metrics_job").getOrCreate()
    checkpoints = args.control / "checkpoints"
    main_query = start(spark, "metrics-main", args.bootstrap, args.topic, args.group, checkpoints / "main",
                       {"processingTime": "2 seconds"},
                       {"maxOffsetsPerTrigger": str(args.max_offsets_per_trigger)})
    short_query = start(spark, "metrics-short", args.bootstrap, args.topic, args.short_group, checkpoints / "short",
                        {"processingTime": "1 second"})
    queries = [main_query, short_query]
    try:
        wait_for(args.control / "python", queries)
        result = python_checks(spark)
        draft = args.control / "python-result.draft"
        draft.write_text(json.dumps(result))
        draft.rename(args.control / "python-result.json")

        wait_for(args.control / "stop-short", queries)
        short_query.stop()
        parked = start(spark, "metrics-parked", args.parked_bootstrap, args.parked_topic, args.parked_group,
                       checkpoints / "parked", {"processingTime": "1 second"},
                       {"kafka.security.protocol": "SASL_PLAINTEXT", "kafka.sasl.mechanism": "PLAIN",
                        "kafka.sasl.jaas.config": os.environ["KOC_TEST_PARKED_JAAS"]})
        queries.append(parked)
        wait_for(args.control / "stop", queries)
        failed = [query.name for query in queries if query.exception() is not None]
        for query in queries:
            query.stop()
        if failed:
            print(f"metrics_job: queries failed: {failed}", file=sys.stderr, flush=True)
            return 1
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
