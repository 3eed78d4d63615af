// The meta-build compiles NativePlatform.java from the core sources, so build.sbt names the native
// library's folder in the jar with the very method NativeLoader uses to find it at run time.
Compile / unmanagedSources +=
  baseDirectory.value.getParentFile / "scala/core/src/main/java/io/kafkaoffsetcommitter/NativePlatform.java"
