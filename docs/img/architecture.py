#!/usr/bin/env python3
"""Draws docs/img/architecture.svg: the path from a Spark progress event to the broker, the JVM executor's path and
the status and metrics paths (docs/architecture.md explains each step). Standard library only; the SVG is written
by hand so that it is the same on every machine.

    python3 docs/img/architecture.py           rewrites the SVG
    python3 docs/img/architecture.py --check   fails if the SVG in the repository is not what this script draws
"""

import sys
from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).resolve().parent / "architecture.svg"
WIDTH, HEIGHT = 1220, 920
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
LINE = 15  # text line height

COMMIT = "#1f5fa8"  # the commit path through the helper process
JVM = "#c05a00"  # the JVM executor's path
STATUS = "#2e7d32"  # status and metrics
INK = "#222222"


class Drawing:
    def __init__(self):
        self.parts = []

    def region(self, x, y, w, h, label, fill, stroke, label_at_bottom=False):
        self.parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10" fill="{fill}" '
                          f'stroke="{stroke}" stroke-width="1.5"/>')
        self.text(x + 12, y + h - 10 if label_at_bottom else y + 20, [label], bold=True, size=13, color=stroke)

    def box(self, x, y, w, h, lines, stroke, fill="#ffffff"):
        """A component: the first line is its name (bold), the others what it does."""
        self.parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="5" fill="{fill}" '
                          f'stroke="{stroke}" stroke-width="1.5"/>')
        self.text(x + 10, y + 18, lines, bold_first=True)

    def text(self, x, y, lines, bold=False, bold_first=False, size=12, color=INK, anchor="start"):
        spans = []
        for index, line in enumerate(lines):
            weight = "bold" if bold or (bold_first and index == 0) else "normal"
            dy = 0 if index == 0 else LINE
            spans.append(f'<tspan x="{x}" dy="{dy}" font-weight="{weight}">{escape(line)}</tspan>')
        self.parts.append(f'<text x="{x}" y="{y}" font-family="{FONT}" font-size="{size}" fill="{color}" '
                          f'text-anchor="{anchor}">{"".join(spans)}</text>')

    def arrow(self, points, color, dashed=False, both=False):
        path = " ".join(f"{x},{y}" for x, y in points)
        dash = ' stroke-dasharray="6,4"' if dashed else ""
        start = f' marker-start="url(#start-{color[1:]})"' if both else ""
        # A white halo under each line keeps crossings legible.
        self.parts.append(f'<polyline points="{path}" fill="none" stroke="#ffffff" stroke-width="5"/>')
        self.parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}'
                          f'{start} marker-end="url(#end-{color[1:]})"/>')

    def label(self, x, y, lines, color, anchor="start"):
        self.text(x, y, lines, size=11, color=color, anchor=anchor)

    def svg(self) -> str:
        markers = []
        for color in (COMMIT, JVM, STATUS):
            name = color[1:]
            markers.append(f'<marker id="end-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
                           f'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
            markers.append(f'<marker id="start-{name}" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="8" '
                           f'markerHeight="8" orient="auto"><path d="M10,0 L0,5 L10,10 z" fill="{color}"/></marker>')
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
                f'viewBox="0 0 {WIDTH} {HEIGHT}">\n'
                f'<title>kafka-offset-committer: from a progress event to the broker</title>\n'
                f'<defs>{"".join(markers)}</defs>\n'
                f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>\n'
                + "\n".join(self.parts) + "\n</svg>\n")


