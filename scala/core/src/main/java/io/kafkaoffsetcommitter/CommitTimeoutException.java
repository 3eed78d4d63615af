package io.kafkaoffsetcommitter;

/** A synchronous commit was not answered in time; the offsets stay queued and are committed later. */
public class CommitTimeoutException extends OffsetCommitterException {
    private static final long serialVersionUID = 1L;

    public CommitTimeoutException(String message) {
        super(message);
    }
}
