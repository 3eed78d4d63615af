package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.stream.Collectors;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * What the native core logs reaches the JVM's loggers at the levels a user's alerts rely on: a new group's first
 * commit nothing above INFO, and librdkafka's debug contexts ({@link EngineSettings#LIBRDKAFKA_DEBUG}) its cluster's
 * librdkafka logger at INFO. Each committer has a client of its own ({@code client.id}): the first committer of a
 * cluster decides its client's settings, and other test classes commit to the same broker.
 */
public class NativeLogLevelTest extends BrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private CapturedLog captured;

    @Before
    public void capture() {
        captured = CapturedLog.attach();
    }

    @After
    public void release() {
        captured.detach();
    }

    private static String clusterLogger(String origin) {
        return "io.kafkaoffsetcommitter.native." + origin + "." + bootstrap.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    private List<LogRecord> recordsOf(String... loggers) {
        List<String> wanted = Arrays.asList(loggers);
        synchronized (captured.records) {
            return captured.records.stream()
                    .filter(r -> wanted.contains(r.getLoggerName()))
                    .collect(Collectors.toList());
        }
    }

    @Test
    public void aFreshGroupsFirstCommitLogsNothingAboveInfo() throws Exception {
        String topic = createTopic("fresh-", 2);
        String group = "fresh-group-" + UUID.randomUUID();
        try (OffsetCommitter committer = OffsetCommitter.create(settings("client.id", "fresh-" + UUID.randomUUID()))) {
            CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":3,\"1\":4}}", "", WAIT);
            assertTrue(result.toString(), result.allCommitted());
            assertTrue(committer.flush(WAIT));
        }
        List<LogRecord> ours = recordsOf(clusterLogger("engine"), clusterLogger("librdkafka"));
        List<String> loud = new ArrayList<>();
        for (LogRecord record : ours) {
            String message = record.getMessage();
            boolean otherGroup = message.contains("group `") && !message.contains("group `" + group + "`");
            if (!otherGroup && record.getLevel().intValue() > Level.INFO.intValue()) {
                loud.add(record.getLevel() + " " + message);
            }
        }
        assertTrue("the cluster's lines were collected: " + captured.lines, !ours.isEmpty());
        assertEquals("a new group's first commit is routine", Collections.emptyList(), loud);
    }

    @Test
    public void theLibrdkafkaDebugSwitchReachesTheClustersLibrdkafkaLoggerAtInfo() throws Exception {
        String topic = createTopic("debug-", 1);
        try (OffsetCommitter committer = OffsetCommitter.create(
                settings("client.id", "debug-" + UUID.randomUUID(), EngineSettings.LIBRDKAFKA_DEBUG, "broker"))) {
            CommitResult result =
                    committer.commitSync("debug-group-" + UUID.randomUUID(), "{\"" + topic + "\":{\"0\":1}}", "", WAIT);
            assertTrue(result.toString(), result.allCommitted());
            long deadline = System.nanoTime() + WAIT.toNanos();
            // Only a client with the `broker` context writes its connections' state changes.
            while (recordsOf(clusterLogger("librdkafka")).stream()
                    .noneMatch(r -> r.getLevel() == Level.INFO && r.getMessage().contains("] STATE: "))) {
                assertTrue("no STATE line at INFO: " + captured.lines, System.nanoTime() < deadline);
                Thread.sleep(100);
            }
        }
    }

    @Test
    public void anUnknownDebugContextFailsAtCreationNamingTheSetting() {
        InvalidConfigException error = assertThrows(
                InvalidConfigException.class,
                () -> OffsetCommitter.create(settings(EngineSettings.LIBRDKAFKA_DEBUG, "broker,sockets")));
        assertTrue(error.getMessage(), error.getMessage().contains(EngineSettings.LIBRDKAFKA_DEBUG));
        assertTrue(error.getMessage(), error.getMessage().contains("`sockets` is not a librdkafka debug context"));
    }
}
