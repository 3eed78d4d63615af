package io.kafkaoffsetcommitter;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** The per-partition outcome of {@link OffsetCommitter#commitSync}. */
public final class CommitResult {
    /** One partition's outcome; {@link #errorKind()} is null when the offset was committed. */
    public static final class PartitionResult {
        private final String topic;
        private final int partition;
        private final long offset;
        private final String errorKind;
        private final String errorMessage;

        /** Built by the native core; {@code errorKind} and {@code errorMessage} are null when committed. */
        PartitionResult(String topic, int partition, long offset, String errorKind, String errorMessage) {
            this.topic = topic;
            this.partition = partition;
            this.offset = offset;
            this.errorKind = errorKind;
            this.errorMessage = errorMessage;
        }

        public String topic() {
            return topic;
        }

        public int partition() {
            return partition;
        }

        public long offset() {
            return offset;
        }
        /** Kafka's error name, e.g. {@code GroupAuthorizationFailed}; null on success. */
        public String errorKind() {
            return errorKind;
        }

        public String errorMessage() {
            return errorMessage;
        }

        public boolean isCommitted() {
            return errorKind == null;
        }

        @Override
        public String toString() {
            return topic + "-" + partition + "@" + offset
                    + (errorKind == null ? "" : " failed: " + errorKind + ": " + errorMessage);
        }
    }

    private final List<PartitionResult> partitions;

    /** Built by the native core ({@code rust/src/jni.rs}) from its typed outcome. */
    CommitResult(PartitionResult[] partitions) {
        this.partitions = Collections.unmodifiableList(Arrays.asList(partitions));
    }

    public List<PartitionResult> partitions() {
        return partitions;
    }

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
