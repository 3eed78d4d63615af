// Builds the JVM side: `core` (Java API plus the native library) and `spark` (the listener), whose
// jar embeds core so a single --jars entry is enough. Run through build/sbt, which bootstraps sbt.
//
//   build/sbt core/package core/test           core jar and the native loader tests
//   build/sbt +spark/package                   one listener jar per Scala binary version
//   build/sbt -Dspark.test.version=4.2.0 spark/test    listener tests on another Spark
//   build/sbt -Dspark.test.version=4.3.0 -Dspark.test.jars=<pyspark>/jars:<connector dir> "++2.13 spark/test"
//                                              the same on Spark jars from folders (a release the registry lacks)
//   build/sbt core/publish +spark/publish      the Maven repository layout of a release in target/maven-repo
//                                              (jars, sources, javadoc, POMs, checksums), for spark-submit --packages
//
// The jars carry the native artifacts of every platform build/native.sh builds (target/native/<folder>/);
// KOC_SKIP_CARGO=1 packages what it staged before instead of running it first (`make` does that).

// `io` alone would mean sbt.io inside a build definition.
import _root_.io.kafkaoffsetcommitter.NativePlatform

import scala.sys.process.Process
import scala.xml.{Elem, Node => XmlNode}
import scala.xml.transform.{RewriteRule, RuleTransformer}

val scala212 = "2.12.21"
val scala213 = "2.13.18"

val sparkVersion = settingKey[String]("Spark the listener compiles against; provided by the cluster at run time")
val sparkTestVersion = settingKey[String]("Spark the listener tests compile and run on (-Dspark.test.version)")
val sparkTestJarFolders = settingKey[Seq[File]]("Folders whose jars are the tests' Spark instead of the registry's (-Dspark.test.jars)")
val nativeStaging = taskKey[File]("target/native: every platform's native artifacts, built by build/native.sh unless KOC_SKIP_CARGO=1")
val nativeLibrary = taskKey[File]("This platform's native library in the staging dir, the very file the jars carry")

// Tests resolve their Spark in this configuration of their own. It extends no other configuration, so
// Coursier resolves it apart from Compile: the test Spark's versions never leak into the main
// classpath, and the listener classes under test are the ones compiled against `sparkVersion`,
// exactly as users run them on a newer cluster.
val SparkTestDependencies = config("spark-test-dependencies").hide

// The jars carry the native crate's version, so one number names a release on both sides.
ThisBuild / version := {
  val cargoManifest = IO.read((ThisBuild / baseDirectory).value / "rust" / "Cargo.toml")
  """(?ms)^\[package\].*?^version\s*=\s*"([^"]+)"""".r
    .findFirstMatchIn(cargoManifest)
    .map(_.group(1))
    .getOrElse(sys.error("rust/Cargo.toml has no [package] version"))
}
ThisBuild / organization := "io.kafkaoffsetcommitter"
ThisBuild / scalaVersion := scala213

// What a Maven repository (Central's rules) needs of every published module. `publish` writes a release
// into target/maven-repo, laid out as a Maven repository with SHA-1 and MD5 checksums, so that
// spark-submit --packages ... --repositories file://<that folder> installs the listener as it would from
// a remote repository; uploading that folder's contents is the release.
ThisBuild / description := "Commits Spark Structured Streaming Kafka offsets to Kafka consumer groups"
ThisBuild / licenses := Seq("Apache-2.0" -> url("https://www.apache.org/licenses/LICENSE-2.0.txt"))
ThisBuild / homepage := Some(url("https://github.com/kafka-offset-committer/kafka-offset-committer"))
ThisBuild / scmInfo := Some(ScmInfo(
  url("https://github.com/kafka-offset-committer/kafka-offset-committer"),
  "scm:git:https://github.com/kafka-offset-committer/kafka-offset-committer.git"))
ThisBuild / developers := List(Developer(
  "kafka-offset-committer", "kafka-offset-committer maintainers", "",
  url("https://github.com/kafka-offset-committer")))
ThisBuild / publishMavenStyle := true
ThisBuild / pomIncludeRepository := (_ => false)
ThisBuild / publishTo := Some(
  Resolver.file("koc-local-maven", (ThisBuild / baseDirectory).value / "target" / "maven-repo")(Resolver.mavenStylePatterns))
// Rebuilding the same version replaces it in the local repository.
ThisBuild / publishConfiguration := publishConfiguration.value.withOverwrite(true)

