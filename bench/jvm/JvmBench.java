import io.kafkaoffsetcommitter.CommitResult;
import io.kafkaoffsetcommitter.EngineSettings;
import io.kafkaoffsetcommitter.OffsetCommitter;
import io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.spark.sql.streaming.StreamingQueryListener.QueryProgressEvent;

/**
 * `make bench`, the JVM rows: what users pay through the JVM, every alternative measured side by side in one run,
 * medians over repeats. Writes the markdown table to the file named by BENCH_OUT (docs/benchmarks.md).
 *
 * <p>Settings (environment): KAFKA_BOOTSTRAP (from tests/with-broker.sh), BENCH_REPEATS (3), BENCH_SCALE_SECONDS
 * (60), BENCH_SCALE_GROUPS (1000), BENCH_SMOKE=1 (every row with few samples, for a quick check of the code),
 * BENCH_CLASSPATH (this JVM's class path, for the child JVMs of the once-only and scale rows).
 */
public final class JvmBench {
    private static final Duration COMMIT_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration VISIBLE_LIMIT = Duration.ofSeconds(10);
    private static final int ROUND_TRIP_PARTITIONS = 8;
    /** Row 2's timed events per repeat: enough that its p99 is not simply the slowest one. */
    private static final int VISIBLE_SAMPLES = 200;

    private final String bootstrap = requiredEnv("KAFKA_BOOTSTRAP");
    private final boolean smoke = "1".equals(System.getenv("BENCH_SMOKE"));
    private final int repeats = intEnv("BENCH_REPEATS", smoke ? 1 : 3);
    private final int scaleSeconds = intEnv("BENCH_SCALE_SECONDS", smoke ? 5 : 60);
    private final int scaleGroups = intEnv("BENCH_SCALE_GROUPS", smoke ? 50 : 1000);
    /** BENCH_ONLY=visible: only row 2 (with the capture of events it needs), for working on it. */
    private final boolean onlyVisible = "visible".equals(System.getenv("BENCH_ONLY"));

    private final String nonce = Long.toString(System.currentTimeMillis(), 36);
    private final Report report = new Report();

