#!/usr/bin/env python3
"""A stand-in for kafka-offset-committer-helper that speaks its frame protocol (4-byte big-endian
length, then JSON as serde tags Rust enums) and, in its first generation only, misbehaves as its
cluster's bootstrap string says, so that the tests in rust/tests/fake_helper.rs can drive the
supervisor and the engine's worker through each fault at the process boundary without a broker:

  ok.*              answers every commit
  garbage.*         on the first commit writes a frame whose body is not JSON, then lives on
  oversized.*       on the first commit writes a length beyond the protocol's limit, then lives on
  cut.*             on the first commit writes half a frame, closes its stdout and lives on
  close-stdout.*    on the first commit closes its stdout and lives on (ignoring its stdin too)
  die-mid-answer.*  on the first commit writes half of its answer and kills itself (SIGKILL)
  hang.*            never answers, but keeps reading (only a watchdog ends it)
  crash-held.*      answers nothing; aborts once a commit for a group ending in `-last` arrives
  window.*          in every generation holds each commit unanswered until no frame came for 1 s,
                    then answers all it holds; every received line says how many it held then

Every later generation of a cluster answers every commit. The state directory holds, per cluster,
the count of helpers started (`<bootstrap>.generation`), the pid of each (`<bootstrap>.pids`) and
every commit received (`<bootstrap>.received`, one JSON object a line with its generation).
Standard library only; everything comes from the command line (the helper's environment is cleared).
"""

import argparse
import json
import os
import select
import signal
import struct
import sys
import time

HELPER_NAME = "kafka-offset-committer-helper"
# The parent refuses frames above 64 MiB: any length beyond that is a desync.
OVERSIZED_LENGTH = 0xFFFF_FFF0


def read_exactly(stream, count):
    data = b""
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(stream):
    header = read_exactly(stream, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    body = read_exactly(stream, length)
    if body is None:
        return None
    return json.loads(body)


def frame(message) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body


def answer(request) -> dict:
    partitions = [{"topic": topic, "partition": partition, "offset": offset, "failure": None}
                  for topic, partition, offset in request["offsets"]]
    return {"Response": {"request_id": request["request_id"], "request_failure": None,
                         "partitions": partitions, "client_error": None}}


def live_on_forever():
    """Keeps the process alive with its misbehaviour in place, until someone kills it."""
    while True:
        time.sleep(3600)


def append_line(path, text):
    with open(path, "a") as out:
        out.write(text + "\n")


def next_generation(state, cluster) -> int:
    counter = os.path.join(state, cluster + ".generation")
    try:
        with open(counter) as f:
            generation = int(f.read().strip()) + 1
    except FileNotFoundError:
        generation = 1
    with open(counter + ".draft", "w") as f:
        f.write(str(generation))
    os.replace(counter + ".draft", counter)
    append_line(os.path.join(state, cluster + ".pids"), str(os.getpid()))
    return generation


def misbehave(behaviour, out, request):
    """The first generation's fault, on its first commit; returns only for behaviours that go on reading."""
    if behaviour == "garbage":
        out.write(struct.pack(">I", 12) + b"not a frame!")
        out.flush()
        live_on_forever()
    if behaviour == "oversized":
        out.write(struct.pack(">I", OVERSIZED_LENGTH) + b"{")
        out.flush()
        live_on_forever()
    if behaviour == "cut":
        whole = frame(answer(request))
        out.write(whole[: len(whole) // 2])
        out.flush()
        os.close(1)
        live_on_forever()
    if behaviour == "close-stdout":
        os.close(1)
        live_on_forever()
    if behaviour == "die-mid-answer":
        whole = frame(answer(request))
        out.write(whole[: len(whole) // 2])
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--crate-version", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--version", action="store_true")
    options, _ = parser.parse_known_args()
    if options.version:
        print(f"{HELPER_NAME} {options.crate_version}")
        return 0

    # Unbuffered: `select` on the descriptor then tells whether a frame is waiting.
    stdin, out = sys.stdin.buffer.raw, sys.stdout.buffer
    opening = read_frame(stdin)
    if opening is None:
        return 0
    cluster = opening["Open"]["cluster_label"]
    behaviour = cluster.split(".", 1)[0]
    generation = next_generation(options.state_dir, cluster)
    misbehaving = generation == 1
    out.write(frame("Ready"))
    out.write(frame({"Log": f"INFO fake helper generation {generation} of {cluster}"}))
    out.flush()
    received = os.path.join(options.state_dir, cluster + ".received")
    held = []
    while True:
        if behaviour == "window" and held and not select.select([stdin], [], [], 1.0)[0]:
            for request in held:
                out.write(frame(answer(request)))
            out.flush()
            held = []
            continue
        command = read_frame(stdin)
        if command is None or command == "Close":
            return 0
        if not isinstance(command, dict) or "Commit" not in command:
            continue  # faults are for the real helper
        request = command["Commit"]
        append_line(received, json.dumps({"generation": generation, "group": request["group"],
                                          "offsets": request["offsets"], "held": len(held) + 1}))
        if behaviour == "window":
            held.append(request)
            continue
        if misbehaving and behaviour == "hang":
            continue
        if misbehaving and behaviour == "crash-held":
            if request["group"].endswith("-last"):
                os.abort()
            continue
        if misbehaving:
            misbehave(behaviour, out, request)
        out.write(frame(answer(request)))
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
