#!/usr/bin/env python3
"""The Kafka steps of tests/e2e/demo.sh, through the harness's Java client (KAFKA_BOOTSTRAP):

    demo_kafka.py new-topic NAME PARTITIONS   creates NAME, or NAME-<suffix> if NAME exists; prints it
    demo_kafka.py produce TOPIC N             writes N records to each partition
    demo_kafka.py report TOPIC GROUP          prints kafka-consumer-groups' view of GROUP, then its
                                              lag on TOPIC; exits 1 unless the lag is 0 everywhere
"""

import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for kafka_harness

import kafka_harness  # noqa: E402


def new_topic(bootstrap: str, name: str, partitions: int) -> str:
    try:
        kafka_harness.create_topic(bootstrap, name, partitions=partitions)
        return name
    except kafka_harness.HarnessError as e:
        if "TopicExistsException" not in str(e):
            raise
    # A broker kept from an earlier demo still holds that topic: start from an empty one.
    unique = f"{name}-{uuid.uuid4().hex[:8]}"
    kafka_harness.create_topic(bootstrap, unique, partitions=partitions)
    return unique


def report(bootstrap: str, topic: str, group: str) -> int:
    print(kafka_harness.describe_group_text(bootstrap, group).strip("\n"))
    log_end = kafka_harness.log_end_offsets(bootstrap, topic)
    committed = {partition: offset for (committed_topic, partition), offset
                 in kafka_harness.group_offsets(bootstrap, group).items() if committed_topic == topic}
    # A partition with no commit lags by its whole log.
    lag = {partition: end - committed.get(partition, 0) for partition, end in sorted(log_end.items())}
    if any(lag.values()):
        print(f"demo: group {group} lags on {topic}: {lag} (partition: records not committed)")
        return 1
    print(f"demo: group {group} lag 0 on all {len(lag)} partitions")
    return 0


def main(argv: list) -> int:
    bootstrap = os.environ["KAFKA_BOOTSTRAP"]
    command, args = argv[0], argv[1:]
    if command == "new-topic":
        print(new_topic(bootstrap, args[0], int(args[1])))
    elif command == "produce":
        kafka_harness.produce(bootstrap, args[0], int(args[1]))
    elif command == "report":
        return report(bootstrap, args[0], args[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