    public static void main(String[] args) throws Exception {
        String mode = args.length == 0 ? "all" : args[0];
        switch (mode) {
            case "all" -> new JvmBench().run();
            case "first-commit" -> ChildRuns.firstCommit(args[1], args[2]);
            case "scale" ->
                ChildRuns.scale(
                        args[1],
                        args[2],
                        Integer.parseInt(args[3]),
                        Integer.parseInt(args[4]),
                        Integer.parseInt(args[5]));
            case "scale-baseline" ->
                ChildRuns.scaleBaseline(
                        args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
            case "hop" -> ChildRuns.hop(args[1], Integer.parseInt(args[2]));
            default -> throw new IllegalArgumentException("mode: all | first-commit | scale | scale-baseline | hop");
        }
        // Spark's and the committer's non-daemon threads must not keep a finished bench alive.
        System.exit(0);
    }

    private int count(int full) {
        return smoke ? Math.max(2, full / 50) : full;
    }

    private void run() throws Exception {
        report.header(repeats, smoke);
        try (Admin admin = KafkaSide.admin(bootstrap)) {
            String roundTripTopic = "bench-" + nonce + "-rt";
            String jniTopic = "bench-" + nonce + "-jni";
            String scaleTopic = "bench-" + nonce + "-scale";
            KafkaSide.createTopic(admin, roundTripTopic, ROUND_TRIP_PARTITIONS);
            KafkaSide.createTopic(admin, jniTopic, 1000);
            KafkaSide.createTopic(admin, scaleTopic, 64);

            // The broker's own once-only cost (creating __consumer_offsets at the first group look-up) is
            // paid here, not inside the first-commit row.
            admin.alterConsumerGroupOffsets(
                            "bench-" + nonce + "-broker-warm-up", KafkaSide.kafkaMap(roundTripTopic, 1, 1))
                    .all()
                    .get();
            // Fresh JVMs first: nothing of ours is loaded there yet.
            if (!onlyVisible) {
                firstCommitRows(roundTripTopic);
            }

            try (SparkRows spark = new SparkRows(bootstrap, nonce)) {
                spark.capture(admin);
                KafkaOffsetCommitterListener ours = spark.ourListener();
                if (!onlyVisible) {
                    listenerThreadRows(spark, admin, ours);
                }
                visibleRows(spark, admin, ours);
                if (!ours.flushCommits(COMMIT_TIMEOUT)) {
                    report.note("our listener did not confirm its commits within " + COMMIT_TIMEOUT);
                }
            }
            if (onlyVisible) {
                report.write(Path.of(System.getenv().getOrDefault("BENCH_OUT", "docs/benchmarks.md")));
                return;
            }
            roundTripRows(admin, roundTripTopic);
            scaleRows(scaleTopic);
            jniRows(jniTopic);
        }
        report.sizes();
        report.write(Path.of(System.getenv().getOrDefault("BENCH_OUT", "docs/benchmarks.md")));
    }

    // Row 1: the listener thread's time per progress event.
    private void listenerThreadRows(SparkRows spark, Admin admin, KafkaOffsetCommitterListener ours) throws Exception {
        for (SparkRows.Shape shape : SparkRows.SHAPES) {
            List<QueryProgressEvent> events = spark.events.get(shape.label());
            Samples.Repeats older = new Samples.Repeats();
            Samples.Repeats reused = new Samples.Repeats();
            Samples.Repeats ourRows = new Samples.Repeats();
            for (int repeat = 0; repeat < repeats; repeat++) {
                older.add(replay(
                        events, count(5), count(40), event -> SparkRows.olderListenerWay(bootstrap, event, "-older")));
                reused.add(
                        replay(events, count(50), count(300), event -> SparkRows.reusedAdmin(admin, event, "-admin")));
                ourRows.add(replay(events, count(20_000), count(20_000), ours::onQueryProgress));
            }
            report.listenerRow(shape.label(), older, reused, ourRows);
        }
    }

    interface EventHandler {
        void handle(QueryProgressEvent event) throws Exception;
    }

    /** Replays the events in turn on this thread, {@code warmUp} untimed, then {@code measured} timed. */
    private static Samples.Percentiles replay(
            List<QueryProgressEvent> events, int warmUp, int measured, EventHandler handler) throws Exception {
        for (int i = 0; i < warmUp; i++) {
            handler.handle(events.get(i % events.size()));
        }
        Samples samples = new Samples(measured);
        for (int i = 0; i < measured; i++) {
            QueryProgressEvent event = events.get(i % events.size());
            long start = System.nanoTime();
            handler.handle(event);
            samples.add(System.nanoTime() - start);
        }
        return samples.percentiles();
    }

    // Row 2: from the event to its offsets visible to an independent reader of the group.
    private void visibleRows(SparkRows spark, Admin writer, KafkaOffsetCommitterListener ours) throws Exception {
        List<QueryProgressEvent> events = spark.events.get("8 partitions");
        // Two events of one query whose end offsets differ: each replay moves the group.
        QueryProgressEvent[] alternating = {events.get(0), events.get(events.size() - 1)};
        Samples.Repeats ourRows = new Samples.Repeats();
        Samples.Repeats apiRows = new Samples.Repeats();
        Samples.Repeats adminRows = new Samples.Repeats();
        Samples.Repeats handOffRows = new Samples.Repeats();
        int[] missed = new int[4];
        // Every poll of the reader in the timed loops of all four lines (a few per event): its median is the row's
        // resolution.
        Samples polls = new Samples(4 * repeats * count(VISIBLE_SAMPLES) * 4);
        // The JVM API alone (no listener, no worker thread): splits the listener's share from the core's; and the same
        // call made on one other thread, as the listener's worker makes it: splits that thread's wake-up from the
        // listener's own work.
        ExecutorService handOff = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "bench-hand-off");
            thread.setDaemon(true);
            return thread;
        });
        try (OffsetCommitter direct = OffsetCommitter.create(Map.of("bootstrap.servers", bootstrap))) {
            for (int repeat = 0; repeat < repeats; repeat++) {
                ourRows.add(visible(alternating, "", polls, missed, 0, ours::onQueryProgress));
                apiRows.add(visible(
                        alternating,
                        "-visible-api",
                        polls,
                        missed,
                        1,
                        event -> commitEndOffsets(direct, event, "-visible-api")));
                handOffRows.add(visible(
                        alternating,
                        "-visible-hand-off",
                        polls,
                        missed,
                        3,
                        event -> handOff.execute(() -> commitEndOffsets(direct, event, "-visible-hand-off"))));
                adminRows.add(visible(alternating, "-visible-admin", polls, missed, 2, event -> {
                    for (var source : event.progress().sources()) {
                        Map<TopicPartition, OffsetAndMetadata> offsets = KafkaSide.commitMap(source.endOffset());
                        writer.alterConsumerGroupOffsets(SparkRows.groupOfSource(offsets) + "-visible-admin", offsets);
                    }
                }));
            }
        }
        handOff.shutdown();
        report.visibleRow(
                ourRows,
                apiRows,
                handOffRows,
                adminRows,
                missed,
                count(VISIBLE_SAMPLES),
                polls.percentiles().p50());
    }

    /** Each source's end offsets of {@code event} through the JVM API, to the source's group plus {@code suffix}. */
    private static void commitEndOffsets(OffsetCommitter direct, QueryProgressEvent event, String suffix) {
        for (var source : event.progress().sources()) {
            String group = SparkRows.groupOfSource(KafkaSide.commitMap(source.endOffset()));
            direct.commitAsync(group + suffix, source.endOffset(), "bench");
        }
    }

    /**
     * Replays the alternating events into {@code handler}, each followed by the reader's polling of the group until
     * it holds the event's end offsets. The reader is a consumer of the group made and warmed before the timed loop
     * (its coordinator known, so one OffsetFetch per poll); the measured loop's polls are timed into {@code polls}.
     */
    private Samples.Percentiles visible(
            QueryProgressEvent[] alternating,
            String groupSuffix,
            Samples polls,
            int[] missed,
            int which,
            EventHandler handler)
            throws Exception {
        int warmUp = 4;
        int measured = count(VISIBLE_SAMPLES);
        Samples samples = new Samples(measured);
        Samples warmUpPolls = new Samples(64);
        // Both events are of one source of one query: one group, the same partitions.
        Map<TopicPartition, OffsetAndMetadata> first =
                KafkaSide.commitMap(alternating[0].progress().sources()[0].endOffset());
        String group = SparkRows.groupOfSource(first) + groupSuffix;
        try (KafkaConsumer<byte[], byte[]> reader = KafkaSide.consumer(bootstrap, group)) {
            // Warm: the coordinator found, the connection made, the reader's code compiled.
            for (int i = 0; i < 20; i++) {
                reader.committed(first.keySet(), VISIBLE_LIMIT);
            }
            for (int i = 0; i < warmUp + measured; i++) {
                QueryProgressEvent event = alternating[i % 2];
                Map<TopicPartition, OffsetAndMetadata> expected =
                        KafkaSide.commitMap(event.progress().sources()[0].endOffset());
                long start = System.nanoTime();
                handler.handle(event);
                long seen = KafkaSide.awaitVisible(reader, expected, VISIBLE_LIMIT, i >= warmUp ? polls : warmUpPolls);
                if (seen < 0) {
                    missed[which]++;
                } else if (i >= warmUp) {
                    samples.add(seen - start);
                }
            }
        }
        return samples.percentiles();
    }

    // Row 3: commit round trip, 8 partitions, each waited for.
    private void roundTripRows(Admin admin, String topic) throws Exception {
        Map<String, String> nativeSettings = Map.of("bootstrap.servers", bootstrap);
        Map<String, String> jvmSettings = Map.of("bootstrap.servers", bootstrap, EngineSettings.EXECUTOR, "jvm");
        Map<String, Samples.Repeats> rows = new LinkedHashMap<>();
        int[] errors = new int[4];
        try (OffsetCommitter nativeCommitter = OffsetCommitter.create(nativeSettings);
                OffsetCommitter jvmCommitter = OffsetCommitter.create(jvmSettings);
                KafkaConsumer<byte[], byte[]> consumer =
                        KafkaSide.consumer(bootstrap, "bench-" + nonce + "-rt-consumer")) {
            String[] names = {
                "ours, native helper (commitSync)",
                "ours, JVM executor (commitSync)",
                "Java KafkaConsumer.commitSync, reused",
                "Java Admin.alterConsumerGroupOffsets, reused"
            };
            for (String name : names) {
                rows.put(name, new Samples.Repeats());
            }
            long[] offset = {0};
            for (int repeat = 0; repeat < repeats; repeat++) {
                rows.get(names[0]).add(roundTrips(() -> {
                    CommitResult result = nativeCommitter.commitSync(
                            "bench-" + nonce + "-rt-native",
                            KafkaSide.typed(topic, ROUND_TRIP_PARTITIONS, ++offset[0]),
                            "bench",
                            COMMIT_TIMEOUT);
                    errors[0] += result.allCommitted() ? 0 : 1;
                }));
                rows.get(names[1]).add(roundTrips(() -> {
                    CommitResult result = jvmCommitter.commitSync(
                            "bench-" + nonce + "-rt-jvm",
                            KafkaSide.typed(topic, ROUND_TRIP_PARTITIONS, ++offset[0]),
                            "bench",
                            COMMIT_TIMEOUT);
                    errors[1] += result.allCommitted() ? 0 : 1;
                }));
                rows.get(names[2])
                        .add(roundTrips(() ->
                                consumer.commitSync(KafkaSide.kafkaMap(topic, ROUND_TRIP_PARTITIONS, ++offset[0]))));
                rows.get(names[3])
                        .add(roundTrips(() -> admin.alterConsumerGroupOffsets(
                                        "bench-" + nonce + "-rt-admin",
                                        KafkaSide.kafkaMap(topic, ROUND_TRIP_PARTITIONS, ++offset[0]))
                                .all()
                                .get()));
            }
        }
        report.roundTripRows(rows, errors);
    }

    interface Commit {
        void run() throws Exception;
    }

    private Samples.Percentiles roundTrips(Commit commit) throws Exception {
        for (int i = 0; i < count(30); i++) {
            commit.run();
        }
        int measured = count(300);
        Samples samples = new Samples(measured);
        for (int i = 0; i < measured; i++) {
            long start = System.nanoTime();
            commit.run();
            samples.add(System.nanoTime() - start);
        }
        return samples.percentiles();
    }

    // Row 5: the caller's time of one commitAsync (offsets crossing JNI) by size.
    private void jniRows(String topic) throws Exception {
        Map<Integer, Samples.Repeats> rows = new LinkedHashMap<>();
        try (OffsetCommitter committer = OffsetCommitter.create(Map.of("bootstrap.servers", bootstrap))) {
            for (int partitions : new int[] {1, 100, 1000}) {
                List<Map<String, Map<Integer, Long>>> maps =
                        List.of(KafkaSide.typed(topic, partitions, 1), KafkaSide.typed(topic, partitions, 2));
                String group = "bench-" + nonce + "-jni-" + partitions;
                Samples.Repeats repeatsOfSize = new Samples.Repeats();
                for (int repeat = 0; repeat < repeats; repeat++) {
                    for (int i = 0; i < count(2_000); i++) {
                        committer.commitAsync(group, maps.get(i % 2), "bench");
                    }
                    int measured = count(10_000);
                    Samples samples = new Samples(measured);
                    for (int i = 0; i < measured; i++) {
                        Map<String, Map<Integer, Long>> offsets = maps.get(i % 2);
                        long start = System.nanoTime();
                        committer.commitAsync(group, offsets, "bench");
                        samples.add(System.nanoTime() - start);
                    }
                    repeatsOfSize.add(samples.percentiles());
                }
                rows.put(partitions, repeatsOfSize);
            }
            if (!committer.flush(COMMIT_TIMEOUT)) {
                report.note("the JNI rows' commits were not all confirmed within " + COMMIT_TIMEOUT);
            }
        }
        report.jniRows(rows);
    }

    private void firstCommitRows(String topic) throws Exception {
        List<Map<String, Long>> runs = new ArrayList<>();
        for (int repeat = 0; repeat < repeats; repeat++) {
            runs.add(child("first-commit", bootstrap, topic).results());
        }
        report.firstCommitRow(runs);
    }

    private void scaleRows(String topic) throws Exception {
        String groups = Integer.toString(scaleGroups);
        String seconds = Integer.toString(scaleSeconds);
        // One after the other, not at once: a baseline JVM beside the committer's would take CPU from the
        // rate and backlog this row also judges. The baseline first: it never talks to the broker, while the
        // committer's run leaves the broker busy for a while after its last second (64,000 partitions' commits
        // a second to write and clean), which a baseline run after it would compete with.
        ChildOutput baseline = child("scale-baseline", topic, groups, "64", seconds);
        ChildOutput committed = child("scale", bootstrap, topic, groups, "64", seconds);
        report.scaleRow(committed, baseline, scaleGroups, scaleSeconds);
    }

    /** A child JVM's "RESULT key value" lines, and its "SERIES ..." lines (the values after the word) in order. */
    record ChildOutput(Map<String, Long> results, List<String> series) {}

    /** Runs a mode in a fresh JVM and collects its output. */
    private ChildOutput child(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // A heap whose pages are all resident from the start: the scale row's RSS growth is then not
                // the heap growing (the rest of the JVM's own growth is what the scale baseline measures).
                "-Xms256m",
                "-Xmx256m",
                "-XX:+AlwaysPreTouch",
                "-cp",
                requiredEnv("BENCH_CLASSPATH"),
                JvmBench.class.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        Map<String, Long> results = new HashMap<>();
        List<String> series = new ArrayList<>();
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                String[] parts = line.split(" ");
                if (parts[0].equals("RESULT")) {
                    results.put(parts[1], Long.parseLong(parts[2]));
                } else if (parts[0].equals("SERIES")) {
                    series.add(line.substring("SERIES ".length()));
                }
            }
        }
        if (process.waitFor() != 0) {
            throw new IllegalStateException("bench child " + args[0] + " failed: exit " + process.exitValue());
        }
        return new ChildOutput(results, series);
    }

    private static String requiredEnv(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException(name + " is not set (run through bench/run.sh)");
        }
        return value;
    }

    private static int intEnv(String name, int fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : Integer.parseInt(value);
    }

    static String today() {
        return ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
    }

    static String readIfExists(Path path) throws Exception {
        return Files.exists(path) ? Files.readString(path) : "";
    }
}
