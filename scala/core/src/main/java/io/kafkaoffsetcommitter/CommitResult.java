package io.kafkaoffsetcommitter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** The per-partition outcome of {@link OffsetCommitter#commitSync}. */
public final class CommitResult {
    /** One partition's outcome; {@link #errorKind()} is null when the offset was committed. */
    public static final class PartitionResult {
        private final String topic;
        private final int partition;
        private final long offset;
        private final String errorKind;
        private final String errorMessage;

        PartitionResult(String topic, int partition, long offset, String errorKind, String errorMessage) {
            this.topic = topic;
            this.partition = partition;
            this.offset = offset;
            this.errorKind = errorKind;
            this.errorMessage = errorMessage;
        }

        public String topic() { return topic; }
        public int partition() { return partition; }
        public long offset() { return offset; }
        /** Kafka's error name, e.g. {@code GroupAuthorizationFailed}; null on success. */
        public String errorKind() { return errorKind; }
        public String errorMessage() { return errorMessage; }
        public boolean isCommitted() { return errorKind == null; }

        @Override
        public String toString() {
            return topic + "-" + partition + "@" + offset + (errorKind == null ? "" : " failed: " + errorKind + ": " + errorMessage);
        }
    }

    private final List<PartitionResult> partitions;

    private CommitResult(List<PartitionResult> partitions) {
        this.partitions = Collections.unmodifiableList(partitions);
    }

    @SuppressWarnings("unchecked")
    static CommitResult fromJson(String json) {
        Map<String, Object> document = (Map<String, Object>) Json.parse(json);
        List<PartitionResult> partitions = new ArrayList<>();
        for (Object entry : (List<Object>) document.get("partitions")) {
            Map<String, Object> partition = (Map<String, Object>) entry;
            Map<String, Object> error = (Map<String, Object>) partition.get("error");
            partitions.add(new PartitionResult(
                    (String) partition.get("topic"),
                    ((Long) partition.get("partition")).intValue(),
                    (Long) partition.get("offset"),
                    error == null ? null : (String) error.get("kind"),
                    error == null ? null : (String) error.get("message")));
        }
        return new CommitResult(partitions);
    }

    public List<PartitionResult> partitions() { return partitions; }

    public boolean allCommitted() {
        for (PartitionResult partition : partitions) {
            if (!partition.isCommitted()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return partitions.toString();
    }
}
