import java.util.Collections;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.security.auth.login.LoginException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;

/**
 * The Kerberos fixtures of tests/kerberos/with-kdc.sh, proven with Kafka's own Java client and nothing of
 * ours: the client keytab logs in to the KDC, authenticates to the broker's GSSAPI listener, commits a group
 * offset that the super-user listener reads back; the principal without ACLs authenticates but is refused the
 * group (so the broker really knows who logged in); the rotated keytab and a missing one fail their login.
 * Run with the Kafka jars on the class path and -Djava.security.krb5.conf (tests/kerberos/baseline.sh).
 */
public final class KerberosBaseline {
    private static final long TIMEOUT_S = 60;

    public static void main(String[] args) throws Exception {
        String prefix = env("KOC_KRB_ACL_PREFIX") + "baseline-" + UUID.randomUUID();
        TopicPartition partition = new TopicPartition(prefix, 0);
        try (Admin superUser = admin(plaintext())) {
            superUser
                    .createTopics(Collections.singleton(new NewTopic(prefix, 1, (short) 1)))
                    .all()
                    .get(TIMEOUT_S, TimeUnit.SECONDS);

            try (Admin client = admin(gssapi(env("KOC_KRB_CLIENT_PRINCIPAL"), env("KOC_KRB_CLIENT_KEYTAB")))) {
                client.alterConsumerGroupOffsets(prefix, Map.of(partition, new OffsetAndMetadata(42, "baseline")))
                        .all()
                        .get(TIMEOUT_S, TimeUnit.SECONDS);
                check("the client reads its commit back over GSSAPI", committed(client, prefix, partition) == 42);
            }
            check("the super user reads the client's commit", committed(superUser, prefix, partition) == 42);
        }

        try (Admin noAcl = admin(gssapi(env("KOC_KRB_NOACL_PRINCIPAL"), env("KOC_KRB_NOACL_KEYTAB")))) {
            Throwable refused =
                    failure(() -> noAcl.alterConsumerGroupOffsets(prefix, Map.of(partition, new OffsetAndMetadata(1)))
                            .all()
                            .get(TIMEOUT_S, TimeUnit.SECONDS));
            check(
                    "the principal without ACLs is refused the group: " + refused,
                    causedBy(refused, GroupAuthorizationException.class));
        }

        String rotated = env("KOC_KRB_ROTATED_KEYTAB");
        Throwable stale = failure(
                () -> admin(gssapi(env("KOC_KRB_ROTATED_PRINCIPAL"), rotated)).close());
        check("the rotated keytab fails its login: " + stale, causedBy(stale, LoginException.class));
        Throwable missing = failure(() -> admin(gssapi(env("KOC_KRB_CLIENT_PRINCIPAL"), rotated + ".missing"))
                .close());
        check("a missing keytab fails its login: " + missing, causedBy(missing, LoginException.class));
        System.out.println("kerberos baseline: all checks passed");
    }

    private interface Action {
        void run() throws Exception;
    }

    private static Throwable failure(Action action) {
        try {
            action.run();
        } catch (Exception e) {
            return e;
        }
        throw new AssertionError("expected a failure, got none");
    }

    private static boolean causedBy(Throwable thrown, Class<? extends Throwable> type) {
        for (Throwable cause = thrown; cause != null; cause = cause.getCause()) {
            if (type.isInstance(cause)) {
                return true;
            }
        }
        return false;
    }

    private static void check(String what, boolean holds) {
        if (!holds) {
            throw new AssertionError("kerberos baseline failed: " + what);
        }
        System.out.println("ok: " + what);
    }

    private static long committed(Admin admin, String group, TopicPartition partition) throws Exception {
        OffsetAndMetadata offset = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get(TIMEOUT_S, TimeUnit.SECONDS)
                .get(partition);
        return offset == null ? -1 : offset.offset();
    }

    private static Properties plaintext() {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env("KOC_KRB_ADMIN_BOOTSTRAP"));
        return properties;
    }

    /** What a Spark job's Kafka source would carry for a keytab login. */
    private static Properties gssapi(String principal, String keytab) {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env("KOC_KRB_BOOTSTRAP"));
        properties.put("security.protocol", "SASL_PLAINTEXT");
        properties.put("sasl.mechanism", "GSSAPI");
        properties.put("sasl.kerberos.service.name", env("KOC_KRB_SERVICE_NAME"));
        properties.put(
                "sasl.jaas.config",
                "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true" + " keyTab=\""
                        + keytab + "\" principal=\"" + principal + "\";");
        return properties;
    }

    private static Admin admin(Properties properties) {
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        return Admin.create(properties);
    }

    private static String env(String name) {
        String value = System.getenv(name);
        if (value == null) {
            throw new IllegalStateException(name + " is not set: run through tests/kerberos/with-kdc.sh");
        }
        return value;
    }
}
