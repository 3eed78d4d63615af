import io.kafkaoffsetcommitter.CommitMetadata;
import io.kafkaoffsetcommitter.CommitResult;
import io.kafkaoffsetcommitter.NativeLoader;
import io.kafkaoffsetcommitter.NativePlatform;
import io.kafkaoffsetcommitter.OffsetCommitter;
import java.time.Duration;
import java.util.Collections;

/**
 * Run on another platform's JVM (by tests/platforms/jvm_commit.py) with a release jar on the class
 * path: loads the jar's library for that platform the way users load it and commits one batch.
 *
 * <p>Arguments: the expected platform folder, bootstrap servers, group, topic, then one offset per partition.
 */
public final class PlatformCommit {
    public static void main(String[] arguments) {
        String expectedFolder = arguments[0];
        String[] args = java.util.Arrays.copyOfRange(arguments, 1, arguments.length);
        System.out.println("JVM os.arch=" + System.getProperty("os.arch") + " folder=" + NativePlatform.folder()
                + " resource=" + NativePlatform.resourcePath());
        if (!expectedFolder.equals(NativePlatform.folder())) {
            throw new AssertionError("expected a " + expectedFolder + " JVM, running on " + NativePlatform.folder());
        }
        NativeLoader.ensureLoaded();
        System.out.println("native library loaded from the jar, crate version " + OffsetCommitter.version());
        StringBuilder offsets = new StringBuilder("{\"" + args[2] + "\":{");
        for (int partition = 0; partition < args.length - 3; partition++) {
            offsets.append(partition == 0 ? "" : ",")
                    .append('"')
                    .append(partition)
                    .append("\":")
                    .append(args[3 + partition]);
        }
        offsets.append("}}");
        try (OffsetCommitter committer =
                OffsetCommitter.create(Collections.singletonMap("bootstrap.servers", args[0]))) {
            CommitResult result = committer.commitSync(
                    args[1],
                    offsets.toString(),
                    CommitMetadata.forBatch("platform-query", "platform-run", 7),
                    Duration.ofSeconds(60));
            for (CommitResult.PartitionResult partition : result.partitions()) {
                System.out.println("committed " + partition);
                if (!partition.isCommitted()) {
                    throw new AssertionError("commit failed: " + partition);
                }
            }
        }
    }
}
