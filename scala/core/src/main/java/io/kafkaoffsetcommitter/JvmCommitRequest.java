package io.kafkaoffsetcommitter;

/**
 * One commit request the JVM executor pulls from the native core ({@link NativeBridge#nextCommitRequest}), built
 * there: a group's offsets as three parallel arrays, the metadata stored with them, and the request's deadline.
 */
final class JvmCommitRequest {
    final long requestId;
    final String groupId;
    final String[] topics;
    final int[] partitions;
    final long[] offsets;
    final String metadata;
    final long timeoutMs;

    JvmCommitRequest(
            long requestId,
            String groupId,
            String[] topics,
            int[] partitions,
            long[] offsets,
            String metadata,
            long timeoutMs) {
        this.requestId = requestId;
        this.groupId = groupId;
        this.topics = topics;
        this.partitions = partitions;
        this.offsets = offsets;
        this.metadata = metadata;
        this.timeoutMs = timeoutMs;
    }
}
