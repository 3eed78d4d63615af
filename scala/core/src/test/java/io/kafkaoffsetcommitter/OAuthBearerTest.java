package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.Test;

/**
 * OAUTHBEARER through the JVM's own login handler: the handler the settings name makes tokens that live 30 s, the
 * broker makes sessions re-authenticate every 10 s, and commits keep landing across more than three token lifetimes
 * and across a helper restart, with no token in any log line, status or exception. Real broker (its SASL_PLAINTEXT
 * listener validates unsecured tokens), real helper process.
 */
public class OAuthBearerTest extends BrokerTest {
    private static final int TOKEN_LIFETIME_S = 30;
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static Map<String, String> oauthSettings(String clientId) {
        Map<String, String> settings = settings(
                "security.protocol",
                "SASL_PLAINTEXT",
                "sasl.mechanism",
                "OAUTHBEARER",
                "sasl.login.callback.handler.class",
                CountingOAuthLoginHandler.class.getName(),
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required"
                        + " unsecuredLoginStringClaim_sub=\"admin\""
                        + " unsecuredLoginLifetimeSeconds=\"" + TOKEN_LIFETIME_S + "\";",
                "client.id",
                clientId,
                EngineSettings.REQUEST_TIMEOUT_MS,
                "20000");
        settings.put("bootstrap.servers", requiredEnv("KAFKA_SASL_BOOTSTRAP"));
        return settings;
    }

    @Test
    public void commitsKeepLandingAcrossTokenLifetimesAndAHelperRestart() throws Exception {
        CapturedLog captured = CapturedLog.attach();
        String topic = createTopic("oauth-", 1);
        String group = "oauth-" + UUID.randomUUID();
        List<String> shown = new ArrayList<>();
        int configuredBefore = CountingOAuthLoginHandler.CONFIGURED.get();
        int madeBefore = CountingOAuthLoginHandler.TOKENS_MADE.get();
        try (OffsetCommitter committer = OffsetCommitter.create(oauthSettings("oauth-" + UUID.randomUUID()))) {
            assertEquals(
                    "the named handler was configured",
                    configuredBefore + 1,
                    CountingOAuthLoginHandler.CONFIGURED.get());
            long firstHelper = committer.clusterStatus().helperPid;
            long restartAt = System.nanoTime()
                    + Duration.ofSeconds(TOKEN_LIFETIME_S + 10).toNanos();
            long endAt = System.nanoTime()
                    + Duration.ofSeconds(3 * TOKEN_LIFETIME_S + 20).toNanos();
            boolean restarted = false;
            long offset = 0;
            while (System.nanoTime() < endAt) {
                offset++;
                if (!restarted && System.nanoTime() > restartAt) {
                    committer.injectFault("abort"); // the helper dies right after this commit reaches it
                    restarted = true;
                }
                CommitResult result =
                        committer.commitSync(group, "{\"" + topic + "\":{\"0\":" + offset + "}}", "", WAIT);
                shown.add(String.valueOf(result));
                assertTrue("commit " + offset + " lands: " + committer.statusJson(), committer.flush(WAIT));
                Map<TopicPartition, OffsetAndMetadata> read = committed(group);
                assertEquals(offset, read.get(new TopicPartition(topic, 0)).offset());
                shown.add(committer.statusJson());
                Thread.sleep(5_000);
            }
            assertTrue("the helper was restarted", committer.helperRestarts() >= 1);
            assertNotEquals(firstHelper, committer.clusterStatus().helperPid);
            int made = CountingOAuthLoginHandler.TOKENS_MADE.get() - madeBefore;
            assertTrue("tokens were refreshed before they expired: " + made, made >= 4);
        } finally {
            captured.detach();
        }
        List<String> everything = new ArrayList<>(captured.lines);
        everything.addAll(shown);
        assertFalse("log lines were captured", captured.lines.isEmpty());
        for (String token : CountingOAuthLoginHandler.TOKENS) {
            for (String line : everything) {
                assertFalse("a token shows in: " + line, line.contains(token));
                // The payload alone (claims) would do as much harm as the whole token.
                assertFalse("a token's payload shows in: " + line, line.contains(token.split("\\.")[1]));
            }
        }
    }

