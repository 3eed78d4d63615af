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
    private final boolean inFlight;
    private final boolean parked;
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
            boolean inFlight,
            boolean parked,
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
        this.inFlight = inFlight;
        this.parked = parked;
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

    /**
     * The number after the top-level key {@code "batch"} of metadata in {@link CommitMetadata#forBatch}'s form, or
     * null. Strings are skipped as a whole, so a query id holding {@code "batch":} cannot be mistaken for the key.
     */
    static Long batchOf(String metadata) {
        if (metadata == null || !metadata.startsWith("{")) {
            return null;
        }
        int index = 1;
        boolean keyExpected = true;
        while (index < metadata.length()) {
            char c = metadata.charAt(index);
            if (c == '"') {
                int end = endOfString(metadata, index);
                if (end < 0) {
                    return null;
                }
                boolean isBatchKey = keyExpected && metadata.startsWith("\"batch\":", index);
                index = end + 1;
                if (isBatchKey) {
                    int digits = index + 1;
                    while (digits < metadata.length() && Character.isDigit(metadata.charAt(digits))) {
                        digits++;
                    }
                    try {
                        return Long.parseLong(metadata.substring(index + 1, digits));
                    } catch (NumberFormatException notANumber) {
                        return null;
                    }
                }
                keyExpected = false;
            } else {
                if (c == ',') {
                    keyExpected = true;
                } else if (c == '{' || c == '[') {
                    return null; // forBatch writes no nested values: this is someone else's metadata
                }
                index++;
            }
        }
        return null;
    }

    /** The index of the quote closing the string that opens at {@code start}, or -1. */
    private static int endOfString(String text, int start) {
        for (int index = start + 1; index < text.length(); index++) {
            char c = text.charAt(index);
            if (c == '\\') {
                index++;
            } else if (c == '"') {
                return index;
            }
        }
        return -1;
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

    /** True while a commit request of this group awaits Kafka's answer. */
    public boolean inFlight() {
        return inFlight;
    }

    /**
     * True while the group waits out the failure cool-down after Kafka refused its offsets for good or the
     * retries ran out; {@link #lastErrorKind()} says why. Its offsets stay pending and are tried again after it.
     */
    public boolean parked() {
        return parked;
    }

    /**
     * The batch id of the last successful commit, read from its metadata ({@link CommitMetadata#forBatch});
     * null without a commit yet or when the metadata names no batch (a commit of another caller).
     */
    public Long lastCommittedBatchId() {
        return batchOf(lastCommitMetadata);
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
                    + " pendingPartitions=%d, inFlight=%b, parked=%b, lastCommitMetadata=%s, lastCommitEpochMillis=%s,"
                    + " lastCommitLatencyMillis=%s, lastCommittedOffsets=%s, lastErrorKind=%s, lastErrorMessage=%s,"
                    + " lastErrorRetriable=%s}",
                group,
                commitsSucceeded,
                commitsFailed,
                lastAttemptFailed,
                pendingPartitions,
                inFlight,
                parked,
                lastCommitMetadata,
                lastCommitEpochMillis,
                lastCommitLatencyMillis,
                lastCommittedOffsets,
                lastErrorKind,
                lastErrorMessage,
                lastErrorRetriable);
    }
}
