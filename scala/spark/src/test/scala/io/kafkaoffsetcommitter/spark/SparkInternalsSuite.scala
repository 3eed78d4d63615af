package io.kafkaoffsetcommitter.spark

import java.nio.file.Files
import java.util.concurrent.TimeUnit

import org.apache.spark.SPARK_VERSION
import org.apache.spark.sql.streaming.{StreamingQuery, Trigger}
import org.scalatest.funsuite.AnyFunSuite

import io.kafkaoffsetcommitter.spark.SparkInternals._

/**
 * The reflection layer against the Spark this JVM runs (`-Dspark.test.version`): every name in
 * SparkInternals' table must resolve on each supported line.
 */
class SparkInternalsSuite extends AnyFunSuite with BrokerAndSpark {

  private def eventually[T](what: String)(attempt: => Option[T]): T = {
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
    var result = attempt
    while (result.isEmpty && System.nanoTime() < deadline) {
      Thread.sleep(100)
      result = attempt
    }
    result.getOrElse(fail(s"timed out waiting for $what"))
  }

  private def stopping[T](query: StreamingQuery)(body: => T): T = try body finally query.stop()

  /**
   * Like [[stopping]], within a bound: Spark 4.1.1's continuous execution was seen waiting in `stop()` for good,
   * its stream thread parked in `DAGScheduler.runJob` after the interrupt; cancelling the jobs ends it.
   */
  private def stoppingContinuous[T](query: StreamingQuery)(body: => T): T =
    try body
    finally {
      val stopper = new Thread(new Runnable { def run(): Unit = query.stop() }, "stop-continuous-query")
      stopper.setDaemon(true)
      stopper.start()
      stopper.join(ContinuousStopBoundMillis)
      if (stopper.isAlive) {
        spark.sparkContext.cancelAllJobs()
        stopper.join(ContinuousStopBoundMillis)
      }
      assert(!stopper.isAlive, s"the continuous query ${query.id} did not stop")
    }

  private val ContinuousStopBoundMillis = 30000L

  private def executionOf(query: StreamingQuery): AnyRef =
    eventually("the query's execution")(findExecution(query.id))

  private def sourcesOf(query: StreamingQuery): Seq[AnyRef] =
    eventually("the query's sources")(Some(sources(executionOf(query))).filter(_.nonEmpty))

  test("finds the execution of a query of another session, until the query stops") {
    val session = spark.newSession()
    val query = start(session.readStream.format("rate").load())
    stopping(query) {
      assert(spark.streams.get(query.id) == null)
      assert(executionOf(query).getClass.getSimpleName == "MicroBatchExecution")
      assert(!isContinuous(executionOf(query)) && !isAsyncProgressTracking(executionOf(query)))
    }
    assert(findExecution(query.id).isEmpty)
  }

  test("lists the sources of a self-union once per reference, in plan order") {
    val topic = kafka.createTopic(unique("internals"))
    val kafkaSource = kafkaStream(spark, "subscribe" -> topic).selectExpr("CAST(value AS STRING) AS value")
    val rate = spark.readStream.format("rate").load().selectExpr("CAST(value AS STRING) AS value")
    val query = start(kafkaSource.union(rate).union(kafkaSource))
    stopping(query) {
      val listed = sourcesOf(query)
      assert(listed.length == 3)
      val distinct = CommitPlan.distinctSources(listed)
      assert(distinct.length == 2)
      assert(sourceKind(distinct(1)) == OtherSource)
      val progress = eventually("a progress event")(Option(query.lastProgress))
      assert(progress.sources.map(_.description).toSeq == distinct.map(_.toString))
    }
  }

