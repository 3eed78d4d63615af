package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.Test;

/**
 * The JVM executor (`committer.executor=jvm`) against the broker's SASL_PLAINTEXT listener: commits run by Kafka's
 * own Admin and read back by an independent client; ACL denials and a wrong password reported as natively; closing
 * the last committer ends the executor's thread. Each test uses its own client.id, hence its own cluster and thread.
 */
public class JvmExecutorTest extends BrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static Map<String, String> alice(String password) {
        Map<String, String> settings = settings(
                "security.protocol",
                "SASL_PLAINTEXT",
                "sasl.mechanism",
                "PLAIN",
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\""
                        + password + "\";",
                "client.id",
                "jvm-executor-" + UUID.randomUUID(),
                EngineSettings.EXECUTOR,
                "jvm",
                EngineSettings.REQUEST_TIMEOUT_MS,
                "10000");
        settings.put("bootstrap.servers", requiredEnv("KAFKA_SASL_BOOTSTRAP"));
        return settings;
    }

    private static Map<String, Map<Integer, Long>> offsets(String topic, long... perPartition) {
        Map<Integer, Long> partitions = new java.util.HashMap<>();
        for (int partition = 0; partition < perPartition.length; partition++) {
            partitions.put(partition, perPartition[partition]);
        }
        return Collections.singletonMap(topic, partitions);
    }

    @Test
    public void commitsRunOnKafkasJavaClientAndClosingEndsTheThread() throws Exception {
        String topic = createTopic("alice-jvm-topic-", 2);
        String group = "alice-jvm-group-" + UUID.randomUUID();
        OffsetCommitter committer = OffsetCommitter.create(alice("alice-secret"));
        JvmExecutor executor = committer.jvmExecutor();
        assertNotNull("the committer started the JVM executor", executor);
        assertEquals("no helper process serves a JVM cluster", -1, committer.clusterStatus().helperPid);

        CommitResult result = committer.commitSync(group, offsets(topic, 5, 7), "meta", WAIT);
        assertTrue(result.toString(), result.allCommitted());
        Map<TopicPartition, OffsetAndMetadata> read = committed(group);
        assertEquals(5, read.get(new TopicPartition(topic, 0)).offset());
        assertEquals(7, read.get(new TopicPartition(topic, 1)).offset());
        assertEquals("meta", read.get(new TopicPartition(topic, 1)).metadata());

        committer.commitAsync(group, offsets(topic, 9, 7), "meta");
        assertTrue(committer.flush(WAIT));
        assertEquals(9, committed(group).get(new TopicPartition(topic, 0)).offset());

        assertTrue(committer.close(WAIT));
        assertTrue("the executor's thread ends with its cluster", executor.awaitEnd(WAIT));
    }

    @Test
    public void aclDenialsAreReportedAsKafkaNamesThem() throws Exception {
        String allowedTopic = createTopic("alice-jvm-topic-", 1);
        String forbiddenTopic = createTopic("jvm-forbidden-topic-", 1);
        try (OffsetCommitter committer = OffsetCommitter.create(alice("alice-secret"))) {
            CommitResult deniedGroup =
                    committer.commitSync("jvm-other-group-" + UUID.randomUUID(), offsets(allowedTopic, 5), "", WAIT);
            assertEquals(
                    deniedGroup.toString(),
                    "GroupAuthorizationFailed",
                    deniedGroup.partitions().get(0).errorKind());
            CommitResult deniedTopic =
                    committer.commitSync("alice-jvm-group-" + UUID.randomUUID(), offsets(forbiddenTopic, 5), "", WAIT);
            assertEquals(
                    deniedTopic.toString(),
                    "TopicAuthorizationFailed",
                    deniedTopic.partitions().get(0).errorKind());
        }
    }

    @Test
    public void aWrongPasswordParksTheGroupWithAnAuthenticationErrorAndNoSecret() throws Exception {
        String wrong = "koc-canary-wrong-password-" + UUID.randomUUID(); // also a canary for tests/canary/scan.py
        String group = "alice-jvm-wrong-password-" + UUID.randomUUID();
        try (OffsetCommitter committer = OffsetCommitter.create(alice(wrong))) {
            CommitResult result = committer.commitSync(group, offsets("alice-topic", 1), "", WAIT);
            CommitResult.PartitionResult partition = result.partitions().get(0);
            assertEquals(result.toString(), "Authentication", partition.errorKind());
            assertFalse(partition.errorMessage(), partition.errorMessage().contains(wrong));
            // Parked for the cool-down (a minute by default): a flush finds it failed, not retried meanwhile.
            assertFalse(committer.flush(Duration.ofSeconds(2)));
            GroupStatus status = committer.status().get(0);
            assertEquals(status.toString(), Boolean.FALSE, status.lastErrorRetriable());
            assertEquals(status.toString(), 1, status.commitsFailed());
            assertFalse(committer.statusJson().contains(wrong));
        }
    }
}
