package io.kafkaoffsetcommitter;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.AlterConsumerGroupOffsetsResult;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.protocol.Errors;

/**
 * The JVM executor of one cluster: for logins librdkafka cannot make (Kerberos, delegation tokens, other JAAS login
 * modules), one daemon thread pulls the cluster's commit requests from the native core and runs them with Kafka's
 * own {@code Admin.alterConsumerGroupOffsets}, built from the committer's original settings. The native engine keeps
 * everything else (coalescing, retries, keep-alive, deadlines, status). The thread ends when the core closes the
 * cluster, and then closes its {@code Admin}. Touched only after {@link KafkaClients#require} passed.
 */
final class JvmExecutor {
    /** How long one pull waits in the core; the pull also returns at once when the cluster closes. */
    private static final long PULL_WAIT_MS = 1_000;

    private static final Duration ADMIN_CLOSE_TIMEOUT = Duration.ofSeconds(5);

    /** librdkafka's {@code RD_KAFKA_RESP_ERR__AUTHENTICATION}: a failed login parks the group, as natively. */
    static final int AUTHENTICATION_FAILED = -169;

    // Guards `handle`: answers from Admin's threads hold the read lock; the end of the thread zeroes it under the
    // write lock before releasing it, so native code never sees a freed handle.
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;
    private final Admin admin;
    private final Redaction redaction;
    private final Thread thread;

    private JvmExecutor(long handle, Admin admin, Redaction redaction, String bootstrap) {
        this.handle = handle;
        this.admin = admin;
        this.redaction = redaction;
        this.thread = new Thread(this::run, "kafka-offset-committer-jvm-executor[" + bootstrap + "]");
        thread.setDaemon(true);
        thread.setContextClassLoader(Thread.currentThread().getContextClassLoader());
    }

    /**
     * Builds the {@code Admin} from {@code originalSettings} (the {@code committer.*} keys left out) and starts the
     * thread serving {@code executorHandle}. On failure the handle is released and an {@link InvalidConfigException}
     * says why, without any secret value.
     */
    static JvmExecutor start(long executorHandle, Map<String, String> originalSettings) {
        Redaction redaction = new Redaction(originalSettings);
        Admin admin;
        try {
            Properties properties = new Properties();
            for (Map.Entry<String, String> setting : originalSettings.entrySet()) {
                String key = setting.getKey();
                if (!key.trim().toLowerCase(Locale.ROOT).startsWith(EngineSettings.PREFIX)) {
                    properties.put(key, setting.getValue());
                }
            }
            admin = Admin.create(properties);
        } catch (RuntimeException | LinkageError refused) {
            NativeBridge.releaseJvmExecutor(executorHandle);
            throw new InvalidConfigException(
                    "Kafka's Java client refused the settings of the JVM executor: " + redaction.describe(refused));
        }
        String bootstrap = originalSettings.getOrDefault("bootstrap.servers", "");
        JvmExecutor executor = new JvmExecutor(executorHandle, admin, redaction, bootstrap);
        executor.thread.start();
        return executor;
    }

    /** Waits up to {@code timeout} for the thread to end; true when it has. */
    boolean awaitEnd(Duration timeout) throws InterruptedException {
        thread.join(Math.max(1, timeout.toMillis()));
        return !thread.isAlive();
    }

    private void run() {
        try {
            while (true) {
                JvmCommitRequest request;
                try {
                    request = NativeBridge.nextCommitRequest(handle, PULL_WAIT_MS);
                } catch (CommitterClosedException closed) {
                    return;
                }
                if (request != null) {
                    submit(request);
                }
            }
        } finally {
            // Admin completes or fails every call it holds before close returns, so no answer comes after this.
            admin.close(ADMIN_CLOSE_TIMEOUT);
            lock.writeLock().lock();
            try {
                NativeBridge.releaseJvmExecutor(handle);
                handle = 0;
            } finally {
                lock.writeLock().unlock();
            }
        }
    }

