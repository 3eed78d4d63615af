package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.Assume;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * OAUTHBEARER with OIDC for real: Kafka's own {@code OAuthBearerLoginCallbackHandler} fetches client-credentials
 * tokens (RS256 JWTs living 30 s) from the tests' OIDC provider (tests/oauth/oidc.py), and the broker validates them
 * against the provider's JWKS with Kafka's {@code OAuthBearerValidatorCallbackHandler}, re-authenticating sessions
 * every 10 s. Both run under tests/kerberos/with-kdc.sh, which exports where they are (KOC_OIDC_*). Commits keep
 * landing across more than three token lifetimes and a helper killed with -9, read back by Kafka's own Admin on the
 * broker's super-user listener; a wrong client secret gives one clear error, no hot retry at the token endpoint
 * (the provider counts the requests), and another committer's commits go on; a token whose principal has no ACL
 * for the group gets GroupAuthorizationFailed. No client secret and no token issued shows in any log line, status
 * or result.
 *
 * <p>Skipped when the wrapper's environment is absent (a plain {@code core/test}); with {@code
 * -Dkoc.kerberos.required=true} (as `make test` runs the wrapper's tier) its absence fails the class instead.
 */
public class OidcCommitTest {
    private static final String KAFKA_LOGIN_HANDLER =
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler";
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration FAILING_WAIT = Duration.ofSeconds(15);
    private static final long COMMIT_PERIOD_MS = 5_000;

    private static Admin superUser;
    private static String prefix;
    private static int tokenLifetimeS;

    private CapturedLog captured;
    private final List<String> shown = Collections.synchronizedList(new ArrayList<>());

    @BeforeClass
    public static void connect() {
        boolean present = System.getenv("KOC_OIDC_TOKEN_URL") != null;
        if (!present && Boolean.getBoolean("koc.kerberos.required")) {
            throw new IllegalStateException("KOC_OIDC_TOKEN_URL is not set: run under tests/kerberos/with-kdc.sh");
        }
        Assume.assumeTrue("no OIDC provider: run under tests/kerberos/with-kdc.sh", present);
        // What a user's JVM is started with for Kafka 3.9.1+/4.x clients (-D...allowed.urls=...).
        Matcher option = Pattern.compile("^-D([^=]+)=(.*)$").matcher(env("KOC_OIDC_JVM_OPTION"));
        assertTrue(option.matches());
        System.setProperty(option.group(1), option.group(2));
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env("KOC_KRB_ADMIN_BOOTSTRAP"));
        superUser = Admin.create(properties);
        prefix = env("KOC_OIDC_ACL_PREFIX");
        tokenLifetimeS = Integer.parseInt(env("KOC_OIDC_TOKEN_LIFETIME_S"));
    }

    @AfterClass
    public static void disconnect() {
        if (superUser != null) {
            superUser.close();
        }
    }

    @Before
    public void capture() {
        captured = CapturedLog.attach();
    }

    /** No client secret, and no token the provider issued (nor its claims or signature alone), anywhere. */
    @After
    public void noSecretShows() throws Exception {
        captured.detach();
        List<String> secrets = new ArrayList<>();
        secrets.add(env("KOC_OIDC_CLIENT_SECRET"));
        for (String token : Files.readAllLines(Paths.get(env("KOC_OIDC_ISSUED_TOKENS")))) {
            if (!token.isEmpty()) {
                secrets.add(token);
                String[] parts = token.split("\\.");
                secrets.add(parts[1]);
                secrets.add(parts[2]);
            }
        }
        List<String> everything = new ArrayList<>(captured.lines);
        everything.addAll(shown);
        // Into the tier's log as well, for the canary scan (tests/canary/scan.py) that reads it.
        for (String line : shown) {
            System.out.println("OidcCommitTest shows: " + line);
        }
        for (String line : everything) {
            for (String secret : secrets) {
                assertFalse("a client secret or token shows in: " + line, line.contains(secret));
            }
        }
    }

    private static String env(String name) {
        String value = System.getenv(name);
        assertNotNull(name + " is not set: run under tests/kerberos/with-kdc.sh", value);
        return value;
    }

    /** What a Spark job's Kafka source carries for OIDC client credentials with Kafka's own handler. */
    private static Map<String, String> oidcSettings(String clientSecret) {
        Map<String, String> settings = new HashMap<>();
        settings.put("bootstrap.servers", env("KOC_KRB_BOOTSTRAP"));
        settings.put("security.protocol", "SASL_PLAINTEXT");
        settings.put("sasl.mechanism", "OAUTHBEARER");
        settings.put("sasl.login.callback.handler.class", KAFKA_LOGIN_HANDLER);
        settings.put("sasl.oauthbearer.token.endpoint.url", env("KOC_OIDC_TOKEN_URL"));
        settings.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\""
                        + env("KOC_OIDC_CLIENT_ID") + "\" clientSecret=\"" + clientSecret + "\" scope=\""
                        + env("KOC_OIDC_SCOPE") + "\";");
        settings.put("client.id", "oidc-test-" + UUID.randomUUID());
        settings.put(EngineSettings.REQUEST_TIMEOUT_MS, "20000");
        return settings;
    }

    private static String createTopic() throws Exception {
        String topic = prefix + "topic-" + UUID.randomUUID();
        superUser
                .createTopics(Collections.singleton(new NewTopic(topic, 1, (short) 1)))
                .all()
                .get();
        return topic;
    }

    private static Map<TopicPartition, OffsetAndMetadata> committed(String group) throws Exception {
        return superUser
                .listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get();
    }

    /** {"granted": {client: n}, "refused": {client: n}} of the provider, as two numbers for the one client. */
    private static long[] tokenRequests() throws Exception {
        HttpURLConnection connection = (HttpURLConnection) new URL(env("KOC_OIDC_STATS_URL")).openConnection();
        String body;
        try (BufferedReader in =
                new BufferedReader(new InputStreamReader(connection.getInputStream(), StandardCharsets.UTF_8))) {
            body = in.lines().collect(Collectors.joining("\n"));
        } finally {
            connection.disconnect();
        }
        String client = Pattern.quote(env("KOC_OIDC_CLIENT_ID"));
        return new long[] {count(body, "granted", client), count(body, "refused", client)};
    }

    private static long count(String stats, String outcome, String client) {
        Matcher found = Pattern.compile("\"" + outcome + "\": \\{[^}]*\"" + client + "\": (\\d+)")
                .matcher(stats);
        return found.find() ? Long.parseLong(found.group(1)) : 0;
    }

    private void commitAndReadBack(OffsetCommitter committer, String group, String topic, long offset)
            throws Exception {
        CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":" + offset + "}}", "", WAIT);
        shown.add(String.valueOf(result));
        assertTrue("commit " + offset + " lands: " + result + " " + committer.statusJson(), result.allCommitted());
        assertTrue(committer.flush(WAIT));
        assertEquals(offset, committed(group).get(new TopicPartition(topic, 0)).offset());
        shown.add(committer.statusJson());
    }

    @Test
    public void commitsKeepLandingAcrossTokenLifetimesAndAKilledHelper() throws Exception {
        String topic = createTopic();
        String group = prefix + "group-" + UUID.randomUUID();
        long grantedBefore = tokenRequests()[0];
        try (OffsetCommitter committer = OffsetCommitter.create(oidcSettings(env("KOC_OIDC_CLIENT_SECRET")))) {
            long firstHelper = committer.clusterStatus().helperPid;
            long killAt =
                    System.nanoTime() + Duration.ofSeconds(tokenLifetimeS + 10).toNanos();
            long endAt = System.nanoTime()
                    + Duration.ofSeconds(3L * tokenLifetimeS + 10).toNanos();
            boolean killed = false;
            long offset = 0;
            while (System.nanoTime() < endAt) {
                if (!killed && System.nanoTime() > killAt) {
                    Process kill = new ProcessBuilder("kill", "-9", Long.toString(committer.clusterStatus().helperPid))
                            .inheritIO()
                            .start();
                    assertEquals(0, kill.waitFor());
                    killed = true;
                }
                commitAndReadBack(committer, group, topic, ++offset);
                Thread.sleep(COMMIT_PERIOD_MS);
            }
            assertTrue("the helper was restarted", committer.helperRestarts() >= 1);
            assertNotEquals(firstHelper, committer.clusterStatus().helperPid);
            long granted = tokenRequests()[0] - grantedBefore;
            System.out.println("OidcCommitTest: " + granted + " tokens fetched for " + offset + " commits");
            // One token per lifetime at least (refreshed at 80 % of it), over more than three lifetimes.
            assertTrue("tokens were fetched from the provider before they expired: " + granted, granted >= 4);
        }
    }

    @Test
    public void aTokenEndpointThatRefusesGivesOneClearErrorWithoutHotRetry() throws Exception {
        String topic = createTopic();
        String group = prefix + "group-" + UUID.randomUUID();
        String wrongSecret = "koc-canary-wrong-" + UUID.randomUUID();
        long refusedBefore = tokenRequests()[1];
        long startedAt = System.nanoTime();
        OffsetCommitter committer;
        try {
            committer = OffsetCommitter.create(oidcSettings(wrongSecret));
        } catch (OffsetCommitterException refused) {
            shown.add(String.valueOf(refused));
            assertFalse(refused.getMessage(), refused.getMessage().contains(wrongSecret));
            assertClearTokenError(refused.getMessage());
            assertGoodCommitterCommits(topic);
            assertTrue(tokenRequests()[1] - refusedBefore <= maxBackedOffRequests(startedAt));
            return;
        }
        try {
            // The login's failure reaches the native side: the commit fails at once with it, instead of waiting
            // for a token until the request times out.
            CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":5}}", "", FAILING_WAIT);
            shown.add(String.valueOf(result));
            assertFalse("no token, no commit: " + result, result.allCommitted());
            assertEquals(
                    result.toString(),
                    "Authentication",
                    result.partitions().get(0).errorKind());
            assertGoodCommitterCommits(topic);
            shown.add(committer.statusJson());
            GroupStatus status = groupStatus(committer, group);
            shown.add(String.valueOf(status));
            assertTrue("no hot retry of the commit: " + status, status.commitsFailed() <= 3);
            assertEquals(status.toString(), "Authentication", status.lastErrorKind());
            assertEquals(status.toString(), Boolean.FALSE, status.lastErrorRetriable());
            assertClearTokenError(status.lastErrorMessage());
            assertFalse(status.lastErrorMessage(), status.lastErrorMessage().contains(wrongSecret));
            long refused = tokenRequests()[1] - refusedBefore;
            System.out.println("OidcCommitTest: " + refused + " token requests refused");
            assertTrue("the provider refused the wrong secret", refused >= 1);
            assertTrue(
                    "no hot retry: " + refused + " token requests refused", refused <= maxBackedOffRequests(startedAt));
            List<String> warnings = loginWarnings();
            assertEquals("one warning from the login: " + warnings, 1, warnings.size());
            assertClearTokenError(warnings.get(0));
            // The scope ("kafka") is no secret: hiding it would mangle every class name in the message.
            assertFalse(warnings.get(0), warnings.get(0).contains("org.apache.[redacted]"));
            assertFalse(warnings.get(0), warnings.get(0).contains(wrongSecret));
        } finally {
            committer.close();
        }
        assertTrue("nothing was committed", committed(group).isEmpty());
        // The wrong secret is a canary too.
        for (String line : captured.lines) {
            assertFalse("the wrong secret shows in: " + line, line.contains(wrongSecret));
        }
        for (String line : shown) {
            assertFalse("the wrong secret shows in: " + line, line.contains(wrongSecret));
        }
    }

    @Test
    public void aTokenWhosePrincipalMayNotUseTheGroupIsRefusedTheGroup() throws Exception {
        String topic = createTopic();
        // The token's subject may read groups named with the prefix only.
        String group = "no-acl-" + UUID.randomUUID();
        try (OffsetCommitter committer = OffsetCommitter.create(oidcSettings(env("KOC_OIDC_CLIENT_SECRET")))) {
            CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":3}}", "", WAIT);
            shown.add(String.valueOf(result));
            assertFalse(result.allCommitted());
            assertEquals(
                    String.valueOf(result),
                    "GroupAuthorizationFailed",
                    result.partitions().get(0).errorKind());
            GroupStatus status = groupStatus(committer, group);
            shown.add(committer.statusJson());
            assertTrue("no retry of a refused group: " + status, status.commitsFailed() <= 1);
        }
        assertTrue("nothing was committed", committed(group).isEmpty());
    }

    /**
     * Token requests a refused login may have made since {@code startedAt}: the refresher backs off from 1 s,
     * doubling, so it asks at 0, 1, 3, 7, 15 ... s, floor(log2(t + 1)) + 1 times in t seconds; one more for slack.
     * A retry without back-off would ask hundreds of times.
     */
    private static long maxBackedOffRequests(long startedAt) {
        double seconds = (System.nanoTime() - startedAt) / 1e9;
        return (long) Math.floor(Math.log(seconds + 1) / Math.log(2)) + 2;
    }

    private void assertGoodCommitterCommits(String topic) throws Exception {
        try (OffsetCommitter good = OffsetCommitter.create(oidcSettings(env("KOC_OIDC_CLIENT_SECRET")))) {
            commitAndReadBack(good, prefix + "group-" + UUID.randomUUID(), topic, 21);
        }
    }

    private static GroupStatus groupStatus(OffsetCommitter committer, String group) {
        for (GroupStatus status : committer.status()) {
            if (status.group().equals(group)) {
                return status;
            }
        }
        throw new AssertionError("no status for " + group + ": " + committer.statusJson());
    }

    private static void assertClearTokenError(String message) {
        String lower = message.toLowerCase(Locale.ROOT);
        assertTrue("the error names the login handler: " + message, message.contains(KAFKA_LOGIN_HANDLER));
        assertTrue(
                "the error says the token was refused: " + message,
                lower.contains("401") || lower.contains("invalid_client") || lower.contains("unauthorized"));
    }

    /** WARN lines of the token refresher (the group's own commit failures are the engine's, counted apart). */
    private List<String> loginWarnings() {
        List<String> found = new ArrayList<>();
        synchronized (captured.records) {
            captured.records.stream()
                    .filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue())
                    .filter(r -> OAuthTokens.class.getName().equals(r.getLoggerName()))
                    .forEach(r -> found.add(String.valueOf(r.getMessage())));
        }
        return found;
    }
}
