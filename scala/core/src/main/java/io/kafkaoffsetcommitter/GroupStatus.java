package io.kafkaoffsetcommitter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** What the committer knows about one consumer group; see {@link OffsetCommitter#status()}. */
public final class GroupStatus {
    private final Map<String, Object> fields;

    private GroupStatus(Map<String, Object> fields) {
        this.fields = fields;
    }

    @SuppressWarnings("unchecked")
    static List<GroupStatus> listFromJson(String json) {
        Map<String, Object> document = (Map<String, Object>) Json.parse(json);
        List<GroupStatus> groups = new ArrayList<>();
        for (Object group : (List<Object>) document.get("groups")) {
            groups.add(new GroupStatus((Map<String, Object>) group));
        }
        return Collections.unmodifiableList(groups);
    }

    public String group() { return (String) fields.get("group"); }
    public long commitsSucceeded() { return (Long) fields.get("commitsSucceeded"); }
    public long commitsFailed() { return (Long) fields.get("commitsFailed"); }
    /** True when the most recent attempt failed; {@link #lastErrorKind()} says why. */
    public boolean lastAttemptFailed() { return (Boolean) fields.get("lastAttemptFailed"); }
    /** Partitions waiting to be committed (kept, never dropped, while Kafka refuses or is away). */
    public long pendingPartitions() { return (Long) fields.get("pendingPartitions"); }

    /** Metadata of the last successful commit (query, run and batch id), or null. */
    public String lastCommitMetadata() { return lastCommitField("metadata"); }
    public Long lastCommitEpochMillis() { return lastCommitField("atEpochMs"); }
    /** From the first submission of the committed offsets to the broker's answer. */
    public Long lastCommitLatencyMillis() { return lastCommitField("latencyMs"); }

    /** Offsets of the last successful commit: topic, then partition, then offset. */
    @SuppressWarnings("unchecked")
    public Map<String, Map<String, Long>> lastCommittedOffsets() {
        Map<String, Map<String, Long>> offsets = lastCommitField("offsets");
        return offsets == null ? Collections.<String, Map<String, Long>>emptyMap() : offsets;
    }

    /** Kafka's error name of the last failure, e.g. {@code GroupAuthorizationFailed}, or null. */
    public String lastErrorKind() { return lastErrorField("kind"); }
    public String lastErrorMessage() { return lastErrorField("message"); }
    public Boolean lastErrorRetriable() { return lastErrorField("retriable"); }

    @SuppressWarnings("unchecked")
    private <T> T lastCommitField(String name) {
        Map<String, Object> lastCommit = (Map<String, Object>) fields.get("lastCommit");
        return lastCommit == null ? null : (T) lastCommit.get(name);
    }

    @SuppressWarnings("unchecked")
    private <T> T lastErrorField(String name) {
        Map<String, Object> lastError = (Map<String, Object>) fields.get("lastError");
        return lastError == null ? null : (T) lastError.get(name);
    }

    @Override
    public String toString() {
        return "GroupStatus" + fields;
    }
}
