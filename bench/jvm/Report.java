import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The markdown of one run. It replaces what lies between the BEGIN and END markers of the output file and keeps
 * the rest (the hand-written findings), so the command regenerates the table without losing the analysis.
 */
final class Report {
    static final String BEGIN = "<!-- make bench: generated from here -->";
    static final String END = "<!-- make bench: generated up to here -->";

    private final StringBuilder out = new StringBuilder();
    private final List<String> notes = new ArrayList<>();
    private final Path root = Path.of(System.getProperty("user.dir"));

    void header(int repeats, boolean smoke) throws Exception {
        out.append("Run of ")
                .append(JvmBench.today())
                .append(" on ")
                .append(Runtime.getRuntime().availableProcessors())
                .append(" cores (")
                .append(cpuModel())
                .append("), load average at the start ")
                .append(loadAverage())
                .append(", ")
                .append(repeats)
                .append(repeats == 1 ? " repeat" : " repeats")
                .append(" (each cell: the median over the repeats)")
                .append(smoke ? ", **smoke run: few samples, not a measurement**" : "")
                .append(". Broker: one local Kafka ")
                .append(System.getenv().getOrDefault("KAFKA_HARNESS_KAFKA_VERSION", "(version unknown)"))
                .append(" node (tests/with-broker.sh), loopback.\n\n");
    }

    void note(String line) {
        notes.add(line);
    }