  test("reads the Kafka params of the DSv2 micro-batch stream (keys lower-cased)") {
    val topic = kafka.createTopic(unique("dsv2"))
    val query = start(kafkaStream(spark, "subscribe" -> topic, "kafka.Consumer.Commit.GroupId" -> "g2",
      "kafka.client.rack" -> "rack-1"))
    stopping(query) {
      val source = sourcesOf(query).head
      assert(source.getClass.getName == "org.apache.spark.sql.kafka010.KafkaMicroBatchStream")
      sourceKind(source) match {
        case KafkaSourceParams(params) =>
          assert(params("bootstrap.servers") == kafka.bootstrap)
          assert(params(CommitPlan.CommitGroupParam) == "g2")
          assert(params("client.rack") == "rack-1")
        case other => fail(s"not recognised as Kafka: $other")
      }
    }
  }

  test("reads the Kafka params of the DSv1 source (keys as the user wrote them)") {
    val session = spark.newSession()
    session.conf.set("spark.sql.streaming.disabledV2MicroBatchReaders",
      "org.apache.spark.sql.kafka010.KafkaSourceProvider")
    val topic = kafka.createTopic(unique("dsv1"))
    val query = start(kafkaStream(session, "subscribe" -> topic, "kafka.Consumer.Commit.GroupId" -> "g1"))
    stopping(query) {
      val source = sourcesOf(query).head
      assert(source.getClass.getName == "org.apache.spark.sql.kafka010.KafkaSource")
      sourceKind(source) match {
        case KafkaSourceParams(params) =>
          assert(params("bootstrap.servers") == kafka.bootstrap)
          assert(CommitPlan.groupFromSourceOption(params) == Some("g1"))
        case other => fail(s"not recognised as Kafka: $other")
      }
    }
  }

  test("recognises continuous execution and its Kafka stream") {
    val topic = kafka.createTopic(unique("continuous"))
    val query = start(kafkaStream(spark, "subscribe" -> topic), trigger = Trigger.Continuous("1 second"))
    stoppingContinuous(query) {
      assert(isContinuous(executionOf(query)))
      assert(sourceKind(sourcesOf(query).head) == ContinuousKafkaSource)
    }
  }

  test("recognises async progress tracking") {
    val (in, out) = (kafka.createTopic(unique("async-in")), kafka.createTopic(unique("async-out")))
    val query = kafkaStream(spark, "subscribe" -> in).select("value").writeStream
      .format("kafka")
      .option("kafka.bootstrap.servers", kafka.bootstrap)
      .option("topic", out)
      .option("asyncProgressTrackingEnabled", "true")
      .option("checkpointLocation", Files.createTempDirectory("koc-async").toString)
      .start()
    stopping(query)(assert(isAsyncProgressTracking(executionOf(query))))
  }

  test("every execution class recognised by name exists on this Spark under one of its names") {
    for (movable <- MovableExecutionClasses; warning <- movable.movedWarning)
      fail(s"${movable.what}: $warning")
  }

  test("a class that moved again gives one warning naming the Spark version, and is never recognised") {
    val query = start(spark.readStream.format("rate").load())
    stopping(query) {
      val moved = new MovableSparkClass("a test execution",
        Seq("org.apache.spark.sql.execution.streaming.runtime.NoSuchExecution"))
      assert(!moved.isClassOf(executionOf(query)))
      val warning = moved.movedWarning.getOrElse(fail("no warning for a class that does not exist"))
      assert(warning.contains(s"Spark $SPARK_VERSION") && warning.contains("NoSuchExecution") &&
        warning.contains("a test execution"))
      assert(!moved.isClassOf(executionOf(query)))
      assert(moved.movedWarning.get eq warning) // computed, and logged, once
    }
  }

  test("Spark's shutdown hook manager takes a hook at a priority after SparkContext's stop") {
    spark // Spark is on the classpath and running
    val handle = addSparkShutdownHook(AfterSparkContextStopPriority)(() => ())
    assert(handle.isDefined, "org.apache.spark.util.ShutdownHookManager.addShutdownHook is out of reach")
    assert(removeSparkShutdownHook(handle.get))
    assert(!removeSparkShutdownHook(handle.get))
    assert(AfterSparkContextStopPriority < 50 && AfterSparkContextStopPriority > 25)
  }
}
