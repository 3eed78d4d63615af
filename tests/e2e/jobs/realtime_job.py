"""A real-time mode query (Spark 4.1+, `trigger(realTime=...)`) over two Kafka topics, each its own
source with its own consumer group, unioned and written to a Kafka topic (real-time mode accepts only
stateless queries and a few sinks, Kafka's among them). Run through spark-submit by
tests/e2e/test_realtime.py; like commit_job.py it knows nothing of the offset committer but the
source option naming the group.

    realtime_job.py --bootstrap HOST:PORT --topic T1 --group G1 --topic T2 --group G2
                    --output-topic O --checkpoint DIR --batch-duration "5 seconds" --stop-file PATH

Runs until PATH exists and holds the end offsets to reach, as {"T1": {"0": 200, ...}, "T2": {...}};
then stops the query once a batch has ended there, so the batch that reached them is its last.
Prints one line per batch, then exits non-zero if the query failed.
"""

import argparse
import inspect
import json
import sys
from pathlib import Path

from pyspark.sql import SparkSession

# The stop-file protocol and the end-offset reading are commit_job.py's (beside this file).
from commit_job import end_offsets, stop_once_end_is_reached


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", action="append", required=True)
    parser.add_argument("--group", action="append", required=True)
    parser.add_argument("--output-topic", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--batch-duration", default="5 seconds")
    parser.add_argument("--stop-file", type=Path, required=True)
    args = parser.parse_args(argv)
    if len(args.topic) != len(args.group):
        parser.error("give one --group per --topic")
    return args


def start_query(spark, args):
    streams = [spark.readStream.format("kafka")
               .option("kafka.bootstrap.servers", args.bootstrap)
               .option("subscribe", topic)
               .option("startingOffsets", "earliest")
               .option("kafka.consumer.commit.groupid", group)
               .load()
               .selectExpr("key", "value")
               for topic, group in zip(args.topic, args.group)]
    unioned = streams[0]
    for stream in streams[1:]:
        unioned = unioned.union(stream)
    writer = (unioned.writeStream.format("kafka")
              .queryName("realtime-job")
              .outputMode("update")
              .option("kafka.bootstrap.servers", args.bootstrap)
              .option("topic", args.output_topic)
              .option("checkpointLocation", args.checkpoint))
    return real_time(spark, writer, args.batch_duration).start()


def real_time(spark, writer, batch_duration: str):
    """PySpark 4.2+ has trigger(realTime=...); Spark 4.1 has real-time mode in its Scala API only, so
    the JVM's Trigger.RealTime is set on the writer's JVM side."""
    if "realTime" in inspect.signature(writer.trigger).parameters:
        return writer.trigger(realTime=batch_duration)
    jvm_trigger = spark._jvm.org.apache.spark.sql.streaming.Trigger.RealTime(batch_duration)
    writer._jwrite = writer._jwrite.trigger(jvm_trigger)
    return writer


def main(argv) -> int:
    args = parse_args(argv)
    spark = SparkSession.builder.appName("kafka-offset-committer realtime_job") \
        .config("spark.ui.enabled", "false").getOrCreate()
    try:
        query = start_query(spark, args)
        stop_once_end_is_reached(query, args.stop_file)
        for progress in query.recentProgress:
            print(f"realtime_job: batch {progress['batchId']}: {progress['numInputRows']} rows, "
                  f"end offsets {json.dumps(end_offsets(progress), sort_keys=True)}", flush=True)
        if query.exception() is not None:
            print(f"realtime_job: query failed: {query.exception()}", file=sys.stderr, flush=True)
            return 1
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
