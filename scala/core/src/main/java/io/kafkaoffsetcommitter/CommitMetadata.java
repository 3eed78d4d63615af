package io.kafkaoffsetcommitter;

/**
 * The metadata string stored with each committed offset: compact JSON naming the query, run and batch
 * that produced the offsets and the committer version, so a look at the group tells where it came from.
 */
public final class CommitMetadata {
    private CommitMetadata() {}

    /** For example {@code {"query":"…","run":"…","batch":42,"committer":"0.1.0"}}; far below Kafka's 4096-byte limit. */
    public static String forBatch(String queryId, String runId, long batchId) {
        return "{\"query\":" + quote(String.valueOf(queryId))
                + ",\"run\":" + quote(String.valueOf(runId))
                + ",\"batch\":" + batchId
                + ",\"committer\":" + quote(OffsetCommitter.version()) + "}";
    }

    /** A JSON string literal: the query and run ids are the caller's text, so they are escaped. */
    private static String quote(String value) {
        StringBuilder out = new StringBuilder(value.length() + 2).append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
