package io.kafkaoffsetcommitter.spark

import java.io.File

import org.scalatest.funsuite.AnyFunSuite

/**
 * Guards the build: tests must run on the Spark that `-Dspark.test.version` (or its default) names,
 * taken either from the registry or, with `-Dspark.test.jars`, from folders of jars.
 */
class TestClasspathSuite extends AnyFunSuite {
  private val jarFolders: Seq[File] =
    sys.props.get("spark.test.jars").toSeq
      .flatMap(_.split(File.pathSeparator)).filter(_.nonEmpty)
      .map(new File(_).getCanonicalFile)

  private def fromJarFolders(jar: File): Boolean = jarFolders.contains(jar.getCanonicalFile.getParentFile)

  test("tests run on the Spark version the build chose for them") {
    val chosen = sys.props.get("spark.test.version")
    assert(chosen.isDefined, "the build passes spark.test.version to test JVMs")
    assert(org.apache.spark.SPARK_VERSION == chosen.get)
  }

  // The folders may pair a Spark release with the connector of an earlier one (the registry has no
  // connector of that release), so there the check is where the connector comes from.
  test("the Kafka source comes from the same Spark version, or from the jar folders") {
    val kafkaSource = Class.forName("org.apache.spark.sql.kafka010.KafkaSourceProvider")
    val jar = new File(kafkaSource.getProtectionDomain.getCodeSource.getLocation.toURI)
    if (jarFolders.isEmpty) assert(jar.getName.endsWith(s"-${org.apache.spark.SPARK_VERSION}.jar"), jar)
    else assert(fromJarFolders(jar), s"$jar is not in ${jarFolders.mkString(", ")}")
  }

  test("no Spark jar of another version or from elsewhere is on the classpath") {
    val sparkJars = sys.props("java.class.path").split(File.pathSeparator).toSeq
      .map(new File(_)).filter(jar => jar.getName.startsWith("spark-") && jar.getName.endsWith(".jar"))
    assert(sparkJars.nonEmpty, "java.class.path names no Spark jar")
    val strays =
      if (jarFolders.isEmpty) sparkJars.filterNot(_.getName.endsWith(s"-${org.apache.spark.SPARK_VERSION}.jar"))
      else sparkJars.filterNot(fromJarFolders)
    assert(strays.isEmpty)
  }
}
