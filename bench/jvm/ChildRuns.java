import io.kafkaoffsetcommitter.CommitResult;
import io.kafkaoffsetcommitter.GroupStatus;
import io.kafkaoffsetcommitter.OffsetCommitter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The rows that need a JVM of their own: nothing of ours loaded before, or nothing else running beside. */
final class ChildRuns {
    private ChildRuns() {}

    /** Row 5: the first create (library load, helper install and start) to the first confirmed commit. */
    static void firstCommit(String bootstrap, String topic) {
        long start = System.nanoTime();
        try (OffsetCommitter committer = OffsetCommitter.create(Map.of("bootstrap.servers", bootstrap))) {
            long created = System.nanoTime();
            CommitResult result = committer.commitSync(
                    "bench-first-commit-" + ProcessHandle.current().pid(),
                    KafkaSide.typed(topic, 1, 1),
                    "bench",
                    Duration.ofSeconds(30));
            long committed = System.nanoTime();
            if (!result.allCommitted()) {
                throw new IllegalStateException("the first commit failed: " + result);
            }
            System.out.println("RESULT create_ns " + (created - start));
            System.out.println("RESULT first_commit_ns " + (committed - start));
        }
    }

    /**
     * Row 4: {@code groups} groups of {@code partitions} partitions each committed once per second for
     * {@code seconds} through the JVM API; per second the backlog, the confirmed and failed commits and both
     * processes' native threads.
     */
    static void scale(String bootstrap, String topic, int groups, int partitions, int seconds) throws Exception {
        ProcessHandle self = ProcessHandle.current();
        long jvmRssBefore = status(self.pid(), "VmRSS");
        long jvmThreadsBefore = status(self.pid(), "Threads");
        try (OffsetCommitter committer = OffsetCommitter.create(Map.of("bootstrap.servers", bootstrap))) {
            // The helper starts with the first commit.
            long helper = -1;
            long submitMaxNanos = 0;
            long[] submitNanos = new long[seconds];
            long jvmRssAfterFirstSecond = 0;
            long start = System.nanoTime();
            long[] previous = {0, 0};
            long firstSecondBacklog = -1;
            long maxBacklog = 0;
            long lastBacklog = 0;
            for (int second = 1; second <= seconds; second++) {
                Map<String, Map<Integer, Long>> offsets = KafkaSide.typed(topic, partitions, second);
                long submit = System.nanoTime();
                for (int group = 0; group < groups; group++) {
                    committer.commitAsync("bench-scale-" + self.pid() + "-" + group, offsets, "bench");
                }
                submitNanos[second - 1] = System.nanoTime() - submit;
                submitMaxNanos = Math.max(submitMaxNanos, submitNanos[second - 1]);
                long tick = start + second * 1_000_000_000L;
                long wait = tick - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
                }
                if (helper < 0) {
                    helper = helperPid(self).orElseThrow(() -> new IllegalStateException("no helper process"));
                }
                long[] totals = totals(committer.status());
                long backlog = totals[2];
                if (second == 1) {
                    firstSecondBacklog = backlog;
                }
                maxBacklog = Math.max(maxBacklog, backlog);
                lastBacklog = backlog;
                System.out.printf(
                        "BACKLOG %d %d %d %d %d %d %d %d%n",
                        second,
                        backlog,
                        totals[0] - previous[0],
                        totals[1] - previous[1],
                        status(self.pid(), "Threads"),
                        status(helper, "Threads"),
                        (status(self.pid(), "VmRSS") - jvmRssBefore) / 1024,
                        status(helper, "VmRSS") / 1024);
                if (second == 1) {
                    jvmRssAfterFirstSecond = status(self.pid(), "VmRSS");
                }
                previous = totals;
            }
            long ran = System.nanoTime() - start;
            long flushStart = System.nanoTime();
            boolean flushed = committer.flush(Duration.ofSeconds(60));
            long[] totals = totals(committer.status());
            System.out.println("RESULT elapsed_ns " + ran);
            System.out.println("RESULT drain_ns " + (System.nanoTime() - flushStart));
            System.out.println("RESULT flushed " + (flushed ? 1 : 0));
            System.out.println("RESULT succeeded " + totals[0]);
            System.out.println("RESULT failed " + totals[1]);
            System.out.println("RESULT backlog_first " + firstSecondBacklog);
            System.out.println("RESULT backlog_max " + maxBacklog);
            System.out.println("RESULT backlog_last " + lastBacklog);
            System.out.println("RESULT submit_max_ns " + submitMaxNanos);
            System.out.println("RESULT submit_median_ns " + Samples.median(submitNanos));
            System.out.println("RESULT jvm_rss_first_second_kb " + (jvmRssAfterFirstSecond - jvmRssBefore));
            System.out.println("RESULT jvm_threads_before " + jvmThreadsBefore);
            System.out.println("RESULT jvm_threads_after " + status(self.pid(), "Threads"));
            System.out.println("RESULT helper_threads " + status(helper, "Threads"));
            System.out.println("RESULT jvm_rss_added_kb " + (status(self.pid(), "VmRSS") - jvmRssBefore));
            System.out.println("RESULT helper_rss_kb " + status(helper, "VmRSS"));
        }
    }

    /** Confirmed commits, failed commits and pending partitions over every group. */
    private static long[] totals(List<GroupStatus> groups) {
        long[] totals = new long[3];
        for (GroupStatus group : groups) {
            totals[0] += group.commitsSucceeded();
            totals[1] += group.commitsFailed();
            totals[2] += group.pendingPartitions();
        }
        return totals;
    }

    /** The committer's helper: this JVM's child process running the helper executable. */
    private static Optional<Long> helperPid(ProcessHandle self) {
        return self.children()
                .filter(child -> child.info()
                        .command()
                        .map(command -> command.contains("kafka-offset-committer-helper"))
                        .orElse(false))
                .map(ProcessHandle::pid)
                .findFirst();
    }

    /**
     * For bench/helper-hop.sh: makes {@code commits} 8-partition commitSync calls 20 ms apart untraced, prints this
     * JVM's and the helper's pids, waits for a line on stdin (the tracer is attached then), then makes as many
     * again; prints each round trip.
     */
    static void hop(String bootstrap, int commits) throws Exception {
        ProcessHandle self = ProcessHandle.current();
        String topic = "bench-hop-" + self.pid();
        try (var admin = KafkaSide.admin(bootstrap)) {
            KafkaSide.createTopic(admin, topic, 8);
        }
        try (OffsetCommitter committer = OffsetCommitter.create(Map.of("bootstrap.servers", bootstrap))) {
            String group = "bench-hop-" + self.pid();
            for (int i = 1; i <= 50; i++) { // warm-up: JIT, coordinator known, connections up
                committer.commitSync(group, KafkaSide.typed(topic, 8, i), "bench", Duration.ofSeconds(30));
            }
            // The same commits untraced, to see what tracing adds.
            for (int i = 0; i < commits; i++) {
                long start = System.nanoTime();
                committer.commitSync(group, KafkaSide.typed(topic, 8, 100 + i), "bench", Duration.ofSeconds(30));
                System.out.println("UNTRACED_NS " + (System.nanoTime() - start));
                Thread.sleep(20);
            }
            long helper = helperPid(self).orElseThrow(() -> new IllegalStateException("no helper process"));
            System.out.println("PIDS " + self.pid() + " " + helper);
            System.out.flush();
            new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
            for (int i = 0; i < commits; i++) {
                long start = System.nanoTime();
                CommitResult result = committer.commitSync(
                        group, KafkaSide.typed(topic, 8, 100_000 + i), "bench", Duration.ofSeconds(30));
                long elapsed = System.nanoTime() - start;
                if (!result.allCommitted()) {
                    throw new IllegalStateException("a traced commit failed: " + result);
                }
                System.out.println("ROUND_TRIP_NS " + elapsed);
                Thread.sleep(20);
            }
        }
    }

    /** A number field of /proc/PID/status (Threads, VmRSS in kB). */
    static long status(long pid, String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status");
    }
}
