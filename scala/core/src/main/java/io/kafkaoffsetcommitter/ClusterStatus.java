package io.kafkaoffsetcommitter;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A committer's view of its cluster, as the native core reports it: the helper process serving the
 * cluster and the groups this committer committed to. Built by {@code rust/src/jni.rs}.
 */
final class ClusterStatus {
    /** The running helper's process id, or -1 while none runs (between a crash and its restart). */
    final long helperPid;

    final long helperRestarts;
    /** How the last helper ended (e.g. killed by SIGABRT), or null if none has. */
    final String helperLastExit;

    final List<GroupStatus> groups;

    ClusterStatus(long helperPid, long helperRestarts, String helperLastExit, GroupStatus[] groups) {
        this.helperPid = helperPid;
        this.helperRestarts = helperRestarts;
        this.helperLastExit = helperLastExit;
        this.groups = Collections.unmodifiableList(Arrays.asList(groups));
    }
}
