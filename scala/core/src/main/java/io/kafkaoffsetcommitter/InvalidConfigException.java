package io.kafkaoffsetcommitter;

/** A Kafka setting cannot be honoured by the native client; raised when a committer is created, never at commit time. */
public class InvalidConfigException extends OffsetCommitterException {
    private static final long serialVersionUID = 1L;

    public InvalidConfigException(String message) {
        super(message);
    }
}
