package io.kafkaoffsetcommitter.spark

import java.nio.file.Files
import java.time.Duration
import java.util.UUID
import java.util.concurrent.{CompletableFuture, CountDownLatch, TimeUnit}

import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.streaming.{StreamingQuery, Trigger}
import org.scalatest.funsuite.AnyFunSuite

/**
 * End to end: real Spark queries of every supported shape read a real broker; the offsets the
 * listener commits, read back by an independent admin client, must equal what Spark processed
 * (the log-end offsets once the query has caught up).
 */
class KafkaOffsetCommitterListenerSuite extends AnyFunSuite with BrokerAndSpark {

  private val GroupOption = CommitPlan.CommitGroupOption

  /** Every thread of the JVM with its stack, for a test that found something stuck. */
  private def threadDump: String = {
    val dump = new StringBuilder
    Thread.getAllStackTraces.forEach { (thread: Thread, frames: Array[StackTraceElement]) =>
      dump.append('"').append(thread.getName).append("\" ").append(thread.getState).append('\n')
      frames.foreach(frame => dump.append(s"    at $frame\n"))
    }
    dump.toString
  }

  /** Waits until `query` has processed all available data and the listener's commits are confirmed. */
  private def caughtUp(session: SparkSession, query: StreamingQuery): Unit = {
    query.processAllAvailable()
    awaitCommits(session)
  }

  private def stopping[T](queries: StreamingQuery*)(body: => T): T =
    try body finally queries.foreach(_.stop())

