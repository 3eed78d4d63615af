package io.kafkaoffsetcommitter;

/**
 * Keys of the engine's own settings, given to {@link OffsetCommitter#create} beside the Kafka client
 * settings and never sent to Kafka. Defined here once for Java and Scala; the native core, which reads
 * them, defines them in {@code rust/src/config/engine.rs}.
 */
public final class EngineSettings {
    private EngineSettings() {}

    /** Every engine setting starts with this prefix; an unknown key under it fails at creation. */
    public static final String PREFIX = "committer.";

    /** Deadline of each commit request (default 30000; else Java's {@code default.api.timeout.ms}). */
    public static final String REQUEST_TIMEOUT_MS = PREFIX + "request.timeout.ms";

    /** First pause before retrying a retriable failure (default 200), doubling with jitter. */
    public static final String RETRY_BACKOFF_MS = PREFIX + "retry.backoff.ms";

    /** The longest pause between retries (default 10000). */
    public static final String RETRY_BACKOFF_MAX_MS = PREFIX + "retry.backoff.max.ms";

    /** Attempts in total, the first included, while an error is retriable (default 8). */
    public static final String RETRY_MAX_ATTEMPTS = PREFIX + "retry.max.attempts";

    /** Wait after a permanent error of a group before trying again (default 60000; at least 1). */
    public static final String FAILURE_COOLDOWN_MS = PREFIX + "failure.cooldown.ms";

    /** How often unchanged offsets are re-committed so the broker keeps them (default 3600000; at least 1). */
    public static final String KEEPALIVE_INTERVAL_MS = PREFIX + "keepalive.interval.ms";

    /**
     * {@code true}: OAUTHBEARER tokens come from this JVM's login handler ({@code sasl.login.callback.handler.class},
     * Kafka's unsecured handler when none is named), pushed to the core and refreshed before they expire.
     * {@link OffsetCommitter#create} sets it itself for OAUTHBEARER settings other than unsecured test logins.
     */
    public static final String OAUTHBEARER_TOKENS_PUSHED = PREFIX + "oauthbearer.tokens.pushed";

    /**
     * Who runs the commit requests: {@code auto} (the default: librdkafka in the helper process when it can make the
     * settings' login, else Kafka's Java client in this JVM, for Kerberos, SCRAM delegation tokens, AWS_MSK_IAM and
     * other JAAS login modules), {@code native} or {@code jvm}. Forcing {@code native} for a login only the JVM can
     * make fails at creation, saying why.
     */
    public static final String EXECUTOR = PREFIX + "executor";

    /**
     * librdkafka's {@code debug} contexts for the commit client, comma-separated (e.g. {@code broker,protocol,cgrp};
     * {@code all} for everything), to diagnose connectivity; off by default. Its lines reach the logger
     * {@code io.kafkaoffsetcommitter.native.librdkafka.<cluster>} at INFO. An unknown context fails at creation,
     * listing the known ones. Like other client tuning settings it takes effect when a cluster's client starts: the
     * first committer of a cluster decides. Native executor only (Kafka's Java client has no such switch).
     */
    public static final String LIBRDKAFKA_DEBUG = PREFIX + "librdkafka.debug";
}
