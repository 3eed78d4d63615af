"""A Structured Streaming job with two queries, run through spark-submit by
tests/kerberos/spark_submit_keytab.py: one whose Kafka source logs in with a Kerberos keytab (GSSAPI),
one whose Kafka source logs in with OAUTHBEARER through Kafka's own OAuthBearerLoginCallbackHandler
(OIDC client credentials at the tests' token endpoint). One job for both, so the Kerberos tier pays for
one spark-submit. It knows nothing of the offset committer: the listener comes from spark-submit's
--jars and --conf, and commits each query's group with its source's own settings.

    keytab_job.py --bootstrap HOST:PORT --checkpoint DIR
                  --topic T --group G --principal P --keytab PATH --service-name kafka
                  --oidc-topic T --oidc-group G --token-url URL --client-id ID --client-secret S

Reads what each topic holds (AvailableNow), then exits; non-zero if a query failed.
"""

import argparse
import sys

from pyspark.sql import SparkSession

OAUTH_LOGIN_HANDLER = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"


def start(spark, bootstrap: str, topic: str, group: str, checkpoint: str, name: str, login: dict):
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", bootstrap)
              .option("kafka.security.protocol", "SASL_PLAINTEXT"))
    for key, value in login.items():
        reader = reader.option(f"kafka.{key}", value)
    return (reader.option("subscribe", topic)
            .option("startingOffsets", "earliest")
            .option("kafka.consumer.commit.groupid", group)
            .load().writeStream.format("noop")
            .queryName(f"{name}-{topic}")
            .option("checkpointLocation", f"{checkpoint}/{name}")
            .trigger(availableNow=True)
            .start())


def main(argv) -> int:
    parser = argparse.ArgumentParser()
    for name in ("bootstrap", "checkpoint", "topic", "group", "principal", "keytab", "service-name",
                 "oidc-topic", "oidc-group", "token-url", "client-id", "client-secret"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("kerberos-keytab-and-oidc-job").getOrCreate()
    keytab = {
        "sasl.mechanism": "GSSAPI",
        "sasl.kerberos.service.name": args.service_name,
        "sasl.jaas.config": "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true"
                            f' keyTab="{args.keytab}" principal="{args.principal}";',
    }
    oidc = {
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.login.callback.handler.class": OAUTH_LOGIN_HANDLER,
        "sasl.oauthbearer.token.endpoint.url": args.token_url,
        "sasl.jaas.config": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required"
                            f' clientId="{args.client_id}" clientSecret="{args.client_secret}" scope="kafka";',
    }
    queries = [start(spark, args.bootstrap, args.topic, args.group, args.checkpoint, "keytab-job", keytab),
               start(spark, args.bootstrap, args.oidc_topic, args.oidc_group, args.checkpoint, "oidc-job", oidc)]
    for query in queries:
        query.awaitTermination()
    failed = [query.name for query in queries if query.exception() is not None]
    spark.stop()
    if failed:
        print(f"keytab_job: failed queries: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
