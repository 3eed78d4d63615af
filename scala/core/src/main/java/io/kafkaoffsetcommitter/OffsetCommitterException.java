package io.kafkaoffsetcommitter;

/**
 * The base of every exception this library throws, unchecked so that callers in Scala and in
 * Spark listener callbacks are not forced to declare it. The native code throws subclasses by name
 * through JNI with a message only; a Rust panic arrives as this class itself ("internal error").
 */
public class OffsetCommitterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OffsetCommitterException(String message) {
        super(message);
    }

    public OffsetCommitterException(String message, Throwable cause) {
        super(message, cause);
    }
}