    /**
     * A handler whose token endpoint refuses it: the group's commit fails at once with an authentication error that
     * quotes the handler's reason (not a request that waited for a token until it timed out), the group is parked
     * rather than retried, and the client secret the handler's message quoted shows nowhere.
     */
    @Test
    public void aLoginHandlerThatFailsGivesTheGroupAnAuthenticationErrorWithItsReasonAndNoSecret() throws Exception {
        String secret = "koc-canary-refused-login-" + UUID.randomUUID(); // also a canary for tests/canary/scan.py
        Map<String, String> settings = oauthSettings("oauth-refused-" + UUID.randomUUID());
        settings.put("sasl.login.callback.handler.class", RefusingOAuthLoginHandler.class.getName());
        settings.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientSecret=\"" + secret
                        + "\";");
        CapturedLog captured = CapturedLog.attach();
        String topic = createTopic("oauth-refused-", 1);
        String group = "oauth-refused-" + UUID.randomUUID();
        List<String> shown = new ArrayList<>();
        try (OffsetCommitter committer = OffsetCommitter.create(settings)) {
            CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":1}}", "", WAIT);
            shown.add(String.valueOf(result));
            CommitResult.PartitionResult partition = result.partitions().get(0);
            assertEquals(result.toString(), "Authentication", partition.errorKind());
            assertTrue(partition.errorMessage(), partition.errorMessage().contains(RefusingOAuthLoginHandler.REASON));
            assertTrue(
                    partition.errorMessage(),
                    partition.errorMessage().contains(RefusingOAuthLoginHandler.class.getName()));
            // Parked for the cool-down: a flush finds it failed, not retried meanwhile.
            assertFalse(committer.flush(Duration.ofSeconds(2)));
            GroupStatus status = committer.status().get(0);
            shown.add(String.valueOf(status));
            shown.add(committer.statusJson());
            assertEquals(status.toString(), "Authentication", status.lastErrorKind());
            assertTrue(status.toString(), status.lastErrorMessage().contains(RefusingOAuthLoginHandler.REASON));
            assertEquals(status.toString(), Boolean.FALSE, status.lastErrorRetriable());
            assertEquals(status.toString(), 1, status.commitsFailed());
        } finally {
            captured.detach();
        }
        assertTrue("nothing was committed", committed(group).isEmpty());
        List<String> everything = new ArrayList<>(captured.lines);
        everything.addAll(shown);
        for (String line : everything) {
            assertFalse("the client secret shows in: " + line, line.contains(secret));
        }
    }

    @Test
    public void aHandlerNotOnTheClassPathIsRefusedByName() {
        Map<String, String> settings = oauthSettings("oauth-missing");
        settings.put("sasl.login.callback.handler.class", "com.example.NoSuchLoginHandler");
        InvalidConfigException refused =
                org.junit.Assert.assertThrows(InvalidConfigException.class, () -> OffsetCommitter.create(settings));
        assertTrue(refused.getMessage(), refused.getMessage().contains("com.example.NoSuchLoginHandler"));
        assertTrue(refused.getMessage(), refused.getMessage().contains("sasl.login.callback.handler.class"));
    }

    @Test
    public void aFailureShowsEachMessageOnceAndNoSecret() {
        Map<String, String> settings = oauthSettings("oauth-describe");
        settings.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required"
                        + " clientSecret=\"koc-canary-describe\";");
        try (OAuthLogin login = OAuthLogin.configure(settings)) {
            java.io.IOException endpoint =
                    new java.io.IOException("401 invalid_client for client secret koc-canary-describe");
            // As Kafka's handler wraps its token endpoint's answer: the cause's text inside each wrapper's message.
            RuntimeException wrapped = new RuntimeException(
                    "login failed: " + endpoint, new IllegalStateException(endpoint.toString(), endpoint));
            String described = login.describe(wrapped);
            assertEquals(described, described.indexOf("401"), described.lastIndexOf("401"));
            assertTrue(described, described.contains("caused by java.lang.IllegalStateException"));
            assertTrue(described, described.contains("caused by java.io.IOException"));
            assertFalse(described, described.contains("koc-canary-describe"));
        }
    }

    @Test
    public void refreshesComeBeforeExpiryAndNeverSpin() {
        long now = 1_000_000;
        assertEquals(24_000, OAuthTokens.refreshDelayMs(now + 30_000, now));
        assertEquals(2_880_000, OAuthTokens.refreshDelayMs(now + 3_600_000, now));
        assertEquals(5_000, OAuthTokens.refreshDelayMs(now + 10_000, now)); // expiry minus the margin
        assertEquals(1_000, OAuthTokens.refreshDelayMs(now + 100, now));
        assertEquals(1_000, OAuthTokens.refreshDelayMs(now - 5_000, now));
    }
}
