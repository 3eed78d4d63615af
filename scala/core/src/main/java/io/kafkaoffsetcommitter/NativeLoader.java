package io.kafkaoffsetcommitter;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * Loads the native library, once, on first use.
 *
 * <p>An explicit path, from system property {@value #PATH_PROPERTY} or else environment variable
 * {@value #PATH_ENVIRONMENT_VARIABLE}, is loaded as given and turns discovery off. Otherwise the library
 * bundled in the jar for {@link NativePlatform#folder()} is copied to a file with a unique name in
 * {@value #TEMP_DIRECTORY_PROPERTY} (default {@code java.io.tmpdir}), loaded, and the copy deleted at once:
 * the loaded mapping stays valid, and concurrent JVMs or class loaders never share or overwrite a copy.
 *
 * <p>A failure is caught whatever it is, kept, and thrown again as the same
 * {@link NativeLibraryUnavailableException} by every later {@link #ensureLoaded()}, so callers never see a
 * raw {@link UnsatisfiedLinkError} and can probe with {@link #isLoaded()} first.
 */
public final class NativeLoader {
    public static final String PATH_PROPERTY = "kafka.offset.committer.native.path";
    public static final String PATH_ENVIRONMENT_VARIABLE = "KAFKA_OFFSET_COMMITTER_NATIVE_PATH";
    public static final String TEMP_DIRECTORY_PROPERTY = "kafka.offset.committer.tempdir";

    private NativeLoader() {}

    // The JVM initialises a class exactly once and makes other threads wait for it, so the load runs
    // once and every caller then reads the same outcome without locking. "Once" is per class loader:
    // each one that loads these classes binds its own copy of the library, as the JVM requires.
    private static final class Outcome {
        static final NativeLibraryUnavailableException FAILURE = load();
    }

    /** Loads the library if that has not happened yet; throws the stored failure if loading failed. */
    public static void ensureLoaded() {
        NativeLibraryUnavailableException failure = Outcome.FAILURE;
        if (failure != null) {
            throw failure;
        }
    }

    /** Whether the library is loaded, attempting the load first if needed; never throws. */
    public static boolean isLoaded() {
        return Outcome.FAILURE == null;
    }

    /** The stored failure, if loading failed; attempts the load first if needed. */
    public static Optional<NativeLibraryUnavailableException> loadError() {
        return Optional.ofNullable(Outcome.FAILURE);
    }

    private static NativeLibraryUnavailableException load() {
        String propertyPath = System.getProperty(PATH_PROPERTY, "").trim();
        String environmentPath = nullToEmpty(System.getenv(PATH_ENVIRONMENT_VARIABLE)).trim();
        try {
            if (!propertyPath.isEmpty()) {
                loadFile(propertyPath);
            } else if (!environmentPath.isEmpty()) {
                loadFile(environmentPath);
            } else {
                loadBundledLibrary();
            }
            return null;
        } catch (Throwable error) {
            return new NativeLibraryUnavailableException(failureMessage(propertyPath, environmentPath, error), error);
        }
    }

    /** Ends every load failure's message: what goes on without the library. */
    static final String CONSEQUENCE = "; no offsets are committed in this JVM, and queries run on without commits";

    private static String failureMessage(String propertyPath, String environmentPath, Throwable error) {
        String failure = " on platform " + NativePlatform.folder() + ": " + error;
        String message = "Cannot load the kafka-offset-committer native library from ";
        if (!propertyPath.isEmpty()) {
            return message + propertyPath + " (system property " + PATH_PROPERTY + ")" + failure + CONSEQUENCE;
        }
        if (!environmentPath.isEmpty()) {
            return message + environmentPath + " (environment variable " + PATH_ENVIRONMENT_VARIABLE + ")" + failure
                    + CONSEQUENCE;
        }
        return message + "jar resource " + NativePlatform.resourcePath() + failure + CONSEQUENCE
                + " (the jar carries builds for " + NativePlatform.BUNDLED_FOLDERS + "; to use a library built for this"
                + " platform, name its file in system property " + PATH_PROPERTY
                + " or environment variable " + PATH_ENVIRONMENT_VARIABLE + ")";
    }

    private static void loadFile(String path) {
        // System.load insists on an absolute path; a relative override is taken from the working directory.
        System.load(Paths.get(path).toAbsolutePath().toString());
    }

    private static void loadBundledLibrary() throws IOException {
        String resource = NativePlatform.resourcePath();
        InputStream bundled = NativeLoader.class.getResourceAsStream("/" + resource);
        if (bundled == null) {
            throw new FileNotFoundException(
                    "no " + resource + " on the class path: this build carries no native library for " + NativePlatform.folder());
        }
        try (InputStream library = bundled) {
            Path copy = createUniqueCopyFile();
            try {
                Files.copy(library, copy, StandardCopyOption.REPLACE_EXISTING);
                System.load(copy.toAbsolutePath().toString());
            } finally {
                deleteCopy(copy);
            }
        }
    }

    private static Path createUniqueCopyFile() throws IOException {
        String directory = System.getProperty(TEMP_DIRECTORY_PROPERTY, "").trim();
        Path parent = Paths.get(directory.isEmpty() ? System.getProperty("java.io.tmpdir") : directory);
        Files.createDirectories(parent);
        String fileName = NativePlatform.libraryFileName();
        int extension = fileName.lastIndexOf('.');
        // createTempFile adds a random part and creates the file readable by its owner only.
        return Files.createTempFile(parent, fileName.substring(0, extension) + "-" + version() + "-",
                fileName.substring(extension));
    }

    private static void deleteCopy(Path copy) {
        try {
            Files.deleteIfExists(copy);
        } catch (IOException stillInUse) {
            // Windows refuses to delete a loaded DLL; it can go when the JVM exits.
            copy.toFile().deleteOnExit();
        }
    }

    private static String version() {
        Package thisPackage = NativeLoader.class.getPackage();
        String version = thisPackage == null ? null : thisPackage.getImplementationVersion();
        return version == null ? "dev" : version;
    }

    private static String nullToEmpty(String value) {
        return value == null ? "" : value;
    }
}
