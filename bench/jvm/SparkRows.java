import io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.SourceProgress;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.Trigger;

/**
 * Rows 1 and 2: real progress events of real local-mode queries, captured in this JVM, then replayed on one
 * thread into (a) the older listener's way, (b) a reused Java Admin and (c) our listener.
 */
final class SparkRows implements AutoCloseable {
    /** A query shape: its topics (one source each) and partitions per topic. */
    record Shape(String label, int sources, int partitions) {}

    static final List<Shape> SHAPES = List.of(
            new Shape("1 partition", 1, 1), new Shape("8 partitions", 1, 8), new Shape("3 × 64 partitions", 3, 64));

    private static final int EVENTS_PER_QUERY = 4;
    private static final int RECORDS_PER_PARTITION = 8;
    private static final Duration CAPTURE_LIMIT = Duration.ofMinutes(4);

    private final String bootstrap;
    private final String nonce;
    private final SparkSession spark;
    private final List<StreamingQuery> queries = new ArrayList<>();
    /** Captured events (with input rows) by shape label, in batch order. */
    final Map<String, List<StreamingQueryListener.QueryProgressEvent>> events = new LinkedHashMap<>();

    SparkRows(String bootstrap, String nonce) {
        this.bootstrap = bootstrap;
        this.nonce = nonce;
        spark = SparkSession.builder()
                .master("local[2]")
                .appName("kafka-offset-committer-bench")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
    }

    static String group(String nonce, Shape shape, int source) {
        return "bench-" + nonce + "-" + shape.partitions() + "x" + shape.sources() + "-s" + source;
    }

    static String topic(String nonce, Shape shape, int source) {
        return "bench-" + nonce + "-" + shape.partitions() + "x" + shape.sources() + "-t" + source;
    }

    /** Starts one query per shape and waits until each has posted EVENTS_PER_QUERY progress events with rows. */
    void capture(Admin admin) throws Exception {
        Map<java.util.UUID, List<StreamingQueryListener.QueryProgressEvent>> byQuery = new ConcurrentHashMap<>();
        StreamingQueryListener capturing = new StreamingQueryListener() {
            @Override
            public void onQueryStarted(QueryStartedEvent event) {}

            @Override
            public void onQueryProgress(QueryProgressEvent event) {
                if (event.progress().numInputRows() > 0) {
                    byQuery.computeIfAbsent(event.progress().id(), id -> new CopyOnWriteArrayList<>())
                            .add(event);
                }
            }

            @Override
            public void onQueryTerminated(QueryTerminatedEvent event) {}
        };
        spark.streams().addListener(capturing);
        Map<String, java.util.UUID> queryOf = new LinkedHashMap<>();
        for (Shape shape : SHAPES) {
            Dataset<Row> union = null;
            for (int source = 0; source < shape.sources(); source++) {
                String topic = topic(nonce, shape, source);
                KafkaSide.createTopic(admin, topic, shape.partitions());
                KafkaSide.produce(bootstrap, topic, shape.partitions(), RECORDS_PER_PARTITION);
                Dataset<Row> stream = spark.readStream()
                        .format("kafka")
                        .option("kafka.bootstrap.servers", bootstrap)
                        .option("subscribe", topic)
                        .option("startingOffsets", "earliest")
                        // Several batches, each with other end offsets.
                        .option(
                                "maxOffsetsPerTrigger",
                                (long) shape.partitions() * RECORDS_PER_PARTITION / (EVENTS_PER_QUERY + 1))
                        .option("kafka.consumer.commit.groupid", group(nonce, shape, source))
                        .load();
                union = union == null ? stream : union.union(stream);
            }
            StreamingQuery query = union.writeStream()
                    .format("noop")
                    .option(
                            "checkpointLocation",
                            Files.createTempDirectory("bench-checkpoint").toString())
                    .trigger(Trigger.ProcessingTime(100, TimeUnit.MILLISECONDS))
                    .start();
            queries.add(query);
            queryOf.put(shape.label(), query.id());
        }
        long deadline = System.nanoTime() + CAPTURE_LIMIT.toNanos();
        for (Map.Entry<String, java.util.UUID> query : queryOf.entrySet()) {
            while (byQuery.getOrDefault(query.getValue(), List.of()).size() < EVENTS_PER_QUERY) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("query " + query.getKey() + " posted too few progress events");
                }
                Thread.sleep(50);
            }
            events.put(
                    query.getKey(),
                    new ArrayList<>(byQuery.get(query.getValue()).subList(0, EVENTS_PER_QUERY)));
        }
        // The queries stay running: our listener finds a query's sources through its live execution.
        spark.streams().removeListener(capturing);
    }

    /** (a): per source per event, a new consumer of the source's group, commitSync, close. */
    static void olderListenerWay(
            String bootstrap, StreamingQueryListener.QueryProgressEvent event, String groupSuffix) {
        SourceProgress[] sources = event.progress().sources();
        for (int source = 0; source < sources.length; source++) {
            Map<TopicPartition, OffsetAndMetadata> offsets = KafkaSide.commitMap(sources[source].endOffset());
            String group = groupOfSource(offsets) + groupSuffix;
            try (KafkaConsumer<byte[], byte[]> consumer = KafkaSide.consumer(bootstrap, group)) {
                consumer.commitSync(offsets);
            }
        }
    }

    /** (b): the same commits through one reused Admin, each waited for. */
    static void reusedAdmin(Admin admin, StreamingQueryListener.QueryProgressEvent event, String groupSuffix)
            throws Exception {
        for (SourceProgress source : event.progress().sources()) {
            Map<TopicPartition, OffsetAndMetadata> offsets = KafkaSide.commitMap(source.endOffset());
            admin.alterConsumerGroupOffsets(groupOfSource(offsets) + groupSuffix, offsets)
                    .all()
                    .get();
        }
    }

    /** The bench names a source's group after its topic (…-tN becomes …-sN). */
    static String groupOfSource(Map<TopicPartition, OffsetAndMetadata> offsets) {
        String topic = offsets.keySet().iterator().next().topic();
        int dash = topic.lastIndexOf("-t");
        return topic.substring(0, dash) + "-s" + topic.substring(dash + 2);
    }

    /** Our listener as Spark builds it from the session's conf; it is not registered, the bench calls it. */
    KafkaOffsetCommitterListener ourListener() {
        return new KafkaOffsetCommitterListener(spark.sparkContext().getConf());
    }

    @Override
    public void close() {
        for (StreamingQuery query : queries) {
            try {
                query.stop();
            } catch (Exception e) {
                System.err.println("stopping a bench query: " + e);
            }
        }
        spark.stop();
    }
}
