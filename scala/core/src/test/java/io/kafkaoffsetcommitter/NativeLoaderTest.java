package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Scanner;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The loader runs once per class loader, so each case loads a fresh copy of core's classes from the
 * core jar in its own class loader, as separate applications in one JVM (or Spark sessions with
 * isolated class loaders) would. The build passes the cargo-built library as {@code koc.test.native.library}.
 */
public class NativeLoaderTest {
    private static final String BUILT_LIBRARY = System.getProperty("koc.test.native.library");
    private static final URL CORE_JAR =
            NativeLoader.class.getProtectionDomain().getCodeSource().getLocation();
    private static final String JAR_VERSION = NativeLoader.class.getPackage().getImplementationVersion();

    @Rule
    public TemporaryFolder temporaryFolder = new TemporaryFolder();

    /**
     * For the cases that load in this JVM without a system property: an environment variable inherited
     * from outside would decide their load instead of the jar. The others set the property (which wins) or
     * start a JVM with the variable of their choice, so they run whatever the environment holds.
     */
    private static void assumeNoEnvironmentOverride() {
        String inherited = System.getenv(NativeLoader.PATH_ENVIRONMENT_VARIABLE);
        assumeTrue(
                "skipped: the test JVM inherits " + NativeLoader.PATH_ENVIRONMENT_VARIABLE + "=" + inherited
                        + ", which this case's load would take instead of the jar's library",
                inherited == null || inherited.trim().isEmpty());
    }

    @After
    public void clearProperties() {
        System.clearProperty(NativeLoader.PATH_PROPERTY);
        System.clearProperty(NativeLoader.TEMP_DIRECTORY_PROPERTY);
    }

    @Test
    public void loadsTheLibraryBundledInTheJarAndDeletesTheCopy() throws Exception {
        assumeNoEnvironmentOverride();
        assertEquals(
                "jar",
                NativeLoader.class
                        .getResource("/" + NativePlatform.resourcePath())
                        .getProtocol());
        File temporaryDirectory = temporaryFolder.newFolder();
        System.setProperty(NativeLoader.TEMP_DIRECTORY_PROPERTY, temporaryDirectory.getPath());

        ClassLoader first = isolatedCore(false);
        ClassLoader second = isolatedCore(false);

        assertTrue(isLoaded(first));
        assertTrue(isLoaded(second));
        assertFalse(loadError(first).isPresent());
        invoke(first, "ensureLoaded");
        assertEquals("[]", Arrays.toString(temporaryDirectory.list()));
        // Each class loader's natives are bound to its own copy, and the crate version is the jar's.
        assertEquals(JAR_VERSION, nativeVersion(first));
        assertEquals(JAR_VERSION, nativeVersion(second));
    }

    @Test
    public void explicitPathIsLoadedWithoutDiscovery() throws Exception {
        System.setProperty(NativeLoader.PATH_PROPERTY, BUILT_LIBRARY);
        // Without its bundled copy this class loader can only succeed through the explicit path.
        ClassLoader withoutBundledLibrary = isolatedCore(true);

        assertTrue(isLoaded(withoutBundledLibrary));
        invoke(withoutBundledLibrary, "ensureLoaded");
        assertEquals(JAR_VERSION, nativeVersion(withoutBundledLibrary));
    }

    @Test
    public void bogusExplicitPathFailsWithTheSameStoredException() throws Exception {
        String bogusPath = new File(temporaryFolder.getRoot(), "no-such-library.so").getPath();
        System.setProperty(NativeLoader.PATH_PROPERTY, bogusPath);
        ClassLoader core = isolatedCore(false);

        assertFalse(isLoaded(core));
        Throwable failure = ensureLoadedFailure(core);
        assertSame(failure, ensureLoadedFailure(core));
        assertSame(failure, loadError(core).get());

        assertEquals(
                NativeLibraryUnavailableException.class.getName(),
                failure.getClass().getName());
        assertEquals(
                OffsetCommitterException.class.getName(),
                failure.getClass().getSuperclass().getName());
        assertTrue(failure.getCause() instanceof UnsatisfiedLinkError);
        assertMentions(failure.getMessage(), bogusPath, NativeLoader.PATH_PROPERTY, NativePlatform.folder());
    }

