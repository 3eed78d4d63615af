package io.kafkaoffsetcommitter;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
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
 * <p>librdkafka itself runs in a helper process the library starts (so that its crashes cannot end the JVM).
 * The helper is the file named by {@value #HELPER_PATH_PROPERTY} or {@value #HELPER_PATH_ENVIRONMENT_VARIABLE},
 * else the file beside an explicitly named library, else the jar's copy, which the library installs in an
 * in-memory file (so a {@code noexec} temp directory does not stop it).
 *
 * <p>A failure is caught whatever it is, kept, and thrown again as the same
 * {@link NativeLibraryUnavailableException} by every later {@link #ensureLoaded()}, so callers never see a
 * raw {@link UnsatisfiedLinkError} and can probe with {@link #isLoaded()} first.
 */
public final class NativeLoader {
    public static final String PATH_PROPERTY = "kafka.offset.committer.native.path";
    public static final String PATH_ENVIRONMENT_VARIABLE = "KAFKA_OFFSET_COMMITTER_NATIVE_PATH";
    public static final String TEMP_DIRECTORY_PROPERTY = "kafka.offset.committer.tempdir";
    public static final String HELPER_PATH_PROPERTY = "kafka.offset.committer.helper.path";
    public static final String HELPER_PATH_ENVIRONMENT_VARIABLE = "KAFKA_OFFSET_COMMITTER_HELPER_PATH";

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
        String environmentPath =
                nullToEmpty(System.getenv(PATH_ENVIRONMENT_VARIABLE)).trim();
        try {
            String explicitPath = !propertyPath.isEmpty() ? propertyPath : environmentPath;
            if (!explicitPath.isEmpty()) {
                loadFile(explicitPath);
            } else {
                loadBundledLibrary();
            }
            setUpHelper(explicitPath);
            return null;
        } catch (Throwable error) {
            return new NativeLibraryUnavailableException(failureMessage(propertyPath, environmentPath, error), error);
        }
    }

    /** Ends every load failure's message: what goes on without the library. */
    static final String CONSEQUENCE = "; no offsets are committed in this JVM, and queries run on without commits";

    private static String failureMessage(String propertyPath, String environmentPath, Throwable error) {
        String failure = " on platform " + NativePlatform.folder() + ": " + error + CONSEQUENCE;
        String message = "Cannot load the kafka-offset-committer native library from ";
        if (!propertyPath.isEmpty()) {
            return message + propertyPath + " (system property " + PATH_PROPERTY + ")" + failure;
        }
        if (!environmentPath.isEmpty()) {
            return message + environmentPath + " (environment variable " + PATH_ENVIRONMENT_VARIABLE + ")" + failure;
        }
        return message + "jar resource " + NativePlatform.resourcePath() + failure
                + " (the jar carries builds for " + NativePlatform.BUNDLED_FOLDERS + "; to use a library built for this"
                + " platform, name its file in system property " + PATH_PROPERTY
                + " or environment variable " + PATH_ENVIRONMENT_VARIABLE + ")";
    }

    private static void loadFile(String path) {
        // System.load insists on an absolute path; a relative override is taken from the working directory.
        System.load(Paths.get(path).toAbsolutePath().toString());
    }

    /** Tells the library which helper executable to start; see the class comment for the order. */
    private static void setUpHelper(String explicitLibraryPath) throws IOException {
        String helperProperty = System.getProperty(HELPER_PATH_PROPERTY, "").trim();
        String helperEnvironment =
                nullToEmpty(System.getenv(HELPER_PATH_ENVIRONMENT_VARIABLE)).trim();
        if (!helperProperty.isEmpty() || !helperEnvironment.isEmpty()) {
            NativeBridge.useHelper(Paths.get(helperProperty.isEmpty() ? helperEnvironment : helperProperty)
                    .toAbsolutePath()
                    .toString());
            return;
        }
        if (!explicitLibraryPath.isEmpty()) {
            Path beside =
                    Paths.get(explicitLibraryPath).toAbsolutePath().resolveSibling(NativePlatform.HELPER_FILE_NAME);
            if (Files.isRegularFile(beside)) {
                NativeBridge.useHelper(beside.toString());
                return;
            }
        }
        NativeBridge.installHelper(
                readResource(NativePlatform.helperResourcePath(), "helper executable"),
                temporaryDirectories().get(0).toString());
    }

    private static byte[] readResource(String resource, String what) throws IOException {
        try (InputStream bundled = NativeLoader.class.getResourceAsStream("/" + resource)) {
            if (bundled == null) {
                throw new FileNotFoundException("no " + resource + " on the class path: this build carries no native "
                        + what + " for " + NativePlatform.folder());
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 20);
            byte[] buffer = new byte[1 << 16];
            for (int read; (read = bundled.read(buffer)) > 0; ) {
                bytes.write(buffer, 0, read);
            }
            return bytes.toByteArray();
        }
    }

    /**
     * Copies the jar's library to each candidate directory in turn until one loads: a temp directory
     * mounted {@code noexec} refuses to map it, and then the next candidate is tried.
     */
    private static void loadBundledLibrary() throws IOException {
        byte[] library = readResource(NativePlatform.resourcePath(), "library");
        List<String> failures = new ArrayList<>();
        for (Path directory : temporaryDirectories()) {
            Path copy = null;
            try {
                copy = createUniqueCopyFile(directory);
                Files.write(copy, library);
                System.load(copy.toAbsolutePath().toString());
                return;
            } catch (IOException | UnsatisfiedLinkError failure) {
                failures.add(directory + ": " + failure.getMessage());
            } finally {
                if (copy != null) {
                    deleteCopy(copy);
                }
            }
        }
        throw new IOException(
                "no directory could load the library (" + String.join("; ", failures) + "); set system property "
                        + TEMP_DIRECTORY_PROPERTY + " to a directory on a file system mounted with exec");
    }

    /** The explicit temp directory alone if one is set; else java.io.tmpdir, then one under the user's home. */
    private static List<Path> temporaryDirectories() {
        String directory = System.getProperty(TEMP_DIRECTORY_PROPERTY, "").trim();
        if (!directory.isEmpty()) {
            return Collections.singletonList(Paths.get(directory));
        }
        return Arrays.asList(
                Paths.get(System.getProperty("java.io.tmpdir")),
                Paths.get(System.getProperty("user.home"), ".kafka-offset-committer"));
    }

    private static Path createUniqueCopyFile(Path parent) throws IOException {
        Files.createDirectories(parent);
        String fileName = NativePlatform.libraryFileName();
        int extension = fileName.lastIndexOf('.');
        // createTempFile adds a random part and creates the file readable by its owner only.
        return Files.createTempFile(
                parent, fileName.substring(0, extension) + "-" + version() + "-", fileName.substring(extension));
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
