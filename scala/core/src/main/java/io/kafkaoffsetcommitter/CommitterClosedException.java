package io.kafkaoffsetcommitter;

/** The committer was used after {@link OffsetCommitter#close()}. */
public class CommitterClosedException extends OffsetCommitterException {
    private static final long serialVersionUID = 1L;

    public CommitterClosedException(String message) {
        super(message);
    }
}
