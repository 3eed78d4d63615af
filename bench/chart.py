#!/usr/bin/env python3
"""Draws rows 1-3 of a `make bench` run as one PNG: p50 and p99 per committer, on log scales.

    chart.py BENCHMARKS_MD PNG

Reads the generated part of BENCHMARKS_MD (what bench/run.sh just wrote, between the `make bench` markers),
so the chart always shows the very numbers of the table beside it. Needs matplotlib (bench/run.sh runs this
from the venv it makes, .cache/venv-bench).
"""

import math
import re
import sys

import matplotlib

matplotlib.use("Agg")  # no display: the PNG is the only output
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

BEGIN = "<!-- make bench: generated from here -->"
END = "<!-- make bench: generated up to here -->"
UNITS = {"ns": 1e-3, "µs": 1.0, "ms": 1e3, "s": 1e6}
DURATION = re.compile(r"([\d.,]+)\s*(ns|µs|ms|s)\b")


def micros(text):
    """The first duration in a table cell, in µs."""
    match = DURATION.search(text)
    if not match:
        raise ValueError(f"no duration in {text!r}")
    return float(match[1].replace(",", "")) * UNITS[match[2]]


def sections(markdown):
    """The generated part's header line and its tables by section number: {n: [[cell, ...], ...]}."""
    begin, end = markdown.find(BEGIN), markdown.find(END)
    if begin < 0 or end < begin:
        sys.exit("no generated `make bench` part in the file")
    generated = markdown[begin + len(BEGIN):end]
    header = next((line for line in generated.splitlines() if line.startswith("Run of ")), "")
    tables, current = {}, None
    for line in generated.splitlines():
        heading = re.match(r"### (\d+)\.", line)
        if heading:
            current = int(heading[1])
            tables[current] = []
        elif current and line.startswith("| ") and not line.startswith("|---"):
            tables[current].append([cell.strip() for cell in line.strip().strip("|").split("|")])
    for number in (1, 2, 3):
        if len(tables.get(number, [])) < 2:
            sys.exit(f"table {number} of the run is missing")
    return header, {number: rows[1:] for number, rows in tables.items()}  # without the column names


def bars(axis, labels, p50, p99, title, unit_note):
    positions = range(len(labels))
    axis.barh([p - 0.2 for p in positions], p50, height=0.4, label="p50", color="#4c72b0")
    axis.barh([p + 0.2 for p in positions], p99, height=0.4, label="p99", color="#dd8452")
    axis.set_yticks(list(positions), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xscale("log")
    # Bars start at a whole decade below the shortest, so their lengths compare; room on the right for labels.
    axis.set_xlim(10 ** math.floor(math.log10(min(p50) * 0.99)), max(p99) * 8)
    axis.set_xlabel(f"µs, log scale{unit_note}")
    axis.set_title(title, fontsize=10, loc="left")
    axis.grid(axis="x", which="major", alpha=0.3)
    for position, (low, high) in enumerate(zip(p50, p99)):
        axis.annotate(f"{label_of(low)} / {label_of(high)}", (high, position + 0.2), xytext=(3, -3),
                      textcoords="offset points", fontsize=7)
    axis.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.0, 0.0))


def label_of(us):
    if us >= 1000:
        return f"{us / 1000:.3g} ms"
    return f"{us:.3g} µs"


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as file:
        header, tables = sections(file.read())
    figure, axes = plt.subplots(3, 1, figsize=(11, 13), gridspec_kw={"height_ratios": [9, 3, 4]})

    labels, p50, p99 = [], [], []
    for shape, older, reused, ours, *_ in tables[1]:
        for who, cell in (("(a) older way", older), ("(b) reused Admin", reused), ("(c) ours", ours)):
            low, high = cell.split(" / ")[:2]
            labels.append(f"{shape}: {who}")
            p50.append(micros(low))
            p99.append(micros(high))
    bars(axes[0], labels, p50, p99, "1. Listener-thread time per progress event (target: ours p99 ≤ 20 µs)", "")

    rows = tables[2]
    bars(axes[1], [row[0].replace("`", "") for row in rows], [micros(row[1]) for row in rows],
         [micros(row[2]) for row in rows], "2. Event → offsets visible in the group (target: ours p99 ≤ 10 ms)", "")

    rows = tables[3]
    bars(axes[2], [row[0] for row in rows], [micros(row[1]) for row in rows], [micros(row[2]) for row in rows],
         "3. Commit round trip, 8 partitions (target: ours ≥ 1.0× the best alternative)", "")

    run = re.match(r"Run of (.+?) on (\d+ cores)", header)
    smoke = " (smoke run: few samples, not a measurement)" if "smoke run" in header else ""
    title = "kafka-offset-committer `make bench`" + (f": {run[1]}, {run[2]}" if run else "") + smoke
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    figure.savefig(target, dpi=110)


if __name__ == "__main__":
    main()
