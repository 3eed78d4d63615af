package io.kafkaoffsetcommitter;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.AfterClass;
import org.junit.BeforeClass;

/**
 * The real broker started by tests/with-broker.sh, and Kafka's own Java AdminClient as the independent
 * client that creates topics and reads committed offsets back. Without the broker the tests fail.
 */
abstract class BrokerTest {
    static String bootstrap;
    static Admin admin;

    @BeforeClass
    public static void connect() {
        bootstrap = requiredEnv("KAFKA_BOOTSTRAP");
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        admin = Admin.create(properties);
    }

    @AfterClass
    public static void disconnect() {
        if (admin != null) {
            admin.close();
        }
    }

    static String requiredEnv(String name) {
        String value = System.getenv(name);
        if (value == null) {
            throw new IllegalStateException(name + " is not set: run through `make test` or tests/with-broker.sh");
        }
        return value;
    }

    static String createTopic(String prefix, int partitions) throws Exception {
        String topic = prefix + UUID.randomUUID();
        admin.createTopics(Collections.singleton(new NewTopic(topic, partitions, (short) 1)))
                .all()
                .get();
        return topic;
    }

    static Map<TopicPartition, OffsetAndMetadata> committed(String group) throws Exception {
        return admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get();
    }

    /** Settings for the broker's plaintext listener, plus the given key/value pairs. */
    static Map<String, String> settings(String... keyValues) {
        Map<String, String> settings = new HashMap<>();
        settings.put("bootstrap.servers", bootstrap);
        for (int i = 0; i < keyValues.length; i += 2) {
            settings.put(keyValues[i], keyValues[i + 1]);
        }
        return settings;
    }
}
