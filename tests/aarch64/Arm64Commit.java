import io.kafkaoffsetcommitter.CommitMetadata;
import io.kafkaoffsetcommitter.CommitResult;
import io.kafkaoffsetcommitter.NativeLoader;
import io.kafkaoffsetcommitter.NativePlatform;
import io.kafkaoffsetcommitter.OffsetCommitter;
import java.time.Duration;
import java.util.Collections;

/**
 * Run on an arm64 JVM (under qemu, by tests/aarch64/jvm_commit.py) with a release jar on the class
 * path: loads the jar's linux-aarch64 library the way users load it and commits one batch.
 *
 * <p>Arguments: bootstrap servers, group, topic, then one offset per partition.
 */
public final class Arm64Commit {
    public static void main(String[] args) {
        String arch = System.getProperty("os.arch");
        System.out.println("JVM os.arch=" + arch + " folder=" + NativePlatform.folder() + " resource="
                + NativePlatform.resourcePath());
        if (!"linux-aarch64".equals(NativePlatform.folder())) {
            throw new AssertionError("not an aarch64 Linux JVM: " + NativePlatform.folder());
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
                    CommitMetadata.forBatch("aarch64-query", "aarch64-run", 7),
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
