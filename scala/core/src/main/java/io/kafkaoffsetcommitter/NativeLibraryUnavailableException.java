package io.kafkaoffsetcommitter;

/**
 * The native library could not be loaded in this JVM. The message names what was tried (the jar
 * resource or the override path) and the detected platform; the cause is the original failure.
 */
public class NativeLibraryUnavailableException extends OffsetCommitterException {
    private static final long serialVersionUID = 1L;

    public NativeLibraryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