    @Test
    public void missingBundledLibraryNamesTheResourceAndPlatform() throws Exception {
        assumeNoEnvironmentOverride();
        ClassLoader withoutBundledLibrary = isolatedCore(true);

        assertFalse(isLoaded(withoutBundledLibrary));
        Throwable failure = ensureLoadedFailure(withoutBundledLibrary);
        assertTrue(failure.getCause() instanceof FileNotFoundException);
        assertMentions(
                failure.getMessage(),
                NativePlatform.resourcePath(),
                NativePlatform.folder(),
                NativeLoader.PATH_PROPERTY,
                NativeLoader.PATH_ENVIRONMENT_VARIABLE,
                "queries run on without commits");
    }

    // The environment cannot be changed inside a running JVM, so these cases start one.

    @Test
    public void environmentVariableNamesTheLibrary() throws Exception {
        assertEquals("loaded", loadInNewJvm(BUILT_LIBRARY, null));
    }

    @Test
    public void bogusEnvironmentVariableIsReported() throws Exception {
        String bogusPath = new File(temporaryFolder.getRoot(), "missing.so").getPath();
        assertMentions(loadInNewJvm(bogusPath, null), bogusPath, NativeLoader.PATH_ENVIRONMENT_VARIABLE);
    }

    @Test
    public void systemPropertyWinsOverEnvironmentVariable() throws Exception {
        String bogusPath = new File(temporaryFolder.getRoot(), "missing.so").getPath();
        assertEquals("loaded", loadInNewJvm(bogusPath, BUILT_LIBRARY));
    }

    /** A class loader with its own copy of core's classes; optionally blind to the bundled library. */
    private static ClassLoader isolatedCore(boolean hideBundledLibrary) {
        return new URLClassLoader(new URL[] {CORE_JAR}, null) {
            @Override
            public URL findResource(String name) {
                return hideBundledLibrary && name.equals(NativePlatform.resourcePath())
                        ? null
                        : super.findResource(name);
            }
        };
    }

    private static boolean isLoaded(ClassLoader core) throws Exception {
        return (Boolean) invoke(core, "isLoaded");
    }

    private static Optional<?> loadError(ClassLoader core) throws Exception {
        return (Optional<?>) invoke(core, "loadError");
    }

    private static Throwable ensureLoadedFailure(ClassLoader core) throws Exception {
        try {
            invoke(core, "ensureLoaded");
        } catch (InvocationTargetException expected) {
            return expected.getCause();
        }
        throw new AssertionError("ensureLoaded() did not throw");
    }

    private static Object invoke(ClassLoader core, String method) throws Exception {
        return Class.forName(NativeLoader.class.getName(), true, core)
                .getMethod(method)
                .invoke(null);
    }

    private static String nativeVersion(ClassLoader core) throws Exception {
        Method version = Class.forName(NativeBridge.class.getName(), true, core).getDeclaredMethod("version");
        version.setAccessible(true);
        return (String) version.invoke(null);
    }

    /** Runs {@link LoadOutcome} in a new JVM with the environment variable (and maybe the property) set. */
    private static String loadInNewJvm(String environmentPath, String propertyPath)
            throws IOException, InterruptedException {
        String classPath = new File(CORE_JAR.getPath()).getPath()
                + File.pathSeparator
                + new File(LoadOutcome.class
                                .getProtectionDomain()
                                .getCodeSource()
                                .getLocation()
                                .getPath())
                        .getPath();
        List<String> arguments = new ArrayList<>(
                Arrays.asList(new File(System.getProperty("java.home"), "bin/java").getPath(), "-cp", classPath));
        if (propertyPath != null) {
            arguments.add("-D" + NativeLoader.PATH_PROPERTY + "=" + propertyPath);
        }
        arguments.add(LoadOutcome.class.getName());
        ProcessBuilder command = new ProcessBuilder(arguments);
        command.environment().put(NativeLoader.PATH_ENVIRONMENT_VARIABLE, environmentPath);
        command.redirectErrorStream(true);
        Process process = command.start();
        try (Scanner output = new Scanner(process.getInputStream(), StandardCharsets.UTF_8.name())) {
            String printed =
                    output.useDelimiter("\\A").hasNext() ? output.next().trim() : "";
            assertEquals(printed, 0, process.waitFor());
            return printed;
        }
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue("\"" + message + "\" should mention " + part, message.contains(part));
        }
    }
}
