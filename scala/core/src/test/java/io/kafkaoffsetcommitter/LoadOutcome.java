package io.kafkaoffsetcommitter;

/** Prints "loaded" or the load failure's message; {@link NativeLoaderTest} runs it in new JVMs. */
public final class LoadOutcome {
    private LoadOutcome() {}

    public static void main(String[] arguments) {
        System.out.println(NativeLoader.loadError().map(Throwable::getMessage).orElse("loaded"));
    }
}
