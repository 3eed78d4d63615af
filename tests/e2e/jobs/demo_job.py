"""The streaming job of `make demo`, run through spark-submit as a user runs theirs: two Kafka
sources (one topic each) unioned into one query with a processing-time trigger. It knows nothing of
the offset committer but the source option naming the consumer group; the listener comes from
spark-submit's --packages or --jars and --conf.

    demo_job.py --bootstrap HOST:PORT --topics T1,T2 --group G --checkpoint DIR --stop-file PATH
                [--trigger-seconds S] [--max-offsets-per-trigger N]

Runs a batch every S seconds until PATH exists, then lets the query process what the topics hold,
stops it and prints one summary line (batches, rows, the listener's commits and their latency,
read from its status API, io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterStatus).
"""

import argparse
import json
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

POLL_S = 0.25


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated: one Kafka source each")
    parser.add_argument("--group", required=True, help="the consumer group the listener commits to")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--stop-file", type=Path, required=True)
    parser.add_argument("--trigger-seconds", type=float, default=2.0)
    parser.add_argument("--max-offsets-per-trigger", type=int)
    return parser.parse_args(argv)


def kafka_source(spark, args, topic):
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", args.bootstrap)
              .option("subscribe", topic)
              .option("startingOffsets", "earliest")
              .option("kafka.consumer.commit.groupid", args.group))
    if args.max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", args.max_offsets_per_trigger)
    return reader.load().selectExpr("topic", "partition", "offset")


def listener_groups(spark) -> list:
    """The listener's status of every group of this JVM's running queries (its status API)."""
    status = spark._jvm.io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterStatus.json()
    return json.loads(status)["groups"]


def percentile(values: list, fraction: float):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def main(argv) -> int:
    args = parse_args(argv)
    # No web UI: nobody looks at it, and concurrent runs would compete for its port.
    spark = SparkSession.builder.appName("kafka-offset-committer demo") \
        .config("spark.ui.enabled", "false").getOrCreate()
    try:
        sources = [kafka_source(spark, args, topic) for topic in args.topics.split(",")]
        union = sources[0]
        for other in sources[1:]:
            union = union.unionByName(other)
        query = (union.writeStream.format("noop").queryName("demo")
                 .option("checkpointLocation", args.checkpoint)
                 .trigger(processingTime=f"{args.trigger_seconds} seconds")
                 .start())
        print(f"demo_job: query running, a batch every {args.trigger_seconds} s", flush=True)
        # Each commit's latency, sampled from the status as batches are committed.
        latencies, last_batch, commits = [], None, 0
        while query.isActive and not args.stop_file.exists():
            for group in listener_groups(spark):
                if group["group"] == args.group and group["lastCommittedBatchId"] not in (None, last_batch):
                    last_batch = group["lastCommittedBatchId"]
                    commits = group["commitsSucceeded"]
                    if group["lastCommitLatencyMillis"] is not None:
                        latencies.append(group["lastCommitLatencyMillis"])
            time.sleep(POLL_S)
        if query.isActive:
            query.processAllAvailable()
            spark._jvm.io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterStatus.flushCommits(30_000)
            commits = max([commits] + [g["commitsSucceeded"] for g in listener_groups(spark) if g["group"] == args.group])
            query.stop()
        if query.exception() is not None:
            print(f"demo_job: query failed: {query.exception()}", file=sys.stderr, flush=True)
            return 1
        progress = query.recentProgress
        batches = (progress[-1]["batchId"] + 1) if progress else 0
        with_data = sum(1 for p in progress if p["numInputRows"] > 0)
        rows = sum(p["numInputRows"] for p in progress)
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        print(f"demo_job: summary: {batches} batches ({with_data} with data), {rows} rows, "
              f"{commits} commits to group {args.group}, commit latency p50 {p50} ms, p99 {p99} ms",
              flush=True)
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