    private static String cpuModel() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "unknown CPU";
    }

    private static String loadAverage() throws Exception {
        String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return fields[0] + " / " + fields[1] + " / " + fields[2];
    }

    private static String met(boolean met) {
        return met ? "met" : "**missed**";
    }

    private static String ratio(long numerator, long denominator) {
        double value = (double) numerator / denominator;
        return value < 0.001 ? String.format("1/%,.0f", 1 / value) : String.format("%.3g×", value);
    }

    private boolean listenerTableStarted;

    void listenerRow(String shape, Samples.Repeats older, Samples.Repeats reused, Samples.Repeats ours) {
        if (!listenerTableStarted) {
            listenerTableStarted = true;
            out.append("### 1. Listener-thread time per progress event\n\n")
                    .append("Real `QueryProgressEvent`s captured from local-mode queries in the bench JVM, replayed ")
                    .append("on one thread after warm-up: (a) the older listener's way (per source a new ")
                    .append("`KafkaConsumer`, `commitSync`, `close`), (b) one reused Java `Admin`, ")
                    .append("`alterConsumerGroupOffsets(...).all().get()` per source, (c) our ")
                    .append("`KafkaOffsetCommitterListener.onQueryProgress`. Target: (c) p99 ≤ 1/10,000 of (a) ")
                    .append("and ≤ 20 µs.\n\n")
                    .append("| query | (a) older way p50 / p99 / max | (b) reused Admin p50 / p99 / max ")
                    .append("| (c) ours p50 / p99 / max | (c)/(a) p99 | (c)/(b) p99 | target |\n")
                    .append("|---|---|---|---|---|---|---|\n");
        }
        out.append("| ")
                .append(shape)
                .append(" | ")
                .append(triple(older))
                .append(" | ")
                .append(triple(reused))
                .append(" | ")
                .append(triple(ours))
                .append(" | ")
                .append(ratio(ours.p99(), older.p99()))
                .append(" | ")
                .append(ratio(ours.p99(), reused.p99()))
                .append(" | ")
                .append(met(ours.p99() * 10_000 <= older.p99() && ours.p99() <= 20_000))
                .append(" |\n");
    }

    private static String triple(Samples.Repeats repeats) {
        return Samples.human(repeats.p50()) + " / " + Samples.human(repeats.p99()) + " / "
                + Samples.human(repeats.max());
    }

    void visibleRow(
            Samples.Repeats ours,
            Samples.Repeats api,
            Samples.Repeats handOff,
            Samples.Repeats admin,
            int[] missed,
            int samplesPerRepeat,
            long pollMedianNanos) {
        out.append("\n### 2. Event → offsets visible in the group\n\n")
                .append("From the call with a real progress event (8 partitions) to the moment an independent ")
                .append("reader sees the event's end offsets in the group: a Java `KafkaConsumer` of that group, ")
                .append("made and warmed before the timed events and never subscribed, calling ")
                .append("`committed(partitions)` in a loop (one OffsetFetch per poll). Its median time per poll in ")
                .append("this run, ")
                .append(Samples.human(pollMedianNanos))
                .append(", is the row's resolution: the moment the offsets became visible is known to within one"
                        + " poll. ")
                .append("Each repeat times the offsets of each committer becoming visible ")
                .append(samplesPerRepeat)
                .append(" times. Target: ours p99 ≤ 10 ms and never worse than the Java Admin. The middle row calls ")
                .append("`OffsetCommitter.commitAsync` with the event's end-offset JSON directly: the core ")
                .append("without the listener and its worker thread; the next makes the same call on one other ")
                .append("thread the event is handed to (a single-thread executor), as the listener hands it to its ")
                .append("worker: the difference between those two is the hand-off's wake-up alone.\n\n")
                .append("| committer | p50 | p99 | p99 of each repeat | never seen within 10 s | target |\n")
                .append("|---|---|---|---|---|---|\n");
        visibleLine(
                "ours: listener → worker thread → core → helper",
                ours,
                missed[0],
                met(ours.p99() <= 10_000_000 && ours.p99() <= admin.p99() && missed[0] == 0));
        visibleLine("ours: JVM API `commitAsync` → core → helper", api, missed[1], "");
        visibleLine("ours: hand-off to one thread → JVM API `commitAsync` → core → helper", handOff, missed[3], "");
        visibleLine("Java Admin, reused, same commit (not waited for)", admin, missed[2], "");
    }

    private void visibleLine(String name, Samples.Repeats row, int missed, String target) {
        out.append("| ")
                .append(name)
                .append(" | ")
                .append(Samples.human(row.p50()))
                .append(" | ")
                .append(Samples.human(row.p99()))
                .append(" | ")
                .append(row.p99Spread())
                .append(" | ")
                .append(missed)
                .append(" | ")
                .append(target)
                .append(" |\n");
    }

    void roundTripRows(Map<String, Samples.Repeats> rows, int[] errors) {
        out.append("\n### 3. Commit round trip (8 partitions, each commit waited for)\n\n")
                .append("Target: ours ≥ 1.0× the best alternative (ratio = best alternative p50 / ours p50).\n\n")
                .append("| committer | p50 | p99 | max | failed commits | ratio vs best alternative | target |\n")
                .append("|---|---|---|---|---|---|---|\n");
        List<String> names = new ArrayList<>(rows.keySet());
        long best =
                Math.min(rows.get(names.get(2)).p50(), rows.get(names.get(3)).p50());
        for (int i = 0; i < names.size(); i++) {
            Samples.Repeats row = rows.get(names.get(i));
            boolean ours = i < 2;
            out.append("| ")
                    .append(names.get(i))
                    .append(" | ")
                    .append(Samples.human(row.p50()))
                    .append(" | ")
                    .append(Samples.human(row.p99()))
                    .append(" | ")
                    .append(Samples.human(row.max()))
                    .append(" | ")
                    .append(i < 2 ? Integer.toString(errors[i]) : "0 (throws otherwise)")
                    .append(" | ")
                    .append(ours ? String.format("%.2f×", (double) best / row.p50()) : "")
                    .append(" | ")
                    .append(ours ? met(row.p50() <= best) : "")
                    .append(" |\n");
        }
    }

    void scaleRow(JvmBench.ChildOutput committed, JvmBench.ChildOutput baseline, int groups, int seconds) {
        Map<String, Long> result = committed.results();
        Map<String, Long> base = baseline.results();
        long succeeded = result.get("succeeded");
        long coreInJvmKb = result.get("jvm_rss_added_kb") - base.get("jvm_rss_added_kb");
        long addedKb = coreInJvmKb + result.get("helper_rss_kb");
        // No growth: the last second ends with no more pending than the first (a stall of the machine in
        // between shows in the max and the series, and is met only if it was caught up again).
        boolean sustained = result.get("backlog_last") <= result.get("backlog_first")
                && result.get("failed") == 0
                && result.get("flushed") == 1;
        out.append("\n### 4. Scale: ")
                .append(groups)
                .append(" groups × 64 partitions, each committed once per second for ")
                .append(seconds)
                .append(" s through the JVM API (`commitAsync`), a JVM of its own\n\n")
                .append("Targets: sustained with no backlog growth, threads constant, ≤ 32 MB RSS added in all. ")
                .append("RSS is measured side by side: just before, a baseline JVM started the same way runs the ")
                .append("same loop with its calls going to a Java no-op, nothing of ours loaded; the committer's ")
                .append("JVM grows by that JVM's own growth plus the core's, so the difference of the two is what ")
                .append("the core adds in the JVM, and the helper's whole RSS is added to it.\n\n")
                .append("| measure | value | target |\n|---|---|---|\n")
                .append(String.format(
                        "| confirmed group commits | %,d in %.1f s (%,.0f/s; %,d asked for: the core coalesces "
                                + "a group's newer offsets into one commit) | |\n",
                        succeeded,
                        result.get("elapsed_ns") / 1e9,
                        succeeded / (result.get("elapsed_ns") / 1e9),
                        (long) groups * seconds))
                .append("| failed commits | ")
                .append(result.get("failed"))
                .append(" | |\n")
                .append(String.format(
                        "| backlog (pending partitions): after the first second / max / after the last second / "
                                + "drained at the end in | %,d / %,d / %,d / %s | %s |\n",
                        result.get("backlog_first"),
                        result.get("backlog_max"),
                        result.get("backlog_last"),
                        Samples.human(result.get("drain_ns")),
                        met(sustained)))
                .append("| one second's ")
                .append(String.format("%,d", groups))
                .append(" `commitAsync` calls, caller side: median second / longest (baseline's no-op calls: median ")
                .append("second) | ")
                .append(Samples.human(result.get("submit_median_ns")))
                .append(" / ")
                .append(Samples.human(result.get("submit_max_ns")))
                .append(" (")
                .append(Samples.human(base.get("submit_median_ns")))
                .append(") | |\n")
                .append("| JVM native threads: before `create` / at the end (baseline JVM: at the start / at the end)"
                        + " | ")
                .append(result.get("jvm_threads_before"))
                .append(" / ")
                .append(result.get("jvm_threads_after"))
                .append(" (")
                .append(base.get("jvm_threads_before"))
                .append(" / ")
                .append(base.get("jvm_threads_after"))
                .append(") | |\n")
                .append("| helper native threads at the end (see the series below) | ")
                .append(result.get("helper_threads"))
                .append(" | |\n")
                .append(String.format(
                        "| JVM RSS growth since before `create`, after the first second / at the end | "
                                + "%.1f MB / %.1f MB | |\n",
                        result.get("jvm_rss_first_second_kb") / 1024.0, result.get("jvm_rss_added_kb") / 1024.0))
                .append(String.format(
                        "| baseline JVM's RSS growth (same loop, a Java no-op instead of the committer), after the "
                                + "first second / at the end | %.1f MB / %.1f MB | |\n",
                        base.get("jvm_rss_first_second_kb") / 1024.0, base.get("jvm_rss_added_kb") / 1024.0))
                .append(String.format(
                        "| RSS added by the core in the JVM (the difference at the end) | %.1f MB | |\n",
                        coreInJvmKb / 1024.0))
                .append(String.format(
                        "| helper RSS at the end: RssAnon + RssFile (shared libraries' pages, page cache) + "
                                + "RssShmem (the pages it maps of its executable's in-memory copy) "
                                + "| %.1f MB (%.1f + %.1f + %.1f MB) | |\n",
                        result.get("helper_rss_kb") / 1024.0,
                        result.get("helper_rss_anon_kb") / 1024.0,
                        result.get("helper_rss_file_kb") / 1024.0,
                        result.get("helper_rss_shmem_kb") / 1024.0))
                .append(String.format(
                        "| RSS added in all: core in the JVM + helper | %.1f MB + %.1f MB = %.1f MB | %s |\n",
                        coreInJvmKb / 1024.0,
                        result.get("helper_rss_kb") / 1024.0,
                        addedKb / 1024.0,
                        met(addedKb <= 32 * 1024)))
                .append(String.format(
                        "| not in the total: the helper executable's in-memory copy (a memfd the JVM holds; shared "
                                + "memory, not page cache that can be dropped; the helper's RssShmem is part of it) "
                                + "| %.1f MB | |\n",
                        result.get("helper_image_kb") / 1024.0))
                .append("\nPer 10 s: second, pending partitions, commits confirmed and failed in that second, ")
                .append("JVM threads, helper threads, JVM RSS added (MB), baseline JVM's RSS added (MB), ")
                .append("helper RSS (MB):\n\n```\n");
        Map<String, String> baselineRss = new HashMap<>();
        for (String line : baseline.series()) {
            String[] fields = line.split(" "); // second, threads, RSS added (MB)
            baselineRss.put(fields[0], fields[2]);
        }
        List<String> series = committed.series();
        for (int i = 0; i < series.size(); i++) {
            if (i == 0 || (i + 1) % 10 == 0 || i == series.size() - 1) {
                // second, pending, confirmed, failed, JVM threads, helper threads, JVM RSS added, helper RSS
                String[] fields = series.get(i).split(" ");
                out.append(String.join(" ", List.of(fields).subList(0, 7)))
                        .append(' ')
                        .append(baselineRss.getOrDefault(fields[0], "-"))
                        .append(' ')
                        .append(fields[7])
                        .append('\n');
            }
        }
        out.append("```\n");
    }

    void jniRows(Map<Integer, Samples.Repeats> rows) {
        out.append("\n### 5. Costs users see once\n\n")
                .append("JNI call overhead: the caller's time of `commitAsync(group, Map, metadata)` (conversion to ")
                .append("arrays, the JNI call, parsing and queueing in the core):\n\n")
                .append("| partitions | p50 | p99 | max |\n|---|---|---|---|\n");
        rows.forEach((partitions, row) -> out.append("| ")
                .append(partitions)
                .append(" | ")
                .append(Samples.human(row.p50()))
                .append(" | ")
                .append(Samples.human(row.p99()))
                .append(" | ")
                .append(Samples.human(row.max()))
                .append(" |\n"));
    }

    private String firstCommit = "";

    void firstCommitRow(List<Map<String, Long>> runs) {
        long[] create = runs.stream().mapToLong(run -> run.get("create_ns")).toArray();
        long[] commit =
                runs.stream().mapToLong(run -> run.get("first_commit_ns")).toArray();
        StringBuilder each = new StringBuilder();
        for (long value : commit) {
            each.append(each.length() == 0 ? "" : " / ").append(Samples.human(value));
        }
        firstCommit = "\nIn a fresh JVM: first `OffsetCommitter.create` (library load, helper install and start) "
                + Samples.human(Samples.median(create)) + "; from it to the first confirmed `commitSync` in all "
                + Samples.human(Samples.median(commit)) + " (each run: " + each + ").\n";
    }

    void sizes() throws Exception {
        out.append(firstCommit).append("\n| artifact | size |\n|---|---|\n");
        for (String file : List.of(
                "target/native/linux-x86_64/libkafka_offset_committer.so",
                "target/native/linux-x86_64/kafka-offset-committer-helper",
                "target/native/linux-x86_64/kafka-offset-committer",
                "scala/core/target/kafka-offset-committer-core-0.1.0.jar",
                "scala/spark/target/scala-2.13/kafka-offset-committer-spark_2.13-0.1.0.jar")) {
            Path path = root.resolve(file);
            out.append("| `")
                    .append(file)
                    .append("` | ")
                    .append(Files.exists(path) ? String.format("%.2f MB", Files.size(path) / 1048576.0) : "missing")
                    .append(" |\n");
        }
    }

    void write(Path file) throws Exception {
        for (String note : notes) {
            out.append("\nNote: ").append(note).append('\n');
        }
        String generated = BEGIN + "\n\n" + out + "\n" + END;
        String old = JvmBench.readIfExists(file);
        int begin = old.indexOf(BEGIN);
        int end = old.indexOf(END);
        String text = begin >= 0 && end > begin
                ? old.substring(0, begin) + generated + old.substring(end + END.length())
                : "# Benchmarks\n\n" + generated + "\n";
        Files.writeString(file, text);
        System.out.println(generated);
    }
}
