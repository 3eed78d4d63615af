"""A Structured Streaming job whose Kafka source logs in with a Kerberos keytab (GSSAPI), run through
spark-submit by tests/kerberos/spark_submit_keytab.py. It knows nothing of the offset committer: the
listener comes from spark-submit's --jars and --conf, and commits with the source's own settings.

    keytab_job.py --bootstrap HOST:PORT --topic T --group G --checkpoint DIR
                  --principal P --keytab PATH --service-name kafka

Reads what the topic holds (AvailableNow), then exits; non-zero if the query failed.
"""

import argparse
import sys

from pyspark.sql import SparkSession


def main(argv) -> int:
    parser = argparse.ArgumentParser()
    for name in ("bootstrap", "topic", "group", "checkpoint", "principal", "keytab", "service-name"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("kerberos-keytab-job").getOrCreate()
    query = (spark.readStream.format("kafka")
             .option("kafka.bootstrap.servers", args.bootstrap)
             .option("kafka.security.protocol", "SASL_PLAINTEXT")
             .option("kafka.sasl.mechanism", "GSSAPI")
             .option("kafka.sasl.kerberos.service.name", args.service_name)
             .option("kafka.sasl.jaas.config",
                     "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true"
                     f' keyTab="{args.keytab}" principal="{args.principal}";')
             .option("subscribe", args.topic)
             .option("startingOffsets", "earliest")
             .option("kafka.consumer.commit.groupid", args.group)
             .load().writeStream.format("noop")
             .queryName(f"keytab-job-{args.topic}")
             .option("checkpointLocation", args.checkpoint)
             .trigger(availableNow=True)
             .start())
    query.awaitTermination()
    failed = query.exception() is not None
    spark.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
