package io.kafkaoffsetcommitter.spark

import org.scalatest.funsuite.AnyFunSuite

/** Guards the build: tests must run on the Spark that `-Dspark.test.version` (or its default) names. */
class TestClasspathSuite extends AnyFunSuite {
  test("tests run on the Spark version the build chose for them") {
    val chosen = sys.props.get("spark.test.version")
    assert(chosen.isDefined, "the build passes spark.test.version to test JVMs")
    assert(org.apache.spark.SPARK_VERSION == chosen.get)
  }

  test("the Kafka source of the same Spark version is on the classpath") {
    val kafkaSource = Class.forName("org.apache.spark.sql.kafka010.KafkaSourceProvider")
    val jar = kafkaSource.getProtectionDomain.getCodeSource.getLocation.getPath
    assert(jar.endsWith(s"-${org.apache.spark.SPARK_VERSION}.jar"), jar)
  }
}
