package io.kafkaoffsetcommitter;

/** Malformed end offsets or oversized commit metadata. */
public class InvalidOffsetsException extends OffsetCommitterException {
    private static final long serialVersionUID = 1L;

    public InvalidOffsetsException(String message) {
        super(message);
    }
}