    private void submit(JvmCommitRequest request) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (int index = 0; index < request.topics.length; index++) {
            offsets.put(
                    new TopicPartition(request.topics[index], request.partitions[index]),
                    new OffsetAndMetadata(request.offsets[index], request.metadata));
        }
        AlterConsumerGroupOffsetsResult result;
        try {
            AlterConsumerGroupOffsetsOptions options = new AlterConsumerGroupOffsetsOptions()
                    .timeoutMs((int) Math.min(request.timeoutMs, Integer.MAX_VALUE));
            result = admin.alterConsumerGroupOffsets(request.groupId, offsets, options);
        } catch (RuntimeException refused) {
            answer(request, new ArrayList<>(offsets.keySet()), null, refused);
            return;
        }
        List<TopicPartition> partitions = new ArrayList<>(offsets.keySet());
        result.all().whenComplete((ignored, failure) -> answer(request, partitions, result, null));
    }

    /** Answers with each partition's outcome, or with {@code requestFailure} for the whole request. */
    private void answer(
            JvmCommitRequest request,
            List<TopicPartition> partitions,
            AlterConsumerGroupOffsetsResult result,
            Throwable requestFailure) {
        int count = partitions.size();
        String[] topics = new String[count];
        int[] numbers = new int[count];
        int[] codes = new int[count];
        String[] messages = new String[count];
        for (int index = 0; index < count; index++) {
            TopicPartition partition = partitions.get(index);
            topics[index] = partition.topic();
            numbers[index] = partition.partition();
            messages[index] = "";
            if (result == null) {
                continue;
            }
            try {
                // Complete: the request's future completed before this runs.
                result.partitionResult(partition).get();
            } catch (ExecutionException failed) {
                codes[index] = errorCode(failed.getCause());
                messages[index] = redaction.describe(failed.getCause());
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                codes[index] = Errors.REQUEST_TIMED_OUT.code();
                messages[index] = "interrupted while reading the answer";
            }
        }
        int requestCode = requestFailure == null ? 0 : errorCode(requestFailure);
        String requestMessage = requestFailure == null ? "" : redaction.describe(requestFailure);
        lock.readLock().lock();
        try {
            if (handle != 0) {
                NativeBridge.answerCommit(
                        handle, request.requestId, topics, numbers, codes, messages, requestCode, requestMessage);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Kafka's numeric error code for a failure of Kafka's Java client, which the native engine's retry and
     * partition rules read as they read librdkafka's: broker errors by {@link Errors}, a time-out as
     * REQUEST_TIMED_OUT, a failed login (client-side) as librdkafka's authentication error.
     */
    static int errorCode(Throwable failure) {
        Throwable cause = failure;
        while ((cause instanceof ExecutionException || cause instanceof CompletionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof AuthenticationException) {
            return AUTHENTICATION_FAILED;
        }
        if (cause instanceof TimeoutException) {
            return Errors.REQUEST_TIMED_OUT.code();
        }
        return Errors.forException(cause).code();
    }

    /** Keeps the secret values of the settings out of every message the core logs or reports. */
    static final class Redaction {
        private static final Pattern JAAS_VALUE = Pattern.compile("=\\s*(\"[^\"]*\"|'[^']*'|[^\\s;]+)");
        private final List<String> secrets = new ArrayList<>();

        Redaction(Map<String, String> settings) {
            for (Map.Entry<String, String> setting : settings.entrySet()) {
                String key = setting.getKey().toLowerCase(Locale.ROOT);
                String value = setting.getValue();
                if (value == null || !isSecret(key)) {
                    continue;
                }
                add(value);
                if (key.endsWith("jaas.config")) {
                    Matcher option = JAAS_VALUE.matcher(value);
                    while (option.find()) {
                        String quoted = option.group(1);
                        add(
                                quoted.startsWith("\"") || quoted.startsWith("'")
                                        ? quoted.substring(1, quoted.length() - 1)
                                        : quoted);
                    }
                }
            }
        }

        private static boolean isSecret(String key) {
            return key.contains("password")
                    || key.contains("jaas")
                    || key.contains("secret")
                    || key.contains("token")
                    || key.contains("credential")
                    || key.endsWith(".key");
        }

        private void add(String value) {
            String trimmed = value.trim();
            // Flags and very short values would blank out ordinary words of a message.
            if (trimmed.length() >= 4 && !trimmed.equalsIgnoreCase("true") && !trimmed.equalsIgnoreCase("false")) {
                secrets.add(trimmed);
            }
        }

        /** The failure's class and message, every secret value replaced. */
        /**
         * The failure and its causes, each class and message (a failed login shows only in a cause, e.g. Kerberos'
         * "Unable to obtain password from user" under "Failed to create new KafkaAdminClient"), secret values hidden.
         */
        String describe(Throwable failure) {
            StringBuilder chain = new StringBuilder();
            for (Throwable cause = failure; cause != null && chain.length() < 2000; cause = cause.getCause()) {
                chain.append(chain.length() == 0 ? "" : "; caused by ")
                        .append(cause.getClass().getSimpleName())
                        .append(": ")
                        .append(cause.getMessage());
                if (cause.getCause() == cause) {
                    break;
                }
            }
            String text = chain.toString();
            for (String secret : secrets) {
                text = text.replace(secret, "[hidden]");
            }
            return text;
        }
    }
}