  test("single topic: each batch's end offsets are committed") {
    val topic = kafka.createTopic(unique("single"))
    val group = unique("group")
    kafka.produce(topic, 10)
    val query = start(kafkaStream(spark, "subscribe" -> topic, GroupOption -> group, "maxOffsetsPerTrigger" -> "12"))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
      kafka.produce(topic, 5)
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
      // Each partition's metadata names the batch that last moved its offset. A batch that starts while
      // the records above are still being produced moves only some partitions, so batches may differ.
      val metadata = kafka.committed(group).values.map(_.metadata)
      val lastBatch = query.lastProgress.batchId
      assert(metadata.size == 3)
      metadata.foreach { m =>
        assert(m.contains(query.id.toString) && m.contains(query.runId.toString), m)
        val batch = """"batch":(\d+)""".r.findFirstMatchIn(m).map(_.group(1).toLong)
        assert(batch.exists(_ <= lastBatch), s"$m names no batch up to $lastBatch")
      }
    }
  }

  test("several topics in one subscribe") {
    val (t1, t2) = (kafka.createTopic(unique("multi"), 2), kafka.createTopic(unique("multi"), 3))
    val group = unique("group")
    kafka.produce(t1, 4)
    kafka.produce(t2, 6)
    val query = start(kafkaStream(spark, "subscribe" -> s"$t1,$t2", GroupOption -> group))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(t1, t2))
    }
  }

  test("subscribePattern") {
    val prefix = unique("pattern")
    val (t1, t2) = (kafka.createTopic(s"$prefix-a"), kafka.createTopic(s"$prefix-b", 1))
    val group = unique("group")
    kafka.produce(t1, 3)
    kafka.produce(t2, 7)
    val query = start(kafkaStream(spark, "subscribePattern" -> s"$prefix-.*", GroupOption -> group))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(t1, t2))
    }
  }

  test("assign: only the assigned partitions are committed") {
    val topic = kafka.createTopic(unique("assign"))
    val group = unique("group")
    kafka.produce(topic, 5)
    val query = start(kafkaStream(spark, "assign" -> s"""{"$topic":[0,2]}""", GroupOption -> group))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic).filter(_._1.partition != 1))
    }
  }

  test("union of two Kafka sources where one gets no new data for several batches") {
    val (busy, quiet) = (kafka.createTopic(unique("busy")), kafka.createTopic(unique("quiet")))
    val (busyGroup, quietGroup) = (unique("group-busy"), unique("group-quiet"))
    kafka.produce(busy, 2)
    kafka.produce(quiet, 3)
    val query = start(kafkaStream(spark, "subscribe" -> busy, GroupOption -> busyGroup)
      .union(kafkaStream(spark, "subscribe" -> quiet, GroupOption -> quietGroup)))
    stopping(query) {
      caughtUp(spark, query)
      for (_ <- 1 to 3) {
        kafka.produce(busy, 2)
        caughtUp(spark, query)
        assert(kafka.committedOffsets(busyGroup) == kafka.logEndOffsets(busy))
        assert(kafka.committedOffsets(quietGroup) == kafka.logEndOffsets(quiet))
      }
    }
  }

  test("self-union: one source referenced twice") {
    val topic = kafka.createTopic(unique("self"))
    val group = unique("group")
    kafka.produce(topic, 4)
    val stream = kafkaStream(spark, "subscribe" -> topic, GroupOption -> group)
    val query = start(stream.union(stream))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
      kafka.produce(topic, 2)
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
    }
  }

  test("stream-static join: the static Kafka read is not committed") {
    val (streamed, static) = (kafka.createTopic(unique("streamed")), kafka.createTopic(unique("static")))
    val (group, staticGroup) = (unique("group"), unique("group-static"))
    kafka.produce(streamed, 5)
    kafka.produce(static, 2)
    val dimension = spark.read.format("kafka")
      .option("kafka.bootstrap.servers", kafka.bootstrap)
      .option("subscribe", static)
      .option(GroupOption, staticGroup)
      .load()
      .selectExpr("CAST(key AS STRING) AS k")
    val facts = kafkaStream(spark, "subscribe" -> streamed, GroupOption -> group).selectExpr("CAST(key AS STRING) AS k")
    val query = start(facts.join(dimension, "k"))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(streamed))
      assert(kafka.groupsCommittedTo(static).isEmpty)
    }
  }

  test("two queries with different groups in one application") {
    val topic = kafka.createTopic(unique("shared"))
    val (group1, group2) = (unique("group-1"), unique("group-2"))
    kafka.produce(topic, 6)
    val query1 = start(kafkaStream(spark, "subscribe" -> topic, GroupOption -> group1))
    val query2 = start(kafkaStream(spark, "subscribe" -> topic, GroupOption -> group2, "maxOffsetsPerTrigger" -> "5"))
    stopping(query1, query2) {
      query1.processAllAvailable()
      caughtUp(spark, query2)
      assert(kafka.committedOffsets(group1) == kafka.logEndOffsets(topic))
      assert(kafka.committedOffsets(group2) == kafka.logEndOffsets(topic))
    }
  }

  test("a query of a session made with newSession()") {
    val session = spark.newSession()
    val topic = kafka.createTopic(unique("session"))
    val group = unique("group")
    kafka.produce(topic, 5)
    val query = start(kafkaStream(session, "subscribe" -> topic, GroupOption -> group))
    stopping(query) {
      assert(spark.streams.get(query.id) == null, "the query should belong to the other session only")
      caughtUp(session, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
    }
  }

  test("Trigger.AvailableNow: the final batch is committed") {
    val topic = kafka.createTopic(unique("available-now"))
    val group = unique("group")
    kafka.produce(topic, 9)
    val query = start(
      kafkaStream(spark, "subscribe" -> topic, GroupOption -> group, "maxOffsetsPerTrigger" -> "7"),
      trigger = Trigger.AvailableNow())
    // A liveness bound, not a timing check: Spark's Kafka source retries its offset look-ups for up to
    // three API timeouts (60 s each) when a freshly created topic's metadata is slow on a busy broker.
    // A query that does not end leaves a thread dump in the log: where its thread waits. (It once waited
    // on a pipe the commit helper had inherited; the helper now inherits no descriptor of the JVM.)
    if (!query.awaitTermination(TimeUnit.MINUTES.toMillis(4))) {
      System.err.println(s"AvailableNow query ${query.id} did not end within 4 minutes; threads:\n$threadDump")
      query.stop()
      fail("the AvailableNow query did not end (thread dump above)")
    }
    assert(query.recentProgress.count(_.numInputRows > 0) > 1, "expected several batches")
    awaitCommits(spark)
    assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
  }

  test("a query restarted from its checkpoint keeps committing") {
    val topic = kafka.createTopic(unique("restart"))
    val group = unique("group")
    val checkpoint = Files.createTempDirectory("koc-restart").toString
    def startFromCheckpoint() = start(kafkaStream(spark, "subscribe" -> topic, GroupOption -> group), checkpoint)
    kafka.produce(topic, 4)
    val first = startFromCheckpoint()
    stopping(first)(caughtUp(spark, first))
    kafka.produce(topic, 3)
    val second = startFromCheckpoint()
    stopping(second) {
      assert(second.id == first.id && second.runId != first.runId)
      caughtUp(spark, second)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
      assert(kafka.committed(group).values.forall(_.metadata.contains(second.runId.toString)))
    }
  }

  test("the DSv1 Kafka source (disabledV2MicroBatchReaders)") {
    val session = spark.newSession()
    session.conf.set("spark.sql.streaming.disabledV2MicroBatchReaders",
      "org.apache.spark.sql.kafka010.KafkaSourceProvider")
    val topic = kafka.createTopic(unique("dsv1"))
    val group = unique("group")
    kafka.produce(topic, 5)
    // DSv1 keeps the option's case in the params: the group key must still be found.
    val query = start(kafkaStream(session, "subscribe" -> topic, "kafka.Consumer.Commit.GroupId" -> group))
    stopping(query) {
      caughtUp(session, query)
      assert(query.lastProgress.sources.head.description.startsWith("KafkaSourceV1"))
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
    }
  }

  test("sources sharing a group are merged into one commit; a source without the option is not committed") {
    val (t1, t2, unconfigured) =
      (kafka.createTopic(unique("merged")), kafka.createTopic(unique("merged")), kafka.createTopic(unique("none")))
    val group = unique("group")
    Seq(t1, t2, unconfigured).foreach(kafka.produce(_, 3))
    val query = start(
      kafkaStream(spark, "subscribe" -> t1, GroupOption -> group)
        .union(kafkaStream(spark, "subscribe" -> unconfigured))
        .union(kafkaStream(spark, "subscribe" -> t2, GroupOption -> group)))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(t1, t2))
      assert(kafka.groupsCommittedTo(unconfigured).isEmpty)
    }
  }

  test("one query reading two clusters commits to the group on each") {
    // Like the first broker: missing is a failure (tests/with-broker.sh starts both).
    val other = TestKafka.secondClient.getOrElse {
      fail("KAFKA_BOOTSTRAP_2 is not set: run through tests/with-broker.sh, which starts a second broker")
    }
    // Same topic and group names on both clusters: the sources print alike and only their params differ.
    val (topic, group) = (unique("two-clusters"), unique("group"))
    kafka.createTopic(topic)
    other.createTopic(topic, 2)
    kafka.produce(topic, 3)
    other.produce(topic, 5)
    val query = start(kafkaStream(spark, "subscribe" -> topic, GroupOption -> group)
      .union(kafkaStreamFrom(other, spark, "subscribe" -> topic, GroupOption -> group)))
    stopping(query) {
      caughtUp(spark, query)
      assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
      assert(other.committedOffsets(group) == other.logEndOffsets(topic))
    }
  }

  test("groupIdTemplate names the group of a source without the option, also for a listener added late") {
    val session = spark.newSession()
    val topic = kafka.createTopic(unique("template"))
    kafka.produce(topic, 2)
    val query = start(kafkaStream(session, "subscribe" -> topic))
    stopping(query) {
      query.processAllAvailable()
      // Added after the query started, this listener never sees its start event.
      session.streams.addListener(new KafkaOffsetCommitterListener(
        Committer.native, () => System.nanoTime(), ListenerConfig(groupIdTemplate = Some("koc-{queryName}"))))
      kafka.produce(topic, 1)
      caughtUp(session, query)
      assert(kafka.committedOffsets(s"koc-${query.name}") == kafka.logEndOffsets(topic))
    }
  }

  /** The SASL listener of the same broker: alice may read topics and groups named alice-*, nothing else. */
  private def saslBootstrap: String = sys.env.get("KAFKA_SASL_BOOTSTRAP").filter(_.nonEmpty).getOrElse {
    fail("KAFKA_SASL_BOOTSTRAP is not set: run through tests/with-broker.sh")
  }

  private def plainLogin(user: String, password: String): String =
    s"""org.apache.kafka.common.security.plain.PlainLoginModule required username="$user" password="$password";"""

  /** A source that reads `topic` as alice over SASL and commits to `group`. */
  private def readingAsAlice(session: SparkSession, bootstrap: String, topic: String, group: String): DataFrame =
    session.readStream.format("kafka")
      .option("kafka.bootstrap.servers", bootstrap)
      .option("kafka.security.protocol", "SASL_PLAINTEXT")
      .option("kafka.sasl.mechanism", "PLAIN")
      .option("kafka.sasl.jaas.config", plainLogin("alice", "alice-secret"))
      .option("kafka.group.id", unique("alice-source")) // Spark's own consumers: a group alice may use
      .option("startingOffsets", "earliest")
      .option("subscribe", topic)
      .option(GroupOption, group)
      .load()

  test("commit-only credentials: a source reading as alice commits, as the team's own principal, to a group alice may not use") {
    val topic = kafka.createTopic(unique("alice-topic"))
    val group = unique("team-group") // not alice-*: alice's own commits to it are refused
    kafka.produce(topic, 3)
    val config = ListenerConfig(commitClientSettings = CommitClientSettings(byCluster =
      Seq(CommitClientSettings.servers(saslBootstrap) -> Map("sasl.jaas.config" -> plainLogin("admin", "admin-secret")))))
    val session = spark.newSession()
    val listener = new KafkaOffsetCommitterListener(Committer.native, () => System.nanoTime(), config)
    session.streams.addListener(listener)
    try {
      val query = start(readingAsAlice(session, saslBootstrap, topic, group))
      stopping(query) {
        query.processAllAvailable()
        val deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2)
        while (kafka.committedOffsets(group) != kafka.logEndOffsets(topic) && System.nanoTime() < deadline)
          Thread.sleep(100)
        assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
      }
    } finally session.streams.removeListener(listener)
  }

  test("a terminating query whose flush is held up (ACL-denied group) delays no other query's commits") {
    val deniedTopic = kafka.createTopic(unique("alice-topic"))
    val deniedGroup = unique("denied-group") // not alice-*: every commit to it is refused
    val (busyTopic, busyGroup) = (kafka.createTopic(unique("busy")), unique("group-busy"))
    kafka.produce(deniedTopic, 3)
    kafka.produce(busyTopic, 2)

    // The denied query's close is held until the test lets it go: as long as the core's flush may
    // take (flushTimeoutOnTermination), made deterministic. Everything else is the native committer.
    val closeMayReturn = new CountDownLatch(1)
    val deniedCloseStarted = new CountDownLatch(1)
    val deniedClosed = new CompletableFuture[java.lang.Boolean]()
    val committers: Map[String, String] => Committer = params => {
      val native = Committer.native(params)
      if (!params.get("bootstrap.servers").contains(saslBootstrap)) native
      else new Committer {
        def commitAsync(group: String, offsets: KafkaOffsets, queryId: UUID, runId: UUID, batchId: Long): Unit =
          native.commitAsync(group, offsets, queryId, runId, batchId)
        def commitJsonAsync(group: String, json: String, queryId: UUID, runId: UUID, batchId: Long): Unit =
          native.commitJsonAsync(group, json, queryId, runId, batchId)
        def flush(timeout: Duration): Boolean = native.flush(timeout)
        def status(): Committer.Status = native.status()
        def close(timeout: Duration): Boolean = {
          deniedCloseStarted.countDown()
          closeMayReturn.await()
          val confirmed = native.close(timeout)
          deniedClosed.complete(confirmed)
          confirmed
        }
      }
    }
    val session = spark.newSession()
    val listener = new KafkaOffsetCommitterListener(committers, () => System.nanoTime(), ListenerConfig())
    session.streams.addListener(listener)
    try {
      val denied = start(readingAsAlice(session, saslBootstrap, deniedTopic, deniedGroup))
      val busy = start(kafkaStream(session, "subscribe" -> busyTopic, GroupOption -> busyGroup))
      stopping(busy) {
        stopping(denied)(denied.processAllAvailable())
        assert(deniedCloseStarted.await(2, TimeUnit.MINUTES), "the denied query's committers were never closed")
        kafka.produce(busyTopic, 4)
        busy.processAllAvailable()
        // Ordering, not timing: the busy query's new batch reaches Kafka while the denied close is still held.
        val deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2)
        while (kafka.committedOffsets(busyGroup) != kafka.logEndOffsets(busyTopic) && System.nanoTime() < deadline)
          Thread.sleep(100)
        assert(kafka.committedOffsets(busyGroup) == kafka.logEndOffsets(busyTopic),
          "the busy query's commits waited for the denied query's termination")
        assert(!deniedClosed.isDone)
      }
    } finally {
      closeMayReturn.countDown()
      session.streams.removeListener(listener)
    }
    assert(!deniedClosed.get(2, TimeUnit.MINUTES).booleanValue, "the denied group's commit cannot be confirmed")
    assert(kafka.committedOffsets(deniedGroup).isEmpty)
  }
}
