package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.Test;

/**
 * The Spark-free JVM API against the real broker started by tests/with-broker.sh. This test's classpath
 * has no Spark and no Scala: only the core jar, JUnit and kafka-clients, which reads offsets back as an
 * independent client.
 */
public class OffsetCommitterTest extends BrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    public void commitsSparkOffsetsAndJavaMapsThatAnIndependentClientReadsBack() throws Exception {
        String topic = createTopic("api-", 2);
        String group = "api-group-" + UUID.randomUUID();
        try (OffsetCommitter committer = OffsetCommitter.create(settings())) {
            String metadata = CommitMetadata.forBatch("query-1", "run-1", 7);
            CommitResult result =
                    committer.commitSync(group, "{\"" + topic + "\":{\"0\":10,\"1\":20}}", metadata, WAIT);
            assertTrue(result.toString(), result.allCommitted());

            // The next batch moves partition 1 only: partition 0 is not committed again, so its
            // metadata keeps naming batch 7.
            String nextMetadata = CommitMetadata.forBatch("query-1", "run-1", 8);
            Map<String, Map<Integer, Long>> offsets = new HashMap<>();
            Map<Integer, Long> partitions = new HashMap<>();
            partitions.put(0, 10L);
            partitions.put(1, 25L);
            offsets.put(topic, partitions);
            committer.commitAsync(group, offsets, nextMetadata);
            assertTrue(committer.flush(WAIT));

            Map<TopicPartition, OffsetAndMetadata> committed = committed(group);
            assertEquals(10L, committed.get(new TopicPartition(topic, 0)).offset());
            assertEquals(25L, committed.get(new TopicPartition(topic, 1)).offset());
            assertEquals(metadata, committed.get(new TopicPartition(topic, 0)).metadata());
            assertEquals(
                    nextMetadata, committed.get(new TopicPartition(topic, 1)).metadata());
            assertTrue(metadata.contains("\"batch\":7"));

            GroupStatus status = committer.status().get(0);
            assertEquals(group, status.group());
            assertEquals(2, status.commitsSucceeded());
            assertEquals(0, status.commitsFailed());
            assertNull(status.lastErrorKind());
            assertNull(status.lastErrorRetriable());
            assertEquals(nextMetadata, status.lastCommitMetadata());
            assertEquals(Long.valueOf(8), status.lastCommittedBatchId());
            assertFalse(status.parked());
            assertFalse(status.inFlight());
            assertNotNull(status.lastCommitEpochMillis());
            assertEquals(
                    Long.valueOf(25), status.lastCommittedOffsets().get(topic).get("1"));
            assertEquals(
                    Long.valueOf(10), status.lastCommittedOffsets().get(topic).get("0"));
            // The same status as a JSON document, for logs and dashboards.
            String json = committer.statusJson();
            assertTrue(json, json.contains("\"group\":\"" + group + "\""));
            assertTrue(json, json.contains("\"commitsSucceeded\":2"));
        }
    }

    @Test
    public void refusedCommitsAreReportedPerPartitionAndInTheStatus() {
        String group = "api-refused-" + UUID.randomUUID();
        try (OffsetCommitter committer = OffsetCommitter.create(settings())) {
            CommitResult result = committer.commitSync(group, "{\"no-such-topic\":{\"0\":1}}", "", WAIT);
            assertFalse(result.allCommitted());
            CommitResult.PartitionResult refused = result.partitions().get(0);
            assertEquals("no-such-topic", refused.topic());
            assertEquals(0, refused.partition());
            assertEquals(1, refused.offset());
            assertEquals("UnknownTopicOrPartition", refused.errorKind());
            assertNotNull(refused.errorMessage());
            GroupStatus status = committer.status().get(0);
            assertNull(status.lastCommitMetadata());
            assertNull(status.lastCommitEpochMillis());
            assertTrue(status.lastCommittedOffsets().isEmpty());
            assertEquals("UnknownTopicOrPartition", status.lastErrorKind());
            assertEquals(Boolean.FALSE, status.lastErrorRetriable());
            // A partition refused for itself (deleted topic) waits for its next offset instead of holding
            // its group in a cool-down: nothing stays pending, and flush does not wait for it.
            assertEquals(0, status.pendingPartitions());
            assertFalse(status.parked());
            assertNull(status.lastCommittedBatchId());
            assertTrue(committer.flush(WAIT));
            assertEquals(1, committer.status().get(0).commitsFailed());
        }
    }

    @Test
    public void invalidSettingsFailAtCreationWithoutEchoingSecrets() {
        InvalidConfigException error = assertThrows(
                InvalidConfigException.class,
                () -> OffsetCommitter.create(settings(
                        "security.protocol", "SASL_PLAINTEXT",
                        "sasl.mechanism", "PLAIN",
                        "sasl.jaas.config",
                                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                                        + " username=\"u\" password=\"hunter2\"")));
        assertTrue(error.getMessage(), error.getMessage().contains("sasl.jaas.config"));
        assertFalse(error.getMessage(), error.getMessage().contains("hunter2"));

        assertThrows(
                InvalidConfigException.class, () -> OffsetCommitter.create(Collections.<String, String>emptyMap()));
        Map<String, String> nullValue = settings();
        nullValue.put("client.id", null);
        InvalidConfigException nullSetting =
                assertThrows(InvalidConfigException.class, () -> OffsetCommitter.create(nullValue));
        assertTrue(nullSetting.getMessage(), nullSetting.getMessage().contains("client.id"));
    }

    @Test
    public void malformedOffsetsAndClosedCommittersAreRefusedWithClearExceptions() {
        OffsetCommitter committer = OffsetCommitter.create(settings());
        InvalidOffsetsException malformed =
                assertThrows(InvalidOffsetsException.class, () -> committer.commitAsync("g", "{\"t\":{\"0\":-3}}", ""));
        assertTrue(malformed.getMessage(), malformed.getMessage().contains("-3"));
        InvalidArgumentException emptyGroup =
                assertThrows(InvalidArgumentException.class, () -> committer.commitAsync("", "{}", ""));
        assertTrue(emptyGroup.getMessage(), emptyGroup.getMessage().contains("group id is empty"));
        assertThrows(InvalidArgumentException.class, () -> committer.commitAsync(null, "{}", ""));
        committer.close();
        committer.close(); // idempotent
        assertThrows(CommitterClosedException.class, () -> committer.commitAsync("g", "{}", ""));
        assertThrows(CommitterClosedException.class, committer::status);
    }

    @Test
    public void javaKeyStoresAreConvertedForTheSslListener() throws Exception {
        String topic = createTopic("ssl-client-topic-", 1);
        String group = "ssl-client-group-" + UUID.randomUUID();
        String password = requiredEnv("KAFKA_SSL_STORE_PASSWORD");
        try (OffsetCommitter committer = OffsetCommitter.create(settings(
                "bootstrap.servers",
                requiredEnv("KAFKA_SSL_BOOTSTRAP"),
                "security.protocol",
                "SSL",
                "ssl.truststore.location",
                requiredEnv("KAFKA_SSL_TRUSTSTORE_JKS"),
                "ssl.truststore.password",
                password,
                "ssl.keystore.location",
                requiredEnv("KAFKA_SSL_CLIENT_KEYSTORE_JKS"),
                "ssl.keystore.password",
                password,
                "ssl.key.password",
                password))) {
            CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":3}}", "", WAIT);
            assertTrue(result.toString(), result.allCommitted());
            assertFalse(committer.statusJson().contains(password));
        }
        assertEquals(3L, committed(group).get(new TopicPartition(topic, 0)).offset());
    }
}
