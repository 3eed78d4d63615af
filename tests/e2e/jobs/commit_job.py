"""A Structured Streaming job that reads a Kafka topic, run through spark-submit by the end-to-end
tests and by `make demo`. It knows nothing of the offset committer: the listener comes from
spark-submit's --jars and --conf, as in a user's job. Its only tie to the committer is the source
option naming the consumer group.

    commit_job.py --bootstrap HOST:PORT --topic T --group G --checkpoint DIR
                  [--trigger available-now | --trigger processing-time --stop-file PATH]
                  [--max-offsets-per-trigger N] [--end-without-stop]

available-now   reads what the topic holds when the query starts, then exits.
processing-time runs a batch every second until PATH exists and holds the offsets to reach, as
                Spark's end-offset JSON ({"topic": {"0": 200, ...}}); it stops the query once a
                batch has ended there, so the last batch of a query that is stopped is the one
                that reached the end.

--end-without-stop  returns from the script without spark.stop() (and, for processing-time, without
                    stopping the query once the end is reached: the job just leaves it running), so
                    Spark's shutdown hooks stop everything at JVM exit.

Prints one line per batch that read rows, then exits non-zero if the query failed.
"""

import argparse
import ast
import json
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

STOP_FILE_POLL_S = 0.5


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True, help="the consumer group the listener commits to")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--trigger", choices=["available-now", "processing-time"], default="available-now")
    parser.add_argument("--stop-file", type=Path, help="processing-time: where the end to reach appears")
    parser.add_argument("--max-offsets-per-trigger", type=int,
                        help="caps a batch, so that the topic is read in several batches")
    parser.add_argument("--end-without-stop", action="store_true",
                        help="leave without spark.stop() (and without stopping a processing-time query)")
    args = parser.parse_args(argv)
    if args.trigger == "processing-time" and args.stop_file is None:
        parser.error("--trigger processing-time needs --stop-file")
    return args


def start_query(spark, args):
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", args.bootstrap)
              .option("subscribe", args.topic)
              .option("startingOffsets", "earliest")
              .option("kafka.consumer.commit.groupid", args.group))
    if args.max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", args.max_offsets_per_trigger)
    writer = (reader.load().writeStream.format("noop")
              .queryName(f"commit-job-{args.topic}")
              .option("checkpointLocation", args.checkpoint))
    if args.trigger == "available-now":
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime="1 second")
    return writer.start()


def parsed(offsets) -> dict:
    """A source's end offsets as a dict. PySpark 3.5 hands them over parsed, PySpark 4.2+ as JSON
    text, and PySpark 4.0 and 4.1 as str() of the parsed dict, which only Python's own literal syntax
    reads back."""
    if not isinstance(offsets, str):
        return offsets
    try:
        return json.loads(offsets)
    except json.JSONDecodeError:
        return ast.literal_eval(offsets)


def end_offsets(progress) -> dict:
    """Every Kafka source's end offsets in a progress entry, in one dict: {"topic": {"0": 200, ...}, ...}."""
    merged = {}
    for source in progress["sources"]:
        if source["endOffset"] is not None:
            merged.update(parsed(source["endOffset"]))
    return merged


def stop_once_end_is_reached(query, stop_file: Path, stop: bool = True) -> None:
    """Waits for the stop file, then for a batch ending at the offsets it names, then stops the
    query (or, with stop=False, just returns and leaves it running)."""
    while query.isActive:
        progress = query.lastProgress
        if stop_file.is_file() and progress and progress["sources"]:
            if end_offsets(progress) == json.loads(stop_file.read_text()):
                if stop:
                    query.stop()
                return
        time.sleep(STOP_FILE_POLL_S)


def print_batches(query) -> None:
    for progress in query.recentProgress:
        if progress["numInputRows"] > 0:
            print(f"commit_job: batch {progress['batchId']}: {progress['numInputRows']} rows, "
                  f"end offsets {json.dumps(end_offsets(progress), sort_keys=True)}", flush=True)


def main(argv) -> int:
    args = parse_args(argv)
    # No web UI: nobody looks at it, and concurrent test runs would compete for its port.
    spark = SparkSession.builder.appName("kafka-offset-committer commit_job") \
        .config("spark.ui.enabled", "false").getOrCreate()
    try:
        query = start_query(spark, args)
        if args.trigger == "available-now":
            query.awaitTermination()
        else:
            stop_once_end_is_reached(query, args.stop_file, stop=not args.end_without_stop)
        # When the listener's termination flush began: the fault tests time the driver's exit from here.
        print(f"commit_job: query ended at epoch {time.time():.3f}", flush=True)
        print_batches(query)
        if query.exception() is not None:
            print(f"commit_job: query failed: {query.exception()}", file=sys.stderr, flush=True)
            return 1
        return 0
    finally:
        if args.end_without_stop:
            print("commit_job: leaving without spark.stop()", flush=True)
        else:
            spark.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
