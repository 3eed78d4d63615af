package io.kafkaoffsetcommitter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Names the platform folder that holds the native library inside the jar.
 *
 * <p>The sbt build compiles this class into its meta-build and calls {@link #resourcePath()} to place
 * the library it packages, and {@link NativeLoader} calls the same method to find it, so the two can
 * never disagree. It therefore depends on nothing but the JDK.
 */
public final class NativePlatform {
    /** The library's base name, as passed to {@link System#mapLibraryName}. */
    public static final String LIBRARY_NAME = "kafka_offset_committer";

    /** The jar folder whose sub-folders, one per platform, hold the native artifacts (no leading slash). */
    public static final String RESOURCE_ROOT = "io/kafkaoffsetcommitter/native";

    /** The platforms whose artifacts the release jars carry (built by {@code build/native.sh}). */
    public static final String BUNDLED_FOLDERS = "linux-x86_64 and linux-aarch64 (glibc 2.17 or newer)";

    private NativePlatform() {}

    /** The folder for the running JVM, e.g. {@code linux-x86_64}, {@code linux-musl-aarch64}, {@code darwin-aarch64}. */
    public static String folder() {
        String osName = System.getProperty("os.name", "");
        return folder(osName, System.getProperty("os.arch", ""), isLinux(osName) && isMuslLibc());
    }

    /** The library's file name on the running JVM's OS, e.g. {@code libkafka_offset_committer.so}. */
    public static String libraryFileName() {
        return System.mapLibraryName(LIBRARY_NAME);
    }

    /** Where the library for the running JVM sits in the jar (a class loader resource name, no leading slash). */
    public static String resourcePath() {
        return RESOURCE_ROOT + "/" + folder() + "/" + libraryFileName();
    }

    /**
     * The helper executable that runs librdkafka outside the JVM; it sits beside the library, in the jar
     * and wherever an overriding library path points.
     */
    public static final String HELPER_FILE_NAME = "kafka-offset-committer-helper";

    /**
     * Prints the folder of the platform named by its arguments ({@code os.name os.arch [musl]}), or of
     * the running JVM without arguments. {@code build/native.sh} runs this source file to name the
     * folder each cross-built library goes to, so build and loader agree on every platform.
     */
    public static void main(String[] args) {
        if (args.length == 0) {
            System.out.println(folder());
        } else if (args.length == 2 || args.length == 3) {
            System.out.println(folder(args[0], args[1], args.length == 3 && "musl".equals(args[2])));
        } else {
            System.err.println("usage: NativePlatform [os.name os.arch [musl]]");
            System.exit(2);
        }
    }

    /** Where the jar carries the helper executable for this platform. */
    public static String helperResourcePath() {
        return RESOURCE_ROOT + "/" + folder() + "/" + HELPER_FILE_NAME;
    }

    static String folder(String osName, String osArch, boolean muslLibc) {
        String os = normalizeOs(osName);
        return (muslLibc ? os + "-musl" : os) + "-" + normalizeArch(osArch);
    }

    static String normalizeOs(String osName) {
        String name = lowerCase(osName);
        if (name.startsWith("linux")) {
            return "linux";
        }
        if (name.startsWith("mac") || name.startsWith("darwin")) {
            return "darwin";
        }
        if (name.startsWith("windows")) {
            return "windows";
        }
        return alphanumeric(name);
    }

    // The JDK reports the same CPU under vendor-specific names (amd64 vs x86_64, arm64 vs aarch64);
    // the folder uses the names Rust target triples use.
    static String normalizeArch(String osArch) {
        String arch = lowerCase(osArch);
        switch (arch) {
            case "amd64":
            case "x86_64":
            case "x86-64":
            case "x64":
            case "em64t":
                return "x86_64";
            case "aarch64":
            case "arm64":
                return "aarch64";
            case "x86":
            case "i386":
            case "i486":
            case "i586":
            case "i686":
                return "x86";
            case "ppc64le":
            case "powerpc64le":
                return "ppc64le";
            default:
                return arch.startsWith("arm") ? "arm" : alphanumeric(arch);
        }
    }

    private static boolean isLinux(String osName) {
        return "linux".equals(normalizeOs(osName));
    }

    // A glibc build of the library cannot load on musl (Alpine), so musl gets its own folder. The C
    // library this JVM itself runs on is the one that matters, and it shows in the process's mappings.
    private static boolean isMuslLibc() {
        try (Stream<String> mappings = Files.lines(Paths.get("/proc/self/maps"), StandardCharsets.UTF_8)) {
            return mappings.anyMatch(mapping -> mapping.contains("/ld-musl-"));
        } catch (IOException | UncheckedIOException | SecurityException unreadable) {
            return false;
        }
    }

    private static String lowerCase(String value) {
        return value.trim().toLowerCase(Locale.ROOT);
    }

    private static String alphanumeric(String value) {
        String cleaned = value.replaceAll("[^a-z0-9_]", "");
        return cleaned.isEmpty() ? "unknown" : cleaned;
    }
}
