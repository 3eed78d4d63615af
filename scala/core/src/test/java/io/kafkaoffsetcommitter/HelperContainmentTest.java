package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.Test;

/**
 * librdkafka runs in a helper process: whatever kills the helper (an abort as librdkafka's assertions do, a
 * segmentation fault, kill -9) leaves this JVM running, the helper is restarted, the commits resume and the
 * status says so; and a JVM killed with -9 leaves no helper behind. Real broker, real processes.
 */
public class HelperContainmentTest extends BrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static String createTopic() throws Exception {
        return createTopic("containment-", 2);
    }

    /** A committer with its own cluster identity (client.id), so it gets a helper of its own. */
    private static OffsetCommitter committer(String clientId) {
        return OffsetCommitter.create(settings("client.id", clientId));
    }

    private static long helperPid(OffsetCommitter committer) {
        return committer.clusterStatus().helperPid;
    }

    private static String offsets(String topic, long offset) {
        return "{\"" + topic + "\":{\"0\":" + offset + ",\"1\":" + (offset + 1) + "}}";
    }

    private static void assertCommitted(String group, String topic, long offset) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = committed(group);
        assertEquals(offset, offsets.get(new TopicPartition(topic, 0)).offset());
        assertEquals(offset + 1, offsets.get(new TopicPartition(topic, 1)).offset());
    }

    /** The helper dies in the given way while a commit is in flight; the JVM lives and the commits land. */
    private void survivesHelperDeath(String fault, String expectedExit) throws Exception {
        String topic = createTopic();
        String group = "containment-" + fault + "-" + UUID.randomUUID();
        try (OffsetCommitter committer = committer("containment-" + fault)) {
            committer.commitAsync(group, offsets(topic, 10), "");
            assertTrue(committer.flush(WAIT));
            long firstHelper = helperPid(committer);
            committer.injectFault(fault);
            committer.commitAsync(group, offsets(topic, 20), "");
            // The helper crashed right after the commit reached librdkafka; the new one got it again.
            assertTrue("the re-sent commit lands", committer.flush(WAIT));
            assertCommitted(group, topic, 20);
            assertEquals(1, committer.helperRestarts());
            assertTrue(committer.helperLastExit(), committer.helperLastExit().contains(expectedExit));
            assertNotEquals(firstHelper, helperPid(committer));
            committer.commitAsync(group, offsets(topic, 30), "");
            assertTrue(committer.flush(WAIT));
            assertCommitted(group, topic, 30);
        }
    }

    @Test
    public void anAbortInTheHelperLeavesTheJvmRunningAndCommitsResume() throws Exception {
        survivesHelperDeath("abort", "SIGABRT");
    }

    @Test
    public void aSegfaultInTheHelperLeavesTheJvmRunningAndCommitsResume() throws Exception {
        survivesHelperDeath("segfault", "SIGSEGV");
    }

    @Test
    public void killingTheHelperLeavesTheJvmRunningAndCommitsResume() throws Exception {
        String topic = createTopic();
        String group = "containment-kill-" + UUID.randomUUID();
        try (OffsetCommitter committer = committer("containment-kill")) {
            committer.commitAsync(group, offsets(topic, 5), "");
            assertTrue(committer.flush(WAIT));
            long helper = helperPid(committer);
            Process kill = new ProcessBuilder("kill", "-9", Long.toString(helper))
                    .inheritIO()
                    .start();
            assertEquals(0, kill.waitFor());
            committer.commitAsync(group, offsets(topic, 6), "");
            assertTrue(committer.flush(WAIT));
            assertCommitted(group, topic, 6);
            assertEquals(1, committer.helperRestarts());
            assertTrue(committer.helperLastExit(), committer.helperLastExit().contains("SIGKILL"));
        }
    }

    @Test
    public void aPanicInsideANativeCallIsAJavaExceptionAndOtherGroupsGoOn() throws Exception {
        String topic = createTopic();
        String group = "containment-panic-" + UUID.randomUUID();
        try (OffsetCommitter committer = committer("containment-panic")) {
            OffsetCommitterException panic =
                    assertThrows(OffsetCommitterException.class, () -> committer.injectFault("panic"));
            assertTrue(panic.getMessage(), panic.getMessage().contains("injected panic"));
            committer.commitAsync(group, offsets(topic, 8), "");
            assertTrue(committer.flush(WAIT));
            assertCommitted(group, topic, 8);
            assertEquals(0, committer.helperRestarts());
            assertNull("no helper has ended", committer.helperLastExit());
        }
    }

    /**
     * A JVM opens most descriptors without close-on-exec: its jar files, its sockets, the pipes of the
     * processes it starts. A helper that kept the write end of another child's output pipe would leave the
     * JVM thread reading that pipe waiting forever (a Spark query stuck in Hadoop's {@code readlink} while
     * renaming a checkpoint file). So the helper keeps its stdin, stdout and stderr only, and moves its
     * frames off stdout to descriptor {@value #FRAME_DESCRIPTOR}, pointing stdout at stderr (so nothing else
     * writing to stdout can come between two frames).
     */
    @Test
    public void theHelperHoldsNoDescriptorOfTheJvm() throws Exception {
        String topic = createTopic();
        // A child of this JVM, whose pipes are open here while the helper starts.
        Process sleeper = new ProcessBuilder("sleep", "600").start();
        try (OffsetCommitter committer = committer("containment-descriptors")) {
            committer.commitAsync("containment-descriptors-" + UUID.randomUUID(), offsets(topic, 1), "");
            assertTrue(committer.flush(WAIT));
            Map<Integer, String> jvm = descriptors("self");
            Map<Integer, String> helper = descriptors(String.valueOf(helperPid(committer)));
            assertEquals("the helper's stdout writes to its stderr", helper.get(2), helper.get(1));
            String frames = helper.get(FRAME_DESCRIPTOR);
            assertTrue(
                    "frames travel on a pipe of their own: " + helper,
                    frames != null
                            && frames.startsWith("pipe:")
                            && !frames.equals(helper.get(0))
                            && !frames.equals(helper.get(1)));
            List<String> shared = new ArrayList<>();
            helper.forEach((descriptor, target) -> {
                if (descriptor > 2
                        && descriptor != FRAME_DESCRIPTOR
                        && identifiesOneOpenFile(target)
                        && jvm.containsValue(target)) {
                    shared.add(descriptor + " -> " + target);
                }
            });
            assertTrue(
                    "the helper holds " + shared.size() + " descriptors of the JVM, such as "
                            + shared.subList(0, Math.min(8, shared.size())),
                    shared.isEmpty());
            assertTrue("the JVM's own jar files are open", jvm.values().stream().anyMatch(t -> t.endsWith(".jar")));
        } finally {
            sleeper.destroyForcibly();
        }
    }

    /** The helper's copy of its stdout pipe, for frames: the lowest number once it closed all inherited ones. */
    private static final int FRAME_DESCRIPTOR = 3;

    /** Pipes and sockets by inode, and jar files (which the helper never opens itself). */
    private static boolean identifiesOneOpenFile(String target) {
        return target.startsWith("pipe:") || target.startsWith("socket:") || target.endsWith(".jar");
    }

    /** A process's open descriptors and what each refers to, from /proc. */
    private static Map<Integer, String> descriptors(String pid) throws java.io.IOException {
        Map<Integer, String> targets = new java.util.HashMap<>();
        try (java.nio.file.DirectoryStream<java.nio.file.Path> entries =
                java.nio.file.Files.newDirectoryStream(java.nio.file.Paths.get("/proc/" + pid + "/fd"))) {
            for (java.nio.file.Path entry : entries) {
                try {
                    targets.put(
                            Integer.parseInt(entry.getFileName().toString()),
                            java.nio.file.Files.readSymbolicLink(entry).toString());
                } catch (java.nio.file.NoSuchFileException closedMeanwhile) {
                    // closed between listing and reading: not held
                }
            }
        }
        return targets;
    }

    /** Partitions in each commit of the flooding child JVM: a frame of some 600 KB, ten times a pipe's buffer. */
    private static final int FLOOD_PARTITIONS = 20_000;

    private static final int FLOOD_GROUPS = 10;

    /**
     * Run in a child JVM by the kill -9 tests: opens a committer, prints its helper's pid, then waits
     * ({@code idle}), or ({@code flood}) reads a line from stdin and commits {@value #FLOOD_PARTITIONS}
     * partitions to each of {@value #FLOOD_GROUPS} groups (nobody listens at the bootstrap address the test
     * gives, so no answer ever comes) before it waits.
     */
    public static void main(String[] args) throws Exception {
        bootstrap = args[0];
        OffsetCommitter committer = committer("containment-orphan-" + args[1]);
        String jvmPid = java.lang.management.ManagementFactory.getRuntimeMXBean()
                .getName()
                .split("@")[0];
        System.out.println("helper-pid " + helperPid(committer) + " jvm-pid " + jvmPid);
        System.out.flush();
        if (args[1].equals("flood")) {
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            String offsets = floodOffsets();
            for (int group = 0; group < FLOOD_GROUPS; group++) {
                committer.commitAsync("containment-flood-" + group, offsets, "");
            }
        }
        Thread.sleep(TimeUnit.MINUTES.toMillis(5));
    }

    private static String floodOffsets() {
        StringBuilder json = new StringBuilder("{\"containment-flood\":{");
        for (int partition = 0; partition < FLOOD_PARTITIONS; partition++) {
            json.append(partition == 0 ? "" : ",").append('"').append(partition).append("\":1000");
        }
        return json.append("}}").toString();
    }

    @Test
    public void aJvmKilledWithSignalNineLeavesNoHelperBehind() throws Exception {
        assertNoHelperOutlives(killChildJvm(bootstrap, "idle", (helper, jvm, childInput) -> {}));
    }

    /**
     * The helper must notice a frame cut short by its parent's death, and must not die trying to say so on a
     * stderr nobody reads any more. To kill the JVM in the middle of a frame for sure, the helper is stopped
     * (SIGSTOP) before the commits start, so the JVM's writer blocks with part of the first frame in the
     * pipe; it is continued once the JVM is dead.
     */
    @Test
    public void aJvmKilledWithSignalNineWhileWritingAFrameOfThousandsOfPartitionsLeavesNoHelperBehind()
            throws Exception {
        long[] stopped = {0};
        try {
            long helper = killChildJvm("127.0.0.1:1", "flood", (helperPid, jvm, childInput) -> {
                signal("STOP", helperPid);
                stopped[0] = helperPid;
                childInput.write("go\n".getBytes(StandardCharsets.UTF_8));
                childInput.flush();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!writingToAPipe(jvm) && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertTrue("no thread of the child JVM is writing a frame", writingToAPipe(jvm));
            });
            signal("CONT", helper);
            assertNoHelperOutlives(helper);
        } finally {
            if (stopped[0] != 0 && alive(stopped[0])) {
                signal("CONT", stopped[0]);
            }
        }
    }

    private static void signal(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                .inheritIO()
                .start();
        assertEquals(0, kill.waitFor());
    }

    /** Whether a thread of the process is blocked writing to a full pipe (its kernel wait channel). */
    private static boolean writingToAPipe(String pid) throws java.io.IOException {
        try (java.nio.file.DirectoryStream<java.nio.file.Path> tasks =
                java.nio.file.Files.newDirectoryStream(java.nio.file.Paths.get("/proc/" + pid + "/task"))) {
            for (java.nio.file.Path task : tasks) {
                try {
                    String channel =
                            new String(java.nio.file.Files.readAllBytes(task.resolve("wchan")), StandardCharsets.UTF_8);
                    // `pipe_write`, `anon_pipe_write` on newer kernels
                    if (channel.trim().endsWith("pipe_write")) {
                        return true;
                    }
                } catch (java.nio.file.NoSuchFileException endedMeanwhile) {
                    // the thread ended between listing and reading
                }
            }
        }
        return false;
    }

    private interface BeforeKill {
        void run(long helperPid, String jvmPid, java.io.OutputStream childInput) throws Exception;
    }

    /** Starts {@link #main} in a child JVM, runs {@code beforeKill}, kills the child JVM with -9; returns its helper's pid. */
    private static long killChildJvm(String childBootstrap, String mode, BeforeKill beforeKill) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        for (String property : new String[] {NativeLoader.PATH_PROPERTY, "koc.test.native.library"}) {
            if (System.getProperty(property) != null) {
                command.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        command.add(HelperContainmentTest.class.getName());
        command.add(childBootstrap);
        command.add(mode);
        Process child = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try (BufferedReader output =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line = output.readLine();
            assertNotNull("the child JVM printed nothing", line);
            assertTrue(line, line.startsWith("helper-pid "));
            String[] words = line.split(" ");
            long helper = Long.parseLong(words[1]);
            assertTrue("the helper runs", alive(helper));
            beforeKill.run(helper, words[3], child.getOutputStream());
            Process kill =
                    new ProcessBuilder("kill", "-9", words[3]).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            return helper;
        } finally {
            child.destroyForcibly();
        }
    }

    private static void assertNoHelperOutlives(long helper) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (alive(helper) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue("helper " + helper + " outlived its JVM", !alive(helper));
    }

    /** Whether a process runs (exists and is not a zombie waiting to be reaped). */
    private static boolean alive(long pid) throws java.io.IOException {
        java.nio.file.Path stat = java.nio.file.Paths.get("/proc/" + pid + "/stat");
        if (!java.nio.file.Files.exists(stat)) {
            return false;
        }
        try {
            String text = new String(java.nio.file.Files.readAllBytes(stat), StandardCharsets.UTF_8);
            return text.charAt(text.lastIndexOf(')') + 2) != 'Z';
        } catch (java.nio.file.NoSuchFileException gone) {
            return false;
        }
    }
}
