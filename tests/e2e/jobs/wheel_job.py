"""A PySpark job as a notebook user writes it after `pip install kafka_offset_committer-<v>-py3-none-any.whl`:
plain `python`, no spark-submit, the listener added by kafka_offset_committer.configure(builder) alone. The builder
already holds the Kafka connector's jars in spark.jars, which configure() must keep. The job reads a topic until
all of it is processed, flushes, and prints one line for the test (tests/e2e/test_wheel.py):

    wheel_job: {"module": ..., "jar_path": ..., "spark_jars": ..., "listeners": ..., "flushed": ..., "status": [...]}

    wheel_job.py --bootstrap HOST:PORT --topic T --group G --checkpoint DIR --connector-jars A.jar,B.jar
"""

import argparse
import json
import sys

from pyspark.sql import SparkSession

import kafka_offset_committer

FLUSH_TIMEOUT_S = 60


def main(argv) -> int:
    parser = argparse.ArgumentParser()
    for option in ("--bootstrap", "--topic", "--group", "--checkpoint", "--connector-jars"):
        parser.add_argument(option, required=True)
    args = parser.parse_args(argv)

    builder = (SparkSession.builder.master("local[2]").appName("kafka-offset-committer wheel_job")
               .config("spark.ui.enabled", "false")
               .config("spark.jars", args.connector_jars))
    spark = kafka_offset_committer.configure(builder).getOrCreate()
    conf = spark.sparkContext.getConf()

    query = (spark.readStream.format("kafka")
             .option("kafka.bootstrap.servers", args.bootstrap)
             .option("subscribe", args.topic)
             .option("startingOffsets", "earliest")
             .option("kafka.consumer.commit.groupid", args.group)
             .load()
             .writeStream.format("noop")
             .option("checkpointLocation", args.checkpoint)
             .trigger(processingTime="1 second")
             .start())
    query.processAllAvailable()
    flushed = kafka_offset_committer.flush(spark, FLUSH_TIMEOUT_S)
    groups = kafka_offset_committer.status(spark)
    report = {
        "module": kafka_offset_committer.__file__,
        "jar_path": kafka_offset_committer.jar_path(),
        "spark_jars": conf.get("spark.jars"),
        "listeners": conf.get("spark.sql.streaming.streamingQueryListeners"),
        "flushed": flushed,
        "status": [{"group": group.group, "last_attempt_failed": group.last_attempt_failed, "parked": group.parked,
                    "last_error_kind": group.last_error_kind,
                    "last_committed_offsets": {topic: {str(partition): offset for partition, offset in offsets.items()}
                                               for topic, offsets in group.last_committed_offsets.items()}}
                   for group in groups],
    }
    print("wheel_job: " + json.dumps(report), flush=True)
    query.stop()
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
