package io.kafkaoffsetcommitter;

/** An argument the committer cannot use: an empty group id, a null string where text is needed. */
public class InvalidArgumentException extends OffsetCommitterException {
    private static final long serialVersionUID = 1L;

    public InvalidArgumentException(String message) {
        super(message);
    }
}
