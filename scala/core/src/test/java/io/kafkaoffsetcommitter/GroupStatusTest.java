package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import org.junit.Test;

/**
 * The batch id the status reads back from a commit's metadata, written as {@link CommitMetadata#forBatch} writes it
 * (literally here: forBatch asks the native core for its version).
 */
public class GroupStatusTest {

    @Test
    public void readsTheBatchOfTheCommittersOwnMetadata() {
        assertEquals(
                Long.valueOf(42),
                GroupStatus.batchOf("{\"query\":\"q\",\"run\":\"r\",\"batch\":42,\"committer\":\"0.1.0\"}"));
        assertEquals(Long.valueOf(0), GroupStatus.batchOf("{\"query\":\"q\",\"run\":\"r\",\"batch\":0}"));
    }

    @Test
    public void aBatchKeyInsideAQueryIdIsNotTheBatch() {
        String metadata = "{\"query\":\"\\\"batch\\\":7,\",\"run\":\"r\\\\\\\"batch\\\":8\",\"batch\":9}";
        assertEquals(Long.valueOf(9), GroupStatus.batchOf(metadata));
    }

    @Test
    public void otherMetadataHasNoBatch() {
        assertNull(GroupStatus.batchOf(null));
        assertNull(GroupStatus.batchOf(""));
        assertNull(GroupStatus.batchOf("batch 5"));
        assertNull(GroupStatus.batchOf("{\"query\":\"q\"}"));
        assertNull(GroupStatus.batchOf("{\"nested\":{\"batch\":5}}"));
        assertNull(GroupStatus.batchOf("{\"batch\":\"five\"}"));
    }
}
