import io.kafkaoffsetcommitter.CommitResult;
import io.kafkaoffsetcommitter.GroupStatus;
import io.kafkaoffsetcommitter.OffsetCommitter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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

    /** Where the scale loop's calls go: our committer, or the baseline's Java no-op. */
    interface ScaleSink {
        void commitAsync(String group, Map<String, Map<Integer, Long>> offsets, String metadata);
    }

    /** What the scale loop does once a second, after the second's calls and the wait for its end. */
    interface EverySecond {
        void after(int second) throws Exception;
    }

    /** The caller's time of each second's calls, and the loop's whole time. */
    record ScaleLoop(long[] submitNanos, long elapsedNanos) {}

    /**
     * The loop both scale modes run: each second the offsets map built anew, {@code groups} calls with it, then
     * the wait for the second's end and {@code everySecond}. Shared, so the baseline's JVM does what the
     * committer's does, but for the committer.
     */
    private static ScaleLoop scaleLoop(
            String topic, int groups, int partitions, int seconds, ScaleSink sink, EverySecond everySecond)
            throws Exception {
        long pid = ProcessHandle.current().pid();
        long[] submitNanos = new long[seconds];
        long start = System.nanoTime();
        for (int second = 1; second <= seconds; second++) {
            Map<String, Map<Integer, Long>> offsets = KafkaSide.typed(topic, partitions, second);
            long submit = System.nanoTime();
            for (int group = 0; group < groups; group++) {
                sink.commitAsync("bench-scale-" + pid + "-" + group, offsets, "bench");
            }
            submitNanos[second - 1] = System.nanoTime() - submit;
            long tick = start + second * 1_000_000_000L;
            long wait = tick - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
            }
            everySecond.after(second);
        }
        return new ScaleLoop(submitNanos, System.nanoTime() - start);
    }

    /** This JVM's native threads and resident kB, read the same way every second by both scale modes. */
    private static long[] threadsAndRss(long pid) throws Exception {
        return new long[] {status(pid, "Threads"), status(pid, "VmRSS")};
    }

    /**
     * Row 4: {@code groups} groups of {@code partitions} partitions each committed once per second for
     * {@code seconds} through the JVM API; per second the backlog, the confirmed and failed commits, both
     * processes' native threads and resident memory.
     */
    static void scale(String bootstrap, String topic, int groups, int partitions, int seconds) throws Exception {
        ProcessHandle self = ProcessHandle.current();
        long[] before = threadsAndRss(self.pid());
        try (OffsetCommitter committer = OffsetCommitter.create(Map.of("bootstrap.servers", bootstrap))) {
            // The helper starts with the first commit.
            long[] helper = {-1};
            long[] jvmRssAfterFirstSecond = {0};
            long[] previous = {0, 0};
            long[] backlogs = {-1, 0, 0}; // after the first second, max, after the last second
            ScaleLoop loop = scaleLoop(topic, groups, partitions, seconds, committer::commitAsync, second -> {
                if (helper[0] < 0) {
                    helper[0] = helperPid(self).orElseThrow(() -> new IllegalStateException("no helper process"));
                }
                long[] totals = totals(committer.status());
                long backlog = totals[2];
                if (second == 1) {
                    backlogs[0] = backlog;
                }
                backlogs[1] = Math.max(backlogs[1], backlog);
                backlogs[2] = backlog;
                long[] jvm = threadsAndRss(self.pid());
                if (second == 1) {
                    jvmRssAfterFirstSecond[0] = jvm[1];
                }
                System.out.printf(
                        "SERIES %d %d %d %d %d %d %d %d%n",
                        second,
                        backlog,
                        totals[0] - previous[0],
                        totals[1] - previous[1],
                        jvm[0],
                        status(helper[0], "Threads"),
                        (jvm[1] - before[1]) / 1024,
                        status(helper[0], "VmRSS") / 1024);
                System.arraycopy(totals, 0, previous, 0, 2);
            });
            long flushStart = System.nanoTime();
            boolean flushed = committer.flush(Duration.ofSeconds(60));
            long[] totals = totals(committer.status());
            long[] jvmAfter = threadsAndRss(self.pid());
            System.out.println("RESULT elapsed_ns " + loop.elapsedNanos());
            System.out.println("RESULT drain_ns " + (System.nanoTime() - flushStart));
            System.out.println("RESULT flushed " + (flushed ? 1 : 0));
            System.out.println("RESULT succeeded " + totals[0]);
            System.out.println("RESULT failed " + totals[1]);
            System.out.println("RESULT backlog_first " + backlogs[0]);
            System.out.println("RESULT backlog_max " + backlogs[1]);
            System.out.println("RESULT backlog_last " + backlogs[2]);
            System.out.println("RESULT submit_max_ns " + Samples.max(loop.submitNanos()));
            System.out.println("RESULT submit_median_ns " + Samples.median(loop.submitNanos()));
            System.out.println("RESULT jvm_rss_first_second_kb " + (jvmRssAfterFirstSecond[0] - before[1]));
            System.out.println("RESULT jvm_threads_before " + before[0]);
            System.out.println("RESULT jvm_threads_after " + jvmAfter[0]);
            System.out.println("RESULT helper_threads " + status(helper[0], "Threads"));
            System.out.println("RESULT jvm_rss_added_kb " + (jvmAfter[1] - before[1]));
            // The helper's whole RSS is ours. Its shared memory is the pages it maps of its executable's in-memory
            // copy (a memfd), whose whole size is memory held besides any RSS.
            System.out.println("RESULT helper_rss_kb " + status(helper[0], "VmRSS"));
            System.out.println("RESULT helper_rss_anon_kb " + status(helper[0], "RssAnon"));
            System.out.println("RESULT helper_rss_file_kb " + status(helper[0], "RssFile"));
            System.out.println("RESULT helper_rss_shmem_kb " + status(helper[0], "RssShmem"));
            System.out.println("RESULT helper_image_kb " + helperImageBytes() / 1024);
        }
    }

    /**
     * Row 4's baseline: the scale loop in a JVM started like the scale mode's, with its calls going to a Java
     * no-op instead of a committer, and nothing of ours loaded. Its RSS growth is the JVM's own over the same
     * work (JIT, class loading, GC, the maps built), which the scale mode's growth also holds.
     */
    static void scaleBaseline(String topic, int groups, int partitions, int seconds) throws Exception {
        ProcessHandle self = ProcessHandle.current();
        long[] before = threadsAndRss(self.pid());
        long[] jvmRssAfterFirstSecond = {0};
        NoOpSink sink = new NoOpSink();
        ScaleLoop loop = scaleLoop(topic, groups, partitions, seconds, sink, second -> {
            long[] jvm = threadsAndRss(self.pid());
            if (second == 1) {
                jvmRssAfterFirstSecond[0] = jvm[1];
            }
            System.out.printf("SERIES %d %d %d%n", second, jvm[0], (jvm[1] - before[1]) / 1024);
        });
        long[] jvmAfter = threadsAndRss(self.pid());
        if (helperPid(self).isPresent()
                || Files.readString(Path.of("/proc/self/maps")).contains("kafka_offset_committer")) {
            throw new IllegalStateException("the baseline JVM runs something of ours");
        }
        System.out.println("RESULT submit_median_ns " + Samples.median(loop.submitNanos()));
        System.out.println("RESULT sink_consumed " + sink.consumed);
        System.out.println("RESULT jvm_rss_first_second_kb " + (jvmRssAfterFirstSecond[0] - before[1]));
        System.out.println("RESULT jvm_threads_before " + before[0]);
        System.out.println("RESULT jvm_threads_after " + jvmAfter[0]);
        System.out.println("RESULT jvm_rss_added_kb " + (jvmAfter[1] - before[1]));
    }

    /** Takes every call's arguments into a sum printed at the end, so the JIT cannot drop the calls. */
    private static final class NoOpSink implements ScaleSink {
        long consumed;

        @Override
        public void commitAsync(String group, Map<String, Map<Integer, Long>> offsets, String metadata) {
            consumed += group.length() + offsets.size() + metadata.length();
        }
    }

    /** The size of the helper executable's in-memory copy (a memfd this JVM holds open), 0 if there is none. */
    private static long helperImageBytes() throws Exception {
        try (var descriptors = Files.list(Path.of("/proc/self/fd"))) {
            for (Path descriptor : (Iterable<Path>) descriptors::iterator) {
                try {
                    if (Files.readSymbolicLink(descriptor)
                            .toString()
                            .startsWith("/memfd:kafka-offset-committer-helper")) {
                        return Files.size(descriptor);
                    }
                } catch (NoSuchFileException closed) {
                    // A descriptor closed since the listing (the listing's own, for one): not the image.
                }
            }
        }
        return 0;
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
