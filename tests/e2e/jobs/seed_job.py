"""A streaming job without the offset committer (a query that ran before the listener was installed),
for the checkpoint-seeding test. It reads a Kafka topic into foreachBatch.

    seed_job.py --bootstrap HOST:PORT --topic T --checkpoint DIR --trigger processing-time --crash-at-batch N
    seed_job.py --bootstrap HOST:PORT --topic T --checkpoint DIR --trigger available-now

--crash-at-batch N  the driver dies (exit 3) inside batch N, after Spark wrote the batch into the
                    offset log and before its commit-log entry: the batch is planned, not committed.
"""

import argparse
import os
import sys

from pyspark.sql import SparkSession

CRASH_EXIT_CODE = 3


def main(argv) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--trigger", choices=["available-now", "processing-time"], required=True)
    parser.add_argument("--crash-at-batch", type=int)
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("kafka-offset-committer seed_job") \
        .config("spark.ui.enabled", "false").getOrCreate()

    def each_batch(frame, batch_id):
        if batch_id == args.crash_at_batch:
            print(f"seed_job: dying inside batch {batch_id}", flush=True)
            os._exit(CRASH_EXIT_CODE)
        print(f"seed_job: batch {batch_id}: {frame.count()} rows", flush=True)

    writer = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", args.bootstrap)
              .option("subscribe", args.topic)
              .option("startingOffsets", "earliest")
              .load().writeStream.foreachBatch(each_batch)
              .option("checkpointLocation", args.checkpoint))
    if args.trigger == "available-now":
        writer.trigger(availableNow=True).start().awaitTermination()
    else:
        writer.trigger(processingTime="1 second").start().awaitTermination()
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
