package io.kafkaoffsetcommitter;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the committer knows about one consumer group; see {@link OffsetCommitter#status()}. */
public final class GroupStatus {
    private final String group;
    private final long commitsSucceeded;
    private final long commitsFailed;
    private final boolean lastAttemptFailed;
    private final long pendingPartitions;
    private final String lastCommitMetadata;
    private final Long lastCommitEpochMillis;
    private final Long lastCommitLatencyMillis;
    private final Map<String, Map<String, Long>> lastCommittedOffsets;
    private final String lastErrorKind;
    private final String lastErrorMessage;
    private final Boolean lastErrorRetriable;

    /**
     * Built by the native core ({@code rust/src/jni.rs}). Without a successful commit yet,
     * {@code lastCommitMetadata} is null; without an error yet, {@code lastErrorKind} is null. A negative
     * latency means none was measured. The committed offsets come as three parallel arrays.
     */
    GroupStatus(
            String group,
            long commitsSucceeded,
            long commitsFailed,
            boolean lastAttemptFailed,
            long pendingPartitions,
            String lastCommitMetadata,
            long lastCommitEpochMillis,
            long lastCommitLatencyMillis,
            String[] committedTopics,
            int[] committedPartitions,
            long[] committedOffsets,
            String lastErrorKind,
            String lastErrorMessage,
            boolean lastErrorRetriable) {
        boolean committed = lastCommitMetadata != null;
        boolean failed = lastErrorKind != null;
        this.group = group;
        this.commitsSucceeded = commitsSucceeded;
        this.commitsFailed = commitsFailed;
        this.lastAttemptFailed = lastAttemptFailed;
        this.pendingPartitions = pendingPartitions;
        this.lastCommitMetadata = lastCommitMetadata;
        this.lastCommitEpochMillis = committed ? lastCommitEpochMillis : null;
        this.lastCommitLatencyMillis = committed && lastCommitLatencyMillis >= 0 ? lastCommitLatencyMillis : null;
        this.lastCommittedOffsets = byTopic(committedTopics, committedPartitions, committedOffsets);
        this.lastErrorKind = lastErrorKind;
        this.lastErrorMessage = failed ? lastErrorMessage : null;
        this.lastErrorRetriable = failed ? lastErrorRetriable : null;
    }

    private static Map<String, Map<String, Long>> byTopic(String[] topics, int[] partitions, long[] offsets) {
        Map<String, Map<String, Long>> byTopic = new LinkedHashMap<>();
        for (int i = 0; i < topics.length; i++) {
            byTopic.computeIfAbsent(topics[i], topic -> new LinkedHashMap<>())
                    .put(Integer.toString(partitions[i]), offsets[i]);
        }
        for (Map.Entry<String, Map<String, Long>> topic : byTopic.entrySet()) {
            topic.setValue(Collections.unmodifiableMap(topic.getValue()));
        }
        return Collections.unmodifiableMap(byTopic);
    }

    public String group() {
        return group;
    }

    public long commitsSucceeded() {
        return commitsSucceeded;
    }

    public long commitsFailed() {
        return commitsFailed;
    }
    /** True when the most recent attempt failed; {@link #lastErrorKind()} says why. */
    public boolean lastAttemptFailed() {
        return lastAttemptFailed;
    }
    /** Partitions waiting to be committed (kept, never dropped, while Kafka refuses or is away). */
    public long pendingPartitions() {
        return pendingPartitions;
    }

    /** Metadata of the last successful commit (query, run and batch id), or null. */
    public String lastCommitMetadata() {
        return lastCommitMetadata;
    }

    public Long lastCommitEpochMillis() {
        return lastCommitEpochMillis;
    }
    /** From the first submission of the committed offsets to the broker's answer. */
    public Long lastCommitLatencyMillis() {
        return lastCommitLatencyMillis;
    }

    /** Offsets of the last successful commit: topic, then partition, then offset. */
    public Map<String, Map<String, Long>> lastCommittedOffsets() {
        return lastCommittedOffsets;
    }

    /** Kafka's error name of the last failure, e.g. {@code GroupAuthorizationFailed}, or null. */
    public String lastErrorKind() {
        return lastErrorKind;
    }

    public String lastErrorMessage() {
        return lastErrorMessage;
    }

    public Boolean lastErrorRetriable() {
        return lastErrorRetriable;
    }

    @Override
    public String toString() {
        return String.format(
                "GroupStatus{group=%s, commitsSucceeded=%d, commitsFailed=%d, lastAttemptFailed=%b,"
                        + " pendingPartitions=%d, lastCommitMetadata=%s, lastCommitEpochMillis=%s,"
                        + " lastCommitLatencyMillis=%s, lastCommittedOffsets=%s, lastErrorKind=%s,"
                        + " lastErrorMessage=%s, lastErrorRetriable=%s}",
                group,
                commitsSucceeded,
                commitsFailed,
                lastAttemptFailed,
                pendingPartitions,
                lastCommitMetadata,
                lastCommitEpochMillis,
                lastCommitLatencyMillis,
                lastCommittedOffsets,
                lastErrorKind,
                lastErrorMessage,
                lastErrorRetriable);
    }
}
