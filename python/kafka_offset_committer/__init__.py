"""The Kafka offset committer from PySpark: the listener jars, put on a session in one call, and its status.

    from pyspark.sql import SparkSession
    import kafka_offset_committer
    spark = kafka_offset_committer.configure(SparkSession.builder.appName("etl")).getOrCreate()
    kafka_offset_committer.jar_path()   # the listener jar, for spark-submit --jars

    for group in kafka_offset_committer.status(spark):
        print(group.query_name, group.group, group.last_committed_offsets, group.lag_at_batch_end)
    kafka_offset_committer.flush(spark, timeout=30)

configure() and jar_path() need the wheel's jars (build/wheel.sh); status() and flush() only a session whose driver
holds the listener jar, however it got there. Those two talk to the driver's JVM, where the listener (io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener)
runs: a classic SparkSession (pyspark, spark-submit, notebooks on the driver). A Spark Connect client has no
driver JVM to talk to; there both raise CommitterUnavailable saying so.

Results are dataclasses of plain Python values; nothing of py4j reaches the caller.
"""

import json
from dataclasses import dataclass
from typing import Dict, List, Optional

from .spark_conf import LISTENER_CLASS, ScalaVersionUnknown, configure, jar_path, spark_scala_version

__all__ = ["CommitterUnavailable", "GroupStatus", "LISTENER_CLASS", "ScalaVersionUnknown", "configure", "flush",
           "jar_path", "spark_scala_version", "status"]

_STATUS_CLASS = "io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterStatus"


class CommitterUnavailable(RuntimeError):
    """The driver's JVM cannot be reached, or it does not hold the listener's jar."""


@dataclass(frozen=True)
class GroupStatus:
    """One consumer group of one running query (the JVM's QueryGroupStatus)."""

    query_id: str
    run_id: str
    query_name: Optional[str]
    group: str
    bootstrap_servers: str
    helper_restarts: int
    commits_succeeded: int
    commits_failed: int
    last_attempt_failed: bool
    pending_partitions: int
    in_flight: bool
    parked: bool
    last_committed_batch_id: Optional[int]
    last_commit_epoch_millis: Optional[int]
    last_commit_latency_millis: Optional[int]
    last_commit_metadata: Optional[str]
    # topic -> partition -> next offset to read, as Kafka confirmed it
    last_committed_offsets: Dict[str, Dict[int, int]]
    last_error_kind: Optional[str]
    last_error_message: Optional[str]
    last_error_retriable: Optional[bool]
    # topic -> partition -> records behind at the end of the query's last batch (its progress event)
    lag_at_batch_end: Dict[str, Dict[int, int]]
    processed_rows_per_second: Optional[float]


def _offsets(by_topic: dict) -> Dict[str, Dict[int, int]]:
    return {topic: {int(partition): int(offset) for partition, offset in partitions.items()}
            for topic, partitions in by_topic.items()}


def _group(entry: dict) -> GroupStatus:
    return GroupStatus(
        query_id=entry["queryId"],
        run_id=entry["runId"],
        query_name=entry["queryName"],
        group=entry["group"],
        bootstrap_servers=entry["bootstrapServers"],
        helper_restarts=entry["helperRestarts"],
        commits_succeeded=entry["commitsSucceeded"],
        commits_failed=entry["commitsFailed"],
        last_attempt_failed=entry["lastAttemptFailed"],
        pending_partitions=entry["pendingPartitions"],
        in_flight=entry["inFlight"],
        parked=entry["parked"],
        last_committed_batch_id=entry["lastCommittedBatchId"],
        last_commit_epoch_millis=entry["lastCommitEpochMillis"],
        last_commit_latency_millis=entry["lastCommitLatencyMillis"],
        last_commit_metadata=entry["lastCommitMetadata"],
        last_committed_offsets=_offsets(entry["lastCommittedOffsets"]),
        last_error_kind=entry["lastErrorKind"],
        last_error_message=entry["lastErrorMessage"],
        last_error_retriable=entry["lastErrorRetriable"],
        lag_at_batch_end=_offsets(entry["lagAtBatchEnd"]),
        processed_rows_per_second=entry["processedRowsPerSecond"],
    )


def _call(spark, method: str, *args):
    """Calls a static method of KafkaOffsetCommitterStatus in the driver's JVM; py4j's errors become ours."""
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        raise CommitterUnavailable(
            "this SparkSession has no driver JVM to ask (a Spark Connect client?): the committer's status lives in "
            "the driver; read it there (KafkaOffsetCommitterStatus.json() from Scala or Java) or through the metrics "
            "source (docs/monitoring.md)")
    try:
        from py4j.protocol import Py4JError
    except ImportError as missing:  # a classic session always has py4j; say so rather than fail obscurely
        raise CommitterUnavailable(f"py4j is missing: {missing}") from None
    try:
        target = jvm
        for part in _STATUS_CLASS.split("."):
            target = getattr(target, part)
        return getattr(target, method)(*args)
    except (Py4JError, TypeError) as error:
        # TypeError: py4j names a missing class a JavaPackage, which cannot be called.
        raise CommitterUnavailable(
            f"cannot reach {_STATUS_CLASS} in the driver's JVM ({type(error).__name__}: {error}); is the listener's "
            f"jar on the driver's classpath (spark-submit --jars)?") from None


def status(spark) -> List[GroupStatus]:
    """Every group of every running query of the driver, with what Kafka confirmed and the last batch's lag."""
    document = json.loads(str(_call(spark, "json")))
    return [_group(entry) for entry in document["groups"]]


def flush(spark, timeout: float) -> bool:
    """Waits up to `timeout` seconds until the listeners handled every event so far and Kafka confirmed their
    commits. False on timeout or when a group's commits are refused (see its last_error_kind)."""
    return bool(_call(spark, "flushCommits", int(timeout * 1000)))