// Options Spark itself passes to its JVMs on Java 17+ (org.apache.spark.launcher.JavaModuleOptions);
// Spark 4 and its Netty and Arrow fail without them.
val sparkJavaModuleOptions = Seq(
  "-XX:+IgnoreUnrecognizedVMOptions",
  "--add-modules=jdk.incubator.vector",
  "--add-opens=java.base/java.lang=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
  "--add-opens=java.base/java.io=ALL-UNNAMED",
  "--add-opens=java.base/java.net=ALL-UNNAMED",
  "--add-opens=java.base/java.nio=ALL-UNNAMED",
  "--add-opens=java.base/java.util=ALL-UNNAMED",
  "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
  "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
  "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
  "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
  "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
  "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
  "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
  "-Dio.netty.tryReflectionSetAccessible=true",
  "-Dio.netty.allocator.type=pooled",
  "-Dio.netty.noUnsafe=false",
  "--enable-native-access=ALL-UNNAMED"
) ++ (if (sys.props("java.specification.version").toDouble >= 25) Seq("--sun-misc-unsafe-memory-access=allow") else Nil)

// System properties given to sbt (`build/sbt -Dkafka...=...`) that forked test JVMs also get; the
// environment (KAFKA_BOOTSTRAP and the like) is inherited by forked JVMs anyway.
def passedThroughProperties: Seq[String] =
  sys.props.toSeq.collect {
    case (key, value) if Seq("kafka.", "koc.", "spark.test.").exists(key.startsWith) => s"-D$key=$value"
  }

lazy val root = (project in file("."))
  .aggregate(core, spark)
  .settings(
    name := "kafka-offset-committer",
    crossScalaVersions := Nil,
    publish / skip := true
  )

lazy val core = (project in file("scala/core"))
  .settings(
    name := "kafka-offset-committer-core",
    // Plain Java: no Scala library dependency, no _2.1x suffix, no Scala compiler to fetch.
    autoScalaLibrary := false,
    crossPaths := false,
    managedScalaInstance := false,
    Compile / compile / javacOptions ++= Seq("--release", "8", "-Xlint:all", "-Xlint:-options"),
    // Dependent projects and the tests see core as its jar, so the library is loaded as users load it.
    exportJars := true,
    nativeStaging := {
      val log = streams.value.log
      val repositoryRoot = (ThisBuild / baseDirectory).value
      if (sys.env.get("KOC_SKIP_CARGO").contains("1")) {
        log.info("KOC_SKIP_CARGO=1: packaging the native artifacts build/native.sh staged before")
      } else {
        val nativeBuild = Seq((repositoryRoot / "build" / "native.sh").getPath)
        log.info(nativeBuild.mkString(" "))
        val exitCode = Process(nativeBuild, repositoryRoot).!
        if (exitCode != 0) sys.error(s"${nativeBuild.mkString(" ")} failed with exit code $exitCode")
      }
      val staging = repositoryRoot / "target" / "native"
      if (!staging.isDirectory) sys.error(s"$staging is missing: run build/native.sh (make native), or unset KOC_SKIP_CARGO")
      staging
    },
    nativeLibrary := {
      val library = nativeStaging.value / NativePlatform.folder() / NativePlatform.libraryFileName()
      if (!library.isFile) sys.error(s"$library is missing: build/native.sh builds no library for ${NativePlatform.folder()}")
      library
    },
    // Every staged file, each platform in its folder: io/kafkaoffsetcommitter/native/<folder>/<artifact>.
    Compile / resourceGenerators += Def.task {
      val staging = nativeStaging.value
      val bundledRoot = (Compile / resourceManaged).value / NativePlatform.RESOURCE_ROOT
      IO.delete(bundledRoot)
      val copies = (staging ** -DirectoryFilter).get.flatMap { staged =>
        IO.relativize(staging, staged).map(relative => staged -> bundledRoot / relative)
      }
      IO.copy(copies, CopyOptions().withPreserveLastModified(true).withPreserveExecutable(true))
      copies.map(_._2)
    }.taskValue,
    libraryDependencies ++= Seq(
      "com.github.sbt" % "junit-interface" % "0.13.3" % Test,
      // Compiled against, never packaged: OAUTHBEARER login handlers run on the application's own Kafka
      // client (Spark's Kafka connector brings it). The tests also read committed offsets back with it
      // (same Kafka as tests/broker/pom.xml).
      "org.apache.kafka" % "kafka-clients" % "3.9.1" % Provided,
      // Kafka's unsecured OAUTHBEARER login handler (the tests' token maker) needs it; kafka-clients
      // declares it optional, and Spark brings it at run time.
      "com.fasterxml.jackson.core" % "jackson-databind" % "2.16.2" % Test
    ),
    Test / fork := true,
    Test / javaOptions ++= Seq(
      "-Xcheck:jni",
      "--enable-native-access=ALL-UNNAMED",
      s"-Dkoc.test.native.library=${nativeLibrary.value}"
    ) ++ passedThroughProperties,
    Test / testOptions += Tests.Argument(TestFrameworks.JUnit, "-a", "-v")
  )

