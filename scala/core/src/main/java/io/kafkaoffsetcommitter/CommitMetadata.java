package io.kafkaoffsetcommitter;

/**
 * The metadata string stored with each committed offset: compact JSON naming the query, run and batch
 * that produced the offsets and the committer version, so a look at the group tells where it came from.
 */
public final class CommitMetadata {
    private CommitMetadata() {}

    /** For example {@code {"query":"…","run":"…","batch":42,"committer":"0.1.0"}}; far below Kafka's 4096-byte limit. */
    public static String forBatch(String queryId, String runId, long batchId) {
        return "{\"query\":" + Json.quote(String.valueOf(queryId))
                + ",\"run\":" + Json.quote(String.valueOf(runId))
                + ",\"batch\":" + batchId
                + ",\"committer\":" + Json.quote(OffsetCommitter.version()) + "}";
    }
}
