#!/usr/bin/env python3
"""The Kafka steps of tests/e2e/demo.sh, through the harness's Java client (KAFKA_BOOTSTRAP):

    demo_kafka.py new-topic NAME PARTITIONS   creates NAME, or NAME-<suffix> if NAME exists; prints it
    demo_kafka.py feed SECONDS RATE TOPIC...  writes RATE records a second to each partition of each
                                              TOPIC, in small steps, for SECONDS seconds
"""

import os
import sys
import time
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


FEED_STEP_S = 0.5


def feed(bootstrap: str, seconds: float, rate: int, topics: list) -> None:
    """A steady stream: every half second, half a second's worth of records to every partition."""
    per_step = max(1, round(rate * FEED_STEP_S))
    written = 0
    started = time.monotonic()
    next_step = started
    while time.monotonic() - started < seconds:
        for topic in topics:
            written += per_step * len(kafka_harness.produce(bootstrap, topic, per_step))
        next_step += FEED_STEP_S
        time.sleep(max(0.0, next_step - time.monotonic()))
    print(f"demo: feed stopped after {time.monotonic() - started:.0f} s, {written} records written", flush=True)


def main(argv: list) -> int:
    bootstrap = os.environ["KAFKA_BOOTSTRAP"]
    command, args = argv[0], argv[1:]
    if command == "new-topic":
        print(new_topic(bootstrap, args[0], int(args[1])))
    elif command == "feed":
        feed(bootstrap, float(args[0]), int(args[1]), args[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