def draw() -> str:
    d = Drawing()
    d.text(20, 26, ["kafka-offset-committer: from a progress event to the broker"], bold=True, size=16)

    # Processes and layers.
    d.region(20, 40, 790, 800, "Spark driver: one JVM process", "#f7f9fc", "#5b6b80")
    d.region(30, 66, 770, 330, "JVM: the listener (scala/spark) and the Java API (scala/core)", "#eef3fb", COMMIT)
    d.region(30, 406, 770, 424, "native engine: libkafka_offset_committer.so (Rust, loaded by JNI; no librdkafka)",
             "#eef3fb", COMMIT, label_at_bottom=True)
    d.region(840, 540, 360, 180, "helper process (one per cluster)", "#f4f0fa", "#6a4c93")
    d.region(840, 750, 360, 90, "Kafka cluster", "#fdf6ec", "#8a6d3b")

    # The commit path, numbered as docs/architecture.md numbers it.
    d.box(40, 95, 370, 50, ["1  Spark listener bus thread",
                            "onQueryStarted / onQueryProgress / onQueryTerminated"], COMMIT)
    d.box(40, 165, 370, 64, ["2  KafkaOffsetCommitterListener callback",
                             "snapshots the event and enqueues it, nothing else:",
                             "bounded queue, newest progress of a run wins"], COMMIT)
    d.box(40, 249, 370, 64, ["3  worker thread kafka-offset-committer",
                             "CommitPlan pairs each Kafka source with its entry;",
                             "RunCommits: OffsetCommitter.commitAsync per group"], COMMIT)
    d.box(40, 333, 370, 50, ["4  NativeBridge.commitOffsetsAsync (JNI)",
                             "typed offsets handed over; returns at once"], COMMIT)
    d.box(40, 430, 370, 64, ["5  engine: one cluster per client identity",
                             "(connection, security, engine settings); a mailbox",
                             "wakes its thread kafka-offset-committer[<bootstrap>]"], COMMIT)
    d.box(40, 510, 370, 64, ["6  group state machine (engine::group)",
                             "idle, in flight, backoff, parked; one request in",
                             "flight per group; newer offsets merged, latest wins"], COMMIT)
    d.box(40, 590, 370, 64, ["7  executor: helper::supervisor",
                             "starts, reaps and restarts the helper with backoff;",
                             "what it did not answer goes back to the worker"], COMMIT)
    d.box(860, 580, 320, 50, ["helper::server loop",
                              "one answer frame per request frame"], "#6a4c93")
    d.box(860, 648, 320, 56, ["9  librdkafka (admin.rs)",
                              "AlterConsumerGroupOffsets, private queue"], "#6a4c93")
    d.box(860, 775, 320, 56, ["10  the group's coordinator broker",
                              "offsets + metadata; read by lag tools"], "#8a6d3b")

    d.arrow([(225, 145), (225, 165)], COMMIT)
    d.arrow([(225, 229), (225, 249)], COMMIT)
    d.arrow([(225, 313), (225, 333)], COMMIT)
    d.arrow([(225, 383), (225, 430)], COMMIT)
    d.arrow([(225, 494), (225, 510)], COMMIT)
    d.arrow([(225, 574), (225, 590)], COMMIT)
    d.arrow([(410, 612), (860, 605)], COMMIT, both=True)
    d.label(590, 596, ["8  frames on the helper's stdin / stdout"], COMMIT, anchor="middle")
    d.label(590, 628, ["requests out, answers back (pipe)"], COMMIT, anchor="middle")
    d.arrow([(1020, 630), (1020, 648)], COMMIT)
    d.arrow([(1020, 704), (1020, 775)], COMMIT, both=True)
    d.label(1030, 728, ["Kafka protocol", "(TLS, SASL, OAUTHBEARER)"], COMMIT)

    # The JVM executor: logins only Kafka's Java client can make.
    d.box(440, 700, 340, 64, ["7b  executor: engine::jvm_executor",
                              "for logins only the JVM can make (Kerberos,",
                              "AWS_MSK_IAM, tokenauth): a request channel"], JVM)
    d.box(440, 333, 340, 50, ["NativeBridge (JNI)",
                              "nextCommitRequest, then answerCommit"], JVM)
    d.box(440, 241, 340, 60, ["JvmExecutor thread",
                              "kafka-offset-committer-jvm-executor[...]",
                              "Kafka's Admin.alterConsumerGroupOffsets"], JVM)
    d.arrow([(300, 654), (300, 732), (440, 732)], JVM)
    d.arrow([(760, 700), (760, 383)], JVM, both=True)
    d.arrow([(610, 333), (610, 301)], JVM, both=True)
    d.arrow([(780, 271), (822, 271), (822, 812), (860, 812)], JVM, both=True)
    d.label(828, 292, ["Kafka protocol", "(any JAAS login)"], JVM)

    # Status and metrics.
    d.box(440, 510, 280, 64, ["engine::status",
                              "per group: last commit, error, counters,",
                              "latency; helper pid, restarts, last exit"], STATUS)
    d.box(440, 95, 340, 50, ["KafkaOffsetCommitterStatus (Monitoring)",
                             "groups(), json(), flushCommits(timeout)"], STATUS)
    d.box(440, 165, 340, 64, ["CommitterMetrics (kafkaOffsetCommitter)",
                              "series of running queries, groups, partitions;",
                              "refreshed every 2 s (lag from the event itself)"], STATUS)
    d.arrow([(410, 542), (440, 542)], STATUS, dashed=True)
    d.arrow([(425, 520), (425, 120), (440, 120)], STATUS, dashed=True)
    d.label(432, 418, ["NativeBridge.status"], STATUS)
    d.arrow([(610, 145), (610, 165)], STATUS, dashed=True)
    d.box(860, 95, 320, 50, ["PySpark (the driver's Python process)",
                             "kafka_offset_committer.status / flush"], STATUS)
    d.box(860, 165, 320, 64, ["Spark metrics system sinks",
                              "PrometheusServlet, JMX, Graphite, CSV",
                              "(Grafana, alerts)"], STATUS)
    d.arrow([(780, 120), (860, 120)], STATUS, dashed=True)
    d.label(820, 112, ["py4j"], STATUS, anchor="middle")
    d.arrow([(780, 197), (860, 197)], STATUS, dashed=True)

    # Legend.
    y = 870
    for index, (color, dashed, text) in enumerate([
            (COMMIT, False, "commits through the helper process (native executor)"),
            (JVM, False, "commits through Kafka's Java client in the JVM (JVM executor)"),
            (STATUS, True, "status and metrics")]):
        x = (30, 420, 840)[index]
        d.arrow([(x, y), (x + 40, y)], color, dashed=dashed)
        d.text(x + 50, y + 4, [text], size=11)
    d.text(30, 900, ["Numbers follow docs/architecture.md. Threads are named as they appear in a thread dump."],
           size=11, color="#555555")
    return d.svg()


def main(argv) -> int:
    drawn = draw()
    if argv == ["--check"]:
        if not OUT.is_file() or OUT.read_text() != drawn:
            print(f"{OUT} is not what {Path(__file__).name} draws: run python3 docs/img/architecture.py",
                  file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    OUT.write_text(drawn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
