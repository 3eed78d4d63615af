package io.kafkaoffsetcommitter;

/**
 * The native methods implemented in {@code rust/src/jni.rs}. Callers go through {@link OffsetCommitter},
 * which loads the library first and guards handles, so a closed handle never reaches native code.
 */
final class NativeBridge {
    private NativeBridge() {}

    static native String version();

    static native long open(String[] keys, String[] values);

    static native void commitAsync(long handle, String groupId, String offsetsJson, String metadata);

    /** The typed path: one entry per partition across the three arrays, no text format in between. */
    static native void commitOffsetsAsync(
            long handle, String groupId, String[] topics, int[] partitions, long[] offsets, String metadata);

    static native CommitResult commitOffsetsSync(
            long handle,
            String groupId,
            String[] topics,
            int[] partitions,
            long[] offsets,
            String metadata,
            long timeoutMs);

    static native CommitResult commitSync(
            long handle, String groupId, String offsetsJson, String metadata, long timeoutMs);

    static native boolean flush(long handle, long timeoutMs);

    static native ClusterStatus status(long handle);

    /** The same status as a JSON document, rendered by the native core. */
    static native String statusJson(long handle);

    static native boolean close(long handle, long timeoutMs);

    static native void shutdownAll(long timeoutMs);

    static native String[] drainLogs(long waitMs);

    /** Runs the helper executable at {@code path} (an override, or the file beside an overriding library). */
    static native void useHelper(String path);

    /**
     * Installs the helper from its bytes (the jar's copy) in an in-memory file, else in
     * {@code fallbackDirectory}; returns where it runs from.
     */
    static native String installHelper(byte[] image, String fallbackDirectory);

    /**
     * The OAUTHBEARER token of the committer's cluster, from the JVM's login handler: expiry in epoch
     * milliseconds, SASL extensions as two parallel arrays. Every helper of the cluster gets the latest one.
     */
    static native void setOAuthToken(
            long handle,
            String token,
            long expiresAtEpochMs,
            String principal,
            String[] extensionNames,
            String[] extensionValues);

    /**
     * The JVM's login handler could not make a token; {@code reason} names no secret. Kept until the next token:
     * the cluster's helpers fail the login with it, and commits fail at once with an authentication error while
     * no token lives.
     */
    static native void setOAuthTokenFailure(long handle, String reason);

    /**
     * A handle on the committer's JVM executor for the caller to serve with one thread ({@link JvmExecutor}), or 0
     * when its cluster runs on the helper process or a thread already serves it.
     */
    static native long jvmExecutor(long handle);

    /**
     * The JVM executor's next request, waiting up to {@code waitMs}; null when none came. Throws
     * {@link CommitterClosedException} when the cluster is closed.
     */
    static native JvmCommitRequest nextCommitRequest(long executorHandle, long waitMs);

    /**
     * Answers a pulled request: per partition Kafka's error code (0: committed) and message; a request error code
     * other than 0 when the request failed as a whole. An answer to a request the core gave up is dropped.
     */
    static native void answerCommit(
            long executorHandle,
            long requestId,
            String[] topics,
            int[] partitions,
            int[] errorCodes,
            String[] errorMessages,
            int requestErrorCode,
            String requestErrorMessage);

    /** The JVM executor's thread ended (or never started): frees its handle. */
    static native void releaseJvmExecutor(long executorHandle);

    /** Test-only: {@code abort} or {@code segfault} crash the helper at its next commit; {@code panic} panics here. */
    static native void injectFault(long handle, String kind);
}
