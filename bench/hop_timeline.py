#!/usr/bin/env python3
"""Cuts each traced commit of bench/helper-hop.sh at its hand-offs and prints the medians.

    hop_timeline.py TRACE ROUND_TRIPS

TRACE is `perf trace -p JVM,HELPER` output; ROUND_TRIPS the bench JVM's "ROUND_TRIP_NS n" lines.
Per commit, in time order (thread names as the kernel keeps them, 15 bytes):
  written  a JVM thread wrote the frame into the helper's stdin pipe (the core's worker; before the
           change that removed it, the helper-writer thread)
  read     the helper got it (its main thread koc-helper; before, its read-commands thread)
  sent     a librdkafka broker thread (rdk:broker*) sent the request to the broker (sendmsg)
  received the broker thread's last recvmsg of the answer
  answered the helper's main thread (koc-helper) wrote the answer frame
  back     the JVM's helper-reader thread got it
The JVM's own share (caller → core worker (→ writer thread), reader thread → worker → caller) is the measured
round trip less written → back: futexes are not traced, since tracing them costs more than the hand-offs.
Standard library only.
"""

import re
import statistics
import sys

LINE = re.compile(
    r"^\s*(?P<start>[\d.]+) \(\s*(?P<duration>[\d.]+) ms\): (?P<thread>.+?)/(?P<tid>\d+)\s+"
    r"(?:\.\.\. \[continued\]: (?P<continued>\w+)\(\)\)|(?P<call>\w+)\((?P<args>.*)\))\s+= (?P<ret>-?\d+)")


def events(path):
    """Finished system calls as (exit time ms, thread, tid, call, args, return value), in exit order."""
    finished = []
    with open(path, errors="replace") as trace:
        for line in trace:
            match = LINE.match(line)
            if not match:
                continue
            call = match["continued"] or match["call"]
            exit_ms = float(match["start"]) + float(match["duration"])
            finished.append((exit_ms, match["thread"], int(match["tid"]), call, match["args"] or "",
                             int(match["ret"])))
    finished.sort(key=lambda event: event[0])
    return finished


def first_after(evs, index, predicate):
    for position in range(index, len(evs)):
        if predicate(evs[position]):
            return position
    return None


def commits(evs):
    """One dict of moments per commit whose every hand-off was seen."""
    cut = []
    for index, event in enumerate(evs):
        exit_ms, thread, tid, call, args, ret = event
        if not (thread.startswith("kafka-offset-c") and call == "write" and ret > 0):
            continue
        moments = {"written": exit_ms}
        steps = [
            ("read", lambda e: e[1].startswith(("read-commands", "koc-helper")) and e[3] == "read" and e[5] > 0),
            ("sent", lambda e: e[1].startswith("rdk:broker") and e[3] == "sendmsg" and e[5] > 0),
            ("received", lambda e: e[1].startswith("rdk:broker") and e[3] == "recvmsg" and e[5] > 0),
        ]
        position = index
        complete = True
        for name, predicate in steps:
            position = first_after(evs, position + 1, predicate)
            if position is None:
                complete = False
                break
            moments[name] = evs[position][0]
        if not complete:
            continue
        # The answer may come in several recvmsg calls: the last one before the helper writes.
        answered = first_after(evs, position + 1, lambda e: e[1].startswith("koc-helper") and e[3] == "write")
        if answered is None:
            continue
        for later in range(position + 1, answered):
            if evs[later][1].startswith("rdk:broker") and evs[later][3] == "recvmsg" and evs[later][5] > 0:
                moments["received"] = evs[later][0]
        moments["answered"] = evs[answered][0]
        back = first_after(evs, answered + 1,
                           lambda e: e[1].startswith("kafka-offset-c") and e[3] == "read" and e[5] > 0)
        if back is None:
            continue
        moments["back"] = evs[back][0]
        cut.append(moments)
    return cut


SEGMENTS = [
    ("pipe → the helper's reading thread", "written", "read"),
    ("helper: read → (main →) librdkafka rdk:main → rdk:broker sendmsg", "read", "sent"),
    ("broker (loopback, request sent → answer read)", "sent", "received"),
    ("helper: rdk:broker → rdk:main → result queue → main → pipe write", "received", "answered"),
    ("pipe → JVM reader thread", "answered", "back"),
]


def main():
    trace, round_trips = sys.argv[1], sys.argv[2]
    cut = commits(events(trace))
    if not cut:
        sys.exit("no complete commit found in the trace")
    print(f"{len(cut)} traced commits; medians (ms, perf trace adds a few µs per system call):")
    print("| segment | median | p90 |")
    print("|---|---|---|")
    for name, start, end in SEGMENTS:
        values = sorted(moments[end] - moments[start] for moments in cut)
        print(f"| {name} | {statistics.median(values):.3f} | {values[int(0.9 * (len(values) - 1))]:.3f} |")
    helper = sorted(m["sent"] - m["written"] + m["answered"] - m["received"] for m in cut)
    through = sorted(m["back"] - m["written"] for m in cut)
    print(f"| JVM writes the frame → JVM reads the answer | {statistics.median(through):.3f} | "
          f"{through[int(0.9 * (len(through) - 1))]:.3f} |")
    with open(round_trips) as lines:
        kinds = [line.split() for line in lines]
    measured = sorted(int(value) / 1e6 for kind, value in kinds if kind == "ROUND_TRIP_NS")
    untraced = sorted(int(value) / 1e6 for kind, value in kinds if kind == "UNTRACED_NS")
    if untraced:
        print(f"| commitSync round trip measured in the JVM, untraced (before the tracer attached) | "
              f"{statistics.median(untraced):.3f} | {untraced[int(0.9 * (len(untraced) - 1))]:.3f} |")
    if measured:
        print(f"| commitSync round trip measured in the JVM (traced) | {statistics.median(measured):.3f} | "
              f"{measured[int(0.9 * (len(measured) - 1))]:.3f} |")
        print(f"| the JVM's share: measured median less the median above | "
              f"{statistics.median(measured) - statistics.median(through):.3f} | |")

if __name__ == "__main__":
    main()
