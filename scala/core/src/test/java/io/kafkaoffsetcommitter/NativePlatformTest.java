package io.kafkaoffsetcommitter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import org.junit.Test;

public class NativePlatformTest {
    @Test
    public void architecturesUseRustTargetNames() {
        assertEquals("x86_64", NativePlatform.normalizeArch("amd64"));
        assertEquals("x86_64", NativePlatform.normalizeArch("x86_64"));
        assertEquals("aarch64", NativePlatform.normalizeArch("aarch64"));
        assertEquals("aarch64", NativePlatform.normalizeArch("arm64"));
        assertEquals("x86", NativePlatform.normalizeArch("i686"));
        assertEquals("ppc64le", NativePlatform.normalizeArch("ppc64le"));
        assertEquals("arm", NativePlatform.normalizeArch("armv7l"));
        assertEquals("s390x", NativePlatform.normalizeArch("S390X"));
        assertEquals("unknown", NativePlatform.normalizeArch(""));
    }

    @Test
    public void operatingSystemsAreShortLowerCaseNames() {
        assertEquals("linux", NativePlatform.normalizeOs("Linux"));
        assertEquals("darwin", NativePlatform.normalizeOs("Mac OS X"));
        assertEquals("windows", NativePlatform.normalizeOs("Windows Server 2022"));
        assertEquals("freebsd", NativePlatform.normalizeOs("FreeBSD"));
    }

    @Test
    public void muslGetsItsOwnFolder() {
        assertEquals("linux-x86_64", NativePlatform.folder("Linux", "amd64", false));
        assertEquals("linux-musl-aarch64", NativePlatform.folder("Linux", "aarch64", true));
        assertEquals("darwin-aarch64", NativePlatform.folder("Mac OS X", "aarch64", false));
    }

    @Test
    public void resourcePathNamesTheLibraryForThisJvm() {
        assertEquals(
                "io/kafkaoffsetcommitter/native/" + NativePlatform.folder() + "/"
                        + System.mapLibraryName("kafka_offset_committer"),
                NativePlatform.resourcePath());
    }

    @Test
    public void linuxLibraryFileName() {
        assumeTrue("linux".equals(NativePlatform.normalizeOs(System.getProperty("os.name"))));
        assertEquals("libkafka_offset_committer.so", NativePlatform.libraryFileName());
    }
}
