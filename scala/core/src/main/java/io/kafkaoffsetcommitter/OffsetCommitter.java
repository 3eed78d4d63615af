package io.kafkaoffsetcommitter;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Commits offsets to Kafka consumer groups without joining them, from any JVM application.
 *
 * <p>Created from Java Kafka client settings (the same map a {@code KafkaConsumer} takes, as strings);
 * committers for the same cluster share one native Kafka client and one commit thread, so creating
 * one per query or per group is cheap. {@link #commitAsync} never waits on the network: the native
 * engine commits in the background, keeps the newest offsets per partition, retries with backoff and
 * re-commits unchanged offsets periodically so the broker does not expire them.
 *
 * <p>Settings with the prefix {@code committer.} tune the engine instead of the Kafka client; their keys
 * are the constants of {@link EngineSettings}.
 *
 * <p>Thread-safe. Offsets are given either as Spark's end-offset JSON
 * ({@code {"topic":{"0":42}}}) or as a map topic → partition → next offset to read.
 */
public final class OffsetCommitter implements AutoCloseable {
    private static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(10);

    // Guards `handle`: calls hold the read lock; close takes the write lock and zeroes the handle,
    // so native code never sees a freed committer.
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;

    // Releases the native side if this committer becomes unreachable without close().
    private final LeakGuard leakGuard;

    // The JVM executor's thread this committer started (tests wait for its end); null for the helper process.
    private volatile JvmExecutor jvmExecutor;

    // Keeps the cluster's OAUTHBEARER token fresh when the settings' login handler runs in this JVM; else null.
    private volatile OAuthTokens.Refresh tokenRefresh;

    private OffsetCommitter(long handle) {
        this.handle = handle;
        this.leakGuard = LeakGuard.watch(this, handle);
    }

    /**
     * Creates a committer. Settings librdkafka cannot honour fail here with {@link InvalidConfigException};
     * a missing native library fails with {@link NativeLibraryUnavailableException}.
     */
    public static OffsetCommitter create(Map<String, String> kafkaSettings) {
        NativeRuntime.start();
        Map<String, String> settings = KeyStores.toPemSettings(kafkaSettings);
        // On the JVM executor Kafka's own client runs the OAUTHBEARER login itself: no tokens to push.
        boolean jvmExecutorForced = "jvm".equals(settings.get(EngineSettings.EXECUTOR));
        OAuthLogin login = jvmExecutorForced ? null : OAuthTokens.loginFor(settings);
        if (login != null) {
            settings = OAuthTokens.announced(settings);
        }
        String[] keys = new String[settings.size()];
        String[] values = new String[settings.size()];
        int index = 0;
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            keys[index] = setting.getKey();
            values[index] = setting.getValue();
            index++;
        }
        if (login == null) {
            return withJvmExecutor(new OffsetCommitter(NativeBridge.open(keys, values)), kafkaSettings);
        }
        OffsetCommitter committer;
        try {
            committer = new OffsetCommitter(NativeBridge.open(keys, values));
        } catch (RuntimeException refused) {
            login.close();
            throw refused;
        }
        committer.tokenRefresh = OAuthTokens.start(committer, login);
        return committer;
    }

    /**
     * Starts the JVM executor's thread when the committer's cluster runs on Kafka's Java client (logins librdkafka
     * cannot make) and no thread serves it yet; it is built from the settings as the application gave them.
     */
    private static OffsetCommitter withJvmExecutor(OffsetCommitter committer, Map<String, String> originalSettings) {
        long executor = NativeBridge.jvmExecutor(committer.handle);
        if (executor == 0) {
            return committer;
        }
        try {
            KafkaClients.require("Committing with a login librdkafka cannot make (the JVM executor)");
        } catch (InvalidConfigException missing) {
            NativeBridge.releaseJvmExecutor(executor);
            committer.close(Duration.ZERO);
            throw missing;
        }
        try {
            // Releases the handle itself when it cannot start.
            committer.jvmExecutor = JvmExecutor.start(executor, originalSettings);
        } catch (RuntimeException refused) {
            committer.close(Duration.ZERO);
            throw refused;
        }
        return committer;
    }

    /** The native core's version (also written into every commit's metadata). */
    public static String version() {
        NativeRuntime.start();
        return NativeBridge.version();
    }

    /**
     * Runs {@code task} at JVM exit before pending commits are flushed and native clients destroyed, so
     * work that still submits commits (e.g. a listener's queue) is not cut off. Tasks should be bounded.
     */
    public static void runBeforeShutdown(Runnable task) {
        NativeRuntime.runBeforeShutdown(task);
    }

    /** Queues Spark end offsets for {@code groupId} and returns at once. */
    public void commitAsync(String groupId, String sparkOffsetsJson, String metadata) {
        lock.readLock().lock();
        try {
            NativeBridge.commitAsync(openHandle(), groupId, sparkOffsetsJson, nonNull(metadata));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Queues offsets (topic → partition → next offset to read) for {@code groupId} and returns at once. */
    public void commitAsync(String groupId, Map<String, Map<Integer, Long>> offsets, String metadata) {
        TypedOffsets typed = TypedOffsets.of(offsets);
        lock.readLock().lock();
        try {
            NativeBridge.commitOffsetsAsync(
                    openHandle(), groupId, typed.topics, typed.partitions, typed.offsets, nonNull(metadata));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Queues offsets and waits until Kafka has answered, returning each partition's outcome.
     * Throws {@link CommitTimeoutException} if no answer comes in time (the offsets stay queued).
     */
    public CommitResult commitSync(String groupId, String sparkOffsetsJson, String metadata, Duration timeout) {
        lock.readLock().lock();
        try {
            return NativeBridge.commitSync(
                    openHandle(), groupId, sparkOffsetsJson, nonNull(metadata), timeout.toMillis());
        } finally {
            lock.readLock().unlock();
        }
    }

    public CommitResult commitSync(
            String groupId, Map<String, Map<Integer, Long>> offsets, String metadata, Duration timeout) {
        TypedOffsets typed = TypedOffsets.of(offsets);
        lock.readLock().lock();
        try {
            return NativeBridge.commitOffsetsSync(
                    openHandle(),
                    groupId,
                    typed.topics,
                    typed.partitions,
                    typed.offsets,
                    nonNull(metadata),
                    timeout.toMillis());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Offsets as the three parallel arrays the native core takes. */
    private static final class TypedOffsets {
        final String[] topics;
        final int[] partitions;
        final long[] offsets;

        private TypedOffsets(int size) {
            topics = new String[size];
            partitions = new int[size];
            offsets = new long[size];
        }

        static TypedOffsets of(Map<String, Map<Integer, Long>> byTopic) {
            if (byTopic == null) {
                throw new InvalidArgumentException("the offsets are null");
            }
            int size = 0;
            for (Map<Integer, Long> partitions : byTopic.values()) {
                size += partitions == null ? 0 : partitions.size();
            }
            TypedOffsets typed = new TypedOffsets(size);
            int index = 0;
            for (Map.Entry<String, Map<Integer, Long>> topic : byTopic.entrySet()) {
                if (topic.getValue() == null) {
                    continue;
                }
                for (Map.Entry<Integer, Long> partition : topic.getValue().entrySet()) {
                    if (partition.getKey() == null || partition.getValue() == null) {
                        throw new InvalidArgumentException(
                                "a partition or an offset of topic " + topic.getKey() + " is null");
                    }
                    typed.topics[index] = topic.getKey();
                    typed.partitions[index] = partition.getKey();
                    typed.offsets[index] = partition.getValue();
                    index++;
                }
            }
            return typed;
        }
    }

    /**
     * Waits until everything this committer queued has been attempted. True when all of it is
     * committed; false on timeout or when a group is refused permanently (see {@link #status()}).
     */
    public boolean flush(Duration timeout) {
        lock.readLock().lock();
        try {
            return NativeBridge.flush(openHandle(), timeout.toMillis());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The groups this committer committed to, with last commit, last error, counters and latency. */
    public List<GroupStatus> status() {
        return clusterStatus().groups;
    }

    /**
     * {@link #status()} and the helper process as one JSON document (with the engine's scheduling
     * details: {@code inFlight}, {@code parked}, {@code nextAttemptInMs}), for logs and dashboards.
     */
    public String statusJson() {
        lock.readLock().lock();
        try {
            return NativeBridge.statusJson(openHandle());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The typed status the public status getters read, with the helper process's pid for tests. */
    ClusterStatus clusterStatus() {
        lock.readLock().lock();
        try {
            return NativeBridge.status(openHandle());
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Flushes up to {@code timeout}, then releases the committer. Returns the flush result; idempotent.
     *
     * <p>Offsets not confirmed by then are not dropped: they stay queued in the native core, without
     * keep-alive re-commits, until Kafka takes them, refuses them for good, or the JVM exits (whose
     * shutdown flush tries them once more). A new committer for the same cluster and group continues them.
     */
    public boolean close(Duration timeout) {
        OAuthTokens.Refresh refresh = tokenRefresh;
        if (refresh != null) {
            // Outside the lock: a refresh under way takes the read lock to push its token.
            refresh.stop();
        }
        // Flush under the read lock, so concurrent commitAsync calls go on meanwhile; only the hand-over
        // of the handle takes the write lock, and it does not wait on the network.
        lock.readLock().lock();
        try {
            if (handle == 0) {
                return true;
            }
            NativeBridge.flush(handle, timeout.toMillis());
        } finally {
            lock.readLock().unlock();
        }
        lock.writeLock().lock();
        try {
            if (handle == 0) {
                return true;
            }
            long closing = handle;
            handle = 0;
            leakGuard.closed();
            return NativeBridge.close(closing, 0);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void close() {
        close(DEFAULT_CLOSE_TIMEOUT);
    }

    /** How many times the helper process of this committer's cluster was restarted after it died. */
    public long helperRestarts() {
        return clusterStatus().helperRestarts;
    }

    /** How the last helper process of this cluster ended (e.g. killed by SIGABRT), or null if none has. */
    public String helperLastExit() {
        return clusterStatus().helperLastExit;
    }

    /** Hands the login handler's latest OAUTHBEARER token to the native core (see {@link OAuthTokens}). */
    void pushOAuthToken(OAuthTokens.Token token) {
        String[] names = token.extensions.keySet().toArray(new String[0]);
        String[] values = new String[names.length];
        for (int index = 0; index < names.length; index++) {
            values[index] = token.extensions.get(names[index]);
        }
        lock.readLock().lock();
        try {
            NativeBridge.setOAuthToken(
                    openHandle(), token.value, token.expiresAtEpochMs, token.principal, names, values);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Tells the native core why the login handler made no token; {@code reason} names no secret. */
    void pushOAuthTokenFailure(String reason) {
        lock.readLock().lock();
        try {
            NativeBridge.setOAuthTokenFailure(openHandle(), reason);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Test-only: the JVM executor this committer started, or null. */
    JvmExecutor jvmExecutor() {
        return jvmExecutor;
    }

    /** Test-only: see {@link NativeBridge#injectFault}. */
    void injectFault(String kind) {
        lock.readLock().lock();
        try {
            NativeBridge.injectFault(openHandle(), kind);
        } finally {
            lock.readLock().unlock();
        }
    }

    private long openHandle() {
        if (handle == 0) {
            throw new CommitterClosedException("the offset committer is closed");
        }
        return handle;
    }

    private static String nonNull(String metadata) {
        return metadata == null ? "" : metadata;
    }
}
