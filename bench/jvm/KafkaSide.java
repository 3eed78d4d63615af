import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Kafka's own Java client: the alternatives users run today, and the independent reader of the groups. */
final class KafkaSide {
    private static final ObjectMapper JSON = new ObjectMapper();

    private KafkaSide() {}

    static Admin admin(String bootstrap) {
        Properties settings = new Properties();
        settings.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(settings);
    }

    /**
     * A consumer of {@code group} that is never subscribed nor polled: what the older listener built per source
     * per event to commit, and row 2's reader of the group's committed offsets.
     */
    static KafkaConsumer<byte[], byte[]> consumer(String bootstrap, String group) {
        Properties settings = new Properties();
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        settings.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        settings.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        settings.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return new KafkaConsumer<>(settings);
    }

    static void createTopic(Admin admin, String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
                .all()
                .get();
    }

    /** Writes {@code records} small records to every partition of the topic. */
    static void produce(String bootstrap, String topic, int partitions, int records) {
        Properties settings = new Properties();
        settings.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        settings.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        settings.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        settings.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(settings)) {
            byte[] value = new byte[16];
            for (int partition = 0; partition < partitions; partition++) {
                for (int i = 0; i < records; i++) {
                    producer.send(new ProducerRecord<>(topic, partition, null, value));
                }
            }
            producer.flush();
        }
    }

    /** Spark's end-offset JSON of one source ({"topic": {"0": 12, ...}}) as Kafka's commit map. */
    static Map<TopicPartition, OffsetAndMetadata> commitMap(String sparkOffsetsJson) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonNode> topic :
                    JSON.readTree(sparkOffsetsJson).properties()) {
                for (Map.Entry<String, JsonNode> partition : topic.getValue().properties()) {
                    offsets.put(
                            new TopicPartition(topic.getKey(), Integer.parseInt(partition.getKey())),
                            new OffsetAndMetadata(partition.getValue().asLong()));
                }
            }
        } catch (Exception e) {
            throw new IllegalArgumentException("not Spark end offsets: " + sparkOffsetsJson, e);
        }
        return offsets;
    }

    /**
     * Polls the group's committed offsets with {@code reader} (a consumer of that group, never subscribed) until
     * they are {@code expected}; returns when the poll that saw them came back, or -1. Each poll's time goes into
     * {@code polls}.
     */
    static long awaitVisible(
            KafkaConsumer<byte[], byte[]> reader,
            Map<TopicPartition, OffsetAndMetadata> expected,
            Duration limit,
            Samples polls) {
        long deadline = System.nanoTime() + limit.toNanos();
        long now = System.nanoTime();
        while (now < deadline) {
            long asked = now;
            Map<TopicPartition, OffsetAndMetadata> seen = reader.committed(expected.keySet(), limit);
            now = System.nanoTime();
            polls.add(now - asked);
            boolean all = true;
            for (Map.Entry<TopicPartition, OffsetAndMetadata> partition : expected.entrySet()) {
                OffsetAndMetadata offset = seen.get(partition.getKey());
                if (offset == null || offset.offset() != partition.getValue().offset()) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return now;
            }
        }
        return -1;
    }

    /** Offsets of one topic, partitions 0..n-1 all at {@code offset}, in the JVM API's shape. */
    static Map<String, Map<Integer, Long>> typed(String topic, int partitions, long offset) {
        Map<Integer, Long> byPartition = new LinkedHashMap<>();
        for (int partition = 0; partition < partitions; partition++) {
            byPartition.put(partition, offset);
        }
        return Map.of(topic, byPartition);
    }

    static Map<TopicPartition, OffsetAndMetadata> kafkaMap(String topic, int partitions, long offset) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
        for (int partition = 0; partition < partitions; partition++) {
            offsets.put(new TopicPartition(topic, partition), new OffsetAndMetadata(offset));
        }
        return offsets;
    }
}
