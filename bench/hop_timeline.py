#!/usr/bin/env python3
"""Cuts each traced commit of bench/helper-hop.sh at its hand-offs and prints the medians.

    hop_timeline.py TRACE ROUND_TRIPS JVM_PID HELPER_PID

TRACE is `perf trace -p JVM,HELPER` output; ROUND_TRIPS the bench JVM's "ROUND_TRIP_NS n" lines.
Per commit, in time order (thread names as the kernel keeps them, 15 bytes):
  call     the caller's (JVM main thread) last futex wake before the frame is written: the core woke its worker
  written  the JVM's helper-writer thread wrote the frame into the helper's stdin pipe
  read     the helper's read-commands thread got it
  sent     a librdkafka broker thread (rdk:broker*) sent the request to the broker (sendmsg)
  received the broker thread's last recvmsg of the answer
  answered the helper's main thread (koc-helper) wrote the answer frame
  back     the JVM's helper-reader thread got it
  woken    the caller's wait ended
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


def commits(evs, jvm_pid):
    """One dict of moments per commit whose every hand-off was seen."""
    cut = []
    for index, event in enumerate(evs):
        exit_ms, thread, tid, call, args, ret = event
        if not (thread.startswith("kafka-offset-c") and call == "write" and ret > 0):
            continue
        moments = {"written": exit_ms}
        call_index = None
        for back in range(index - 1, max(index - 200, -1), -1):
            b = evs[back]
            if b[2] == jvm_pid and b[3] == "futex" and "WAKE" in b[4]:
                call_index = back
                break
        if call_index is None:
            continue
        moments["call"] = evs[call_index][0]
        steps = [
            ("read", lambda e: e[1].startswith("read-commands") and e[3] == "read" and e[5] > 0),
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
        woken = first_after(evs, back + 1, lambda e: e[2] == jvm_pid and e[3] == "futex")
        if woken is None:
            continue
        moments["woken"] = evs[woken][0]
        cut.append(moments)
    return cut


SEGMENTS = [
    ("JVM: caller → core worker → writer thread → pipe write", "call", "written"),
    ("pipe → helper read-commands thread", "written", "read"),
    ("helper: read-commands → main → librdkafka rdk:main → rdk:broker sendmsg", "read", "sent"),
    ("broker (loopback, request sent → answer read)", "sent", "received"),
    ("helper: rdk:broker → rdk:main → result queue → main → pipe write", "received", "answered"),
    ("pipe → JVM reader thread", "answered", "back"),
    ("JVM: reader → core worker → caller woken", "back", "woken"),
]


def main():
    trace, round_trips, jvm_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cut = commits(events(trace), jvm_pid)
    if not cut:
        sys.exit("no complete commit found in the trace")
    print(f"{len(cut)} traced commits; medians (ms, perf trace adds a few µs per system call):")
    print("| segment | median | p90 |")
    print("|---|---|---|")
    for name, start, end in SEGMENTS:
        values = sorted(moments[end] - moments[start] for moments in cut)
        print(f"| {name} | {statistics.median(values):.3f} | {values[int(0.9 * (len(values) - 1))]:.3f} |")
    helper = sorted(m["sent"] - m["written"] + m["answered"] - m["received"] for m in cut)
    total = sorted(m["woken"] - m["call"] for m in cut)
    print(f"| helper hop in all (pipe write → sendmsg, last recvmsg → answer write) | "
          f"{statistics.median(helper):.3f} | {helper[int(0.9 * (len(helper) - 1))]:.3f} |")
    print(f"| call → woken, from the trace | {statistics.median(total):.3f} | {total[int(0.9 * (len(total) - 1))]:.3f} |")
    with open(round_trips) as lines:
        measured = sorted(int(line.split()[1]) / 1e6 for line in lines if line.startswith("ROUND_TRIP_NS"))
    if measured:
        print(f"| commitSync round trip measured in the JVM (traced) | {statistics.median(measured):.3f} | "
              f"{measured[int(0.9 * (len(measured) - 1))]:.3f} |")


if __name__ == "__main__":
    main()