lazy val spark = (project in file("scala/spark"))
  .dependsOn(core)
  .configs(SparkTestDependencies)
  .settings(
    name := "kafka-offset-committer-spark",
    // Compiled against the oldest supported Spark so one jar serves Spark 3.5 and 4.x; running the
    // tests on Spark 4 (-Dspark.test.version=4.x) checks that it still links there.
    sparkVersion := "3.5.9",
    // By default tests run on the newest Spark 3.5 whose Kafka source (spark-sql-kafka-0-10 and
    // spark-token-provider-kafka-0-10) the package registry carries for that Scala version.
    sparkTestVersion := sys.props.getOrElse(
      "spark.test.version",
      Map("2.12" -> "3.5.7", "2.13" -> "3.5.4")(scalaBinaryVersion.value)
    ),
    // For a Spark release the registry lacks: -Dspark.test.jars=<dir>:<dir> names folders of jars (e.g.
    // pyspark's jars folder, which is a whole Spark distribution, and a Kafka connector folder from
    // tests/spark-deps) that stand in for the registry's Spark; spark.test.version still names the release.
    sparkTestJarFolders := sys.props.get("spark.test.jars").toSeq
      .flatMap(_.split(java.io.File.pathSeparator)).filter(_.nonEmpty).map(file),
    // Spark 4 is published for Scala 2.13 only, so testing on it leaves 2.12 out of `+` commands.
    crossScalaVersions := (if (sparkTestVersion.value.startsWith("3.")) Seq(scala212, scala213) else Seq(scala213)),
    scalacOptions ++= Seq("-deprecation", "-feature", "-unchecked", "-release", "8"),
    libraryDependencies ++= Seq(
      "org.apache.spark" %% "spark-sql" % sparkVersion.value % Provided,
      "org.scalatest" %% "scalatest" % "3.2.20" % SparkTestDependencies
    ) ++ (if (sparkTestJarFolders.value.nonEmpty) Nil else Seq(
      "org.apache.spark" %% "spark-sql" % sparkTestVersion.value % SparkTestDependencies,
      "org.apache.spark" %% "spark-sql-kafka-0-10" % sparkTestVersion.value % SparkTestDependencies
    )),
    Test / managedClasspath := {
      val registryJars = Classpaths.managedJars(SparkTestDependencies, (Test / classpathTypes).value, update.value)
      val folderJars = sparkTestJarFolders.value.flatMap { folder =>
        if (!folder.isDirectory) sys.error(s"-Dspark.test.jars: $folder is not a folder")
        (folder * "*.jar").get.sortBy(_.getName)
      }
      // Spark runs on its folders' jars as shipped; the registry adds only what they lack (scalatest
      // and the like). A registry jar whose module the folders also hold (scala-library, scala-xml)
      // is left out, so the classpath carries one copy of each.
      def inFolders(module: ModuleID) = folderJars.exists(_.getName.matches(s"\\Q${module.name}\\E-\\d.*\\.jar"))
      Attributed.blankSeq(folderJars) ++ registryJars.filterNot(_.get(moduleID.key).exists(inFolders))
    },
    // One self-contained jar per Scala version: the listener, core's classes and the native library.
    Compile / packageBin / mappings ++= (core / Compile / packageBin / mappings).value,
    // So its POM names no core dependency (the jar holds core), and nothing of the tests' own configuration.
    pomPostProcess := { pom =>
      val leftOut = Set("kafka-offset-committer-core")
      new RuleTransformer(new RewriteRule {
        override def transform(node: XmlNode): Seq[XmlNode] = node match {
          case dependency: Elem if dependency.label == "dependency" &&
              (leftOut((dependency \ "artifactId").text) || (dependency \ "scope").text == SparkTestDependencies.name) =>
            Nil
          case other => other
        }
      }).transform(pom).head
    },
    Test / fork := true,
    // Tests share one Kafka broker and one local Spark per JVM.
    Test / parallelExecution := false,
    // SessionCyclesSuite starts and stops SparkContexts of its own and counts the process's threads and
    // descriptors: it gets a JVM to itself (forked groups run one after another).
    Test / testGrouping := (Test / testGrouping).value.flatMap { group =>
      val (isolated, shared) = group.tests.partition(_.name.endsWith(".SessionCyclesSuite"))
      Tests.Group(group.name, shared, group.runPolicy) +: isolated.map(t => Tests.Group(t.name, Seq(t), group.runPolicy))
    },
    Test / javaOptions ++= sparkJavaModuleOptions ++ Seq(
      "-Xmx3g",
      s"-Dspark.test.version=${sparkTestVersion.value}"
    ) ++ passedThroughProperties.filterNot(_.startsWith("-Dspark.test.version=")),
    Test / testOptions += Tests.Argument(TestFrameworks.ScalaTest, "-oD")
  )
