package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import javax.security.auth.kerberos.KerberosKey;
import javax.security.auth.kerberos.KerberosPrincipal;
import javax.security.auth.kerberos.KeyTab;
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
 * GSSAPI (Kerberos with a keytab) through the JVM API: a real MIT KDC and a broker whose SASL_PLAINTEXT
 * listener speaks GSSAPI, both started by tests/kerberos/with-kdc.sh, which exports where they are. Commits
 * made with the settings a Spark job's Kafka source would carry are read back by Kafka's own Admin client
 * on the broker's super-user listener; a principal without ACLs, a rotated keytab and a missing one each
 * give one clear error while another committer's commits go on; no key of any keytab, and no
 * {@code sasl.jaas.config} value, shows in a log line, status or exception.
 *
 * <p>Skipped when the wrapper's environment is absent (a plain {@code core/test}); with
 * {@code -Dkoc.kerberos.required=true} (as `make test` runs it) its absence fails the class instead.
 */
public class KerberosCommitTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration FAILING_WAIT = Duration.ofSeconds(40);
    // Long enough for a retry loop without back-off to show as many failed attempts.
    private static final long SETTLE_MS = 5_000;
    private static final int MAX_ATTEMPTS_WITHOUT_HOT_RETRY = 3;

    private static Admin superUser;
    private static String prefix;
    private static List<String> secrets;

    private CapturedLog captured;
    private final List<String> shown = Collections.synchronizedList(new ArrayList<>());

    @BeforeClass
    public static void connect() throws Exception {
        boolean present = System.getenv("KOC_KRB5_CONF") != null;
        if (!present && Boolean.getBoolean("koc.kerberos.required")) {
            throw new IllegalStateException("KOC_KRB5_CONF is not set: run under tests/kerberos/with-kdc.sh");
        }
        Assume.assumeTrue("no KDC: run under tests/kerberos/with-kdc.sh", present);
        // What a user's JVM is started with (-Djava.security.krb5.conf): the realm's private krb5.conf.
        System.setProperty("java.security.krb5.conf", env("KOC_KRB5_CONF"));
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env("KOC_KRB_ADMIN_BOOTSTRAP"));
        superUser = Admin.create(properties);
        prefix = env("KOC_KRB_ACL_PREFIX");
        secrets = new ArrayList<>();
        for (String who : new String[] {"CLIENT", "NOACL", "ROTATED"}) {
            secrets.addAll(keyMaterial(env("KOC_KRB_" + who + "_KEYTAB"), env("KOC_KRB_" + who + "_PRINCIPAL")));
        }
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

    /** No key of any keytab, and no JAAS entry (it names the keytab and would carry a password), anywhere. */
    @After
    public void noSecretShows() {
        captured.detach();
        List<String> everything = new ArrayList<>(captured.lines);
        everything.addAll(shown);
        for (String line : everything) {
            for (String secret : secrets) {
                assertFalse("a keytab's key shows in: " + line, line.contains(secret));
            }
            assertFalse("a JAAS entry shows in: " + line, line.contains("Krb5LoginModule required"));
        }
    }

    private static String env(String name) {
        String value = System.getenv(name);
        assertNotNull(name + " is not set: run under tests/kerberos/with-kdc.sh", value);
        return value;
    }

    /** The keytab's keys as hex (both cases) and Base64, and the whole file as Base64. */
    private static List<String> keyMaterial(String keytab, String principal) throws Exception {
        List<String> material = new ArrayList<>();
        KerberosKey[] keys = KeyTab.getInstance(new File(keytab)).getKeys(new KerberosPrincipal(principal));
        assertTrue("the keytab " + keytab + " holds keys", keys.length > 0);
        for (KerberosKey key : keys) {
            byte[] encoded = key.getEncoded();
            StringBuilder hex = new StringBuilder();
            for (byte b : encoded) {
                hex.append(String.format("%02x", b));
            }
            material.add(hex.toString());
            material.add(hex.toString().toUpperCase(Locale.ROOT));
            material.add(Base64.getEncoder().encodeToString(encoded));
        }
        material.add(Base64.getEncoder().encodeToString(Files.readAllBytes(Paths.get(keytab))));
        return material;
    }

    /** What a Spark job's Kafka source carries for a keytab login (plus the client id). */
    private static Map<String, String> gssapiSettings(String principal, String keytab) {
        Map<String, String> settings = new HashMap<>();
        settings.put("bootstrap.servers", env("KOC_KRB_BOOTSTRAP"));
        settings.put("security.protocol", "SASL_PLAINTEXT");
        settings.put("sasl.mechanism", "GSSAPI");
        settings.put("sasl.kerberos.service.name", env("KOC_KRB_SERVICE_NAME"));
        settings.put(
                "sasl.jaas.config",
                "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true keyTab=\"" + keytab
                        + "\" principal=\"" + principal + "\";");
        settings.put("client.id", "kerberos-test-" + UUID.randomUUID());
        settings.put(EngineSettings.REQUEST_TIMEOUT_MS, "20000");
        return settings;
    }

    private static Map<String, String> clientSettings() {
        return gssapiSettings(env("KOC_KRB_CLIENT_PRINCIPAL"), env("KOC_KRB_CLIENT_KEYTAB"));
    }

    private static String createTopic(int partitions) throws Exception {
        String topic = prefix + "topic-" + UUID.randomUUID();
        superUser
                .createTopics(Collections.singleton(new NewTopic(topic, partitions, (short) 1)))
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

    private void commitAndReadBack(OffsetCommitter committer, String topic, long offset) throws Exception {
        String group = prefix + "group-" + UUID.randomUUID();
        CommitResult result = committer.commitSync(
                group, "{\"" + topic + "\":{\"0\":" + offset + ",\"1\":" + (offset + 1) + "}}", "", WAIT);
        shown.add(String.valueOf(result));
        assertTrue("committed: " + result + " " + committer.statusJson(), result.allCommitted());
        assertTrue(committer.flush(WAIT));
        Map<TopicPartition, OffsetAndMetadata> read = committed(group);
        assertEquals(offset, read.get(new TopicPartition(topic, 0)).offset());
        assertEquals(offset + 1, read.get(new TopicPartition(topic, 1)).offset());
        shown.add(committer.statusJson());
    }

    @Test
    public void commitsWithAKeytabLandAndReadBack() throws Exception {
        String topic = createTopic(2);
        try (OffsetCommitter committer = OffsetCommitter.create(clientSettings())) {
            commitAndReadBack(committer, topic, 7);
            // A second group on the same committer: the login is held, not made once per commit.
            commitAndReadBack(committer, topic, 11);
        }
        // The core's lines reach java.util.logging through a forwarding thread: wait for them.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (captured.lines.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertFalse("the committer logged something", captured.lines.isEmpty());
    }

    @Test
    public void aPrincipalWithoutAclsIsRefusedTheGroup() throws Exception {
        String topic = createTopic(1);
        String group = prefix + "group-" + UUID.randomUUID();
        Map<String, String> settings = gssapiSettings(env("KOC_KRB_NOACL_PRINCIPAL"), env("KOC_KRB_NOACL_KEYTAB"));
        try (OffsetCommitter committer = OffsetCommitter.create(settings)) {
            CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":3}}", "", WAIT);
            shown.add(String.valueOf(result));
            assertFalse(result.allCommitted());
            assertEquals(
                    String.valueOf(result),
                    "GroupAuthorizationFailed",
                    result.partitions().get(0).errorKind());
            shown.add(committer.statusJson());
        }
        assertTrue("nothing was committed", committed(group).isEmpty());
    }

    @Test
    public void aRotatedKeytabGivesOneClearError() throws Exception {
        failsItsLoginOnce(env("KOC_KRB_ROTATED_PRINCIPAL"), env("KOC_KRB_ROTATED_KEYTAB"));
    }

    @Test
    public void aMissingKeytabGivesOneClearError() throws Exception {
        Path missing = Paths.get(env("KOC_KRB_WORKDIR"), "no-such-" + UUID.randomUUID() + ".keytab");
        failsItsLoginOnce(env("KOC_KRB_CLIENT_PRINCIPAL"), missing.toString());
    }

    /**
     * A login that cannot succeed: either {@code create} refuses the settings, or the group's commits fail
     * with one clear error in the status, are not retried hot, and a committer with a good keytab commits
     * meanwhile. Either way the message says it is the Kerberos login that failed, not that GSSAPI is
     * unsupported.
     */
    private void failsItsLoginOnce(String principal, String keytab) throws Exception {
        String topic = createTopic(2);
        String group = prefix + "group-" + UUID.randomUUID();
        Map<String, String> settings = gssapiSettings(principal, keytab);
        OffsetCommitter committer;
        try {
            committer = OffsetCommitter.create(settings);
        } catch (OffsetCommitterException refused) {
            shown.add(String.valueOf(refused));
            assertClearLoginError(String.valueOf(refused.getMessage()));
            assertGoodCommitterCommits(topic);
            return;
        }
        try {
            try {
                CommitResult result = committer.commitSync(group, "{\"" + topic + "\":{\"0\":5}}", "", FAILING_WAIT);
                shown.add(String.valueOf(result));
                assertFalse("a failed login cannot commit: " + result, result.allCommitted());
            } catch (CommitTimeoutException stillTrying) {
                shown.add(String.valueOf(stillTrying));
            }
            assertGoodCommitterCommits(topic);
            Thread.sleep(SETTLE_MS);
            GroupStatus status = groupStatus(committer, group);
            shown.add(committer.statusJson());
            assertTrue("the failure shows in the status: " + status, status.lastAttemptFailed());
            assertClearLoginError(status.lastErrorKind() + ": " + status.lastErrorMessage());
            assertTrue(
                    "no hot retry: " + status.commitsFailed() + " failed attempts",
                    status.commitsFailed() <= MAX_ATTEMPTS_WITHOUT_HOT_RETRY);
            long warnings = warningsAbout(group);
            assertTrue("one warning about the group, got " + warnings + ": " + captured.lines, warnings <= 1);
        } finally {
            committer.close();
        }
        assertTrue("nothing was committed", committed(group).isEmpty());
    }

    private void assertGoodCommitterCommits(String topic) throws Exception {
        try (OffsetCommitter good = OffsetCommitter.create(clientSettings())) {
            commitAndReadBack(good, topic, 21);
        }
    }

    private static void assertClearLoginError(String message) {
        String lower = message.toLowerCase(Locale.ROOT);
        assertFalse("GSSAPI itself is refused: " + message, lower.contains("not supported"));
        assertTrue(
                "the error names the Kerberos login or the keytab: " + message,
                lower.contains("keytab") || lower.contains("login") || lower.contains("kerberos"));
    }

    private static GroupStatus groupStatus(OffsetCommitter committer, String group) {
        for (GroupStatus status : committer.status()) {
            if (status.group().equals(group)) {
                return status;
            }
        }
        throw new AssertionError("no status for " + group + ": " + committer.statusJson());
    }

    private long warningsAbout(String group) {
        synchronized (captured.records) {
            return captured.records.stream()
                    .filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue())
                    .filter(r -> String.valueOf(r.getMessage()).contains(group))
                    .count();
        }
    }
}
