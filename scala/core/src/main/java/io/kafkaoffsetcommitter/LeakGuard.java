package io.kafkaoffsetcommitter;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Closes the native side of an {@link OffsetCommitter} that became unreachable without being closed, so a
 * forgotten committer cannot keep its groups and its cluster's helper process forever. (Java 8 bytecode has
 * no {@code Cleaner}; this is the same mechanism: a phantom reference and one daemon thread.)
 */
final class LeakGuard extends PhantomReference<OffsetCommitter> {
    private static final Logger LOG = Logger.getLogger(LeakGuard.class.getName());
    private static final ReferenceQueue<OffsetCommitter> UNREACHABLE = new ReferenceQueue<>();
    // Keeps the guards themselves reachable until their committer is closed or collected.
    private static final Set<LeakGuard> WATCHED =
            Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<LeakGuard, Boolean>()));
    private static Thread reaper;

    private final long handle;

    private LeakGuard(OffsetCommitter committer, long handle) {
        super(committer, UNREACHABLE);
        this.handle = handle;
    }

    static synchronized LeakGuard watch(OffsetCommitter committer, long handle) {
        LeakGuard guard = new LeakGuard(committer, handle);
        WATCHED.add(guard);
        if (reaper == null) {
            reaper = new Thread(LeakGuard::reapForever, "kafka-offset-committer-leak-guard");
            reaper.setDaemon(true);
            reaper.start();
        }
        return guard;
    }

    /** The committer was closed: nothing is left to release. */
    void closed() {
        WATCHED.remove(this);
    }

    private static void reapForever() {
        while (true) {
            try {
                LeakGuard guard = (LeakGuard) UNREACHABLE.remove();
                if (WATCHED.remove(guard)) {
                    LOG.warning(
                            "an OffsetCommitter was never closed; releasing it now (close it to flush its commits)");
                    NativeBridge.close(guard.handle, 0);
                }
            } catch (InterruptedException stop) {
                return;
            } catch (RuntimeException error) {
                LOG.log(Level.WARNING, "cannot release an unclosed OffsetCommitter", error);
            }
        }
    }
}
