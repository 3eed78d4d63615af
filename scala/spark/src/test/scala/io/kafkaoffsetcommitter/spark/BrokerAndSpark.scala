package io.kafkaoffsetcommitter.spark

import java.nio.file.Files
import java.time.Duration
import java.util.{Properties, UUID}
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

import org.apache.kafka.clients.admin.{Admin, AdminClientConfig, NewTopic, OffsetSpec}
import org.apache.kafka.clients.consumer.OffsetAndMetadata
import org.apache.kafka.clients.producer.{KafkaProducer, ProducerConfig, ProducerRecord}
import org.apache.kafka.common.TopicPartition
import org.apache.kafka.common.serialization.StringSerializer
import org.apache.spark.ListenerBusAccess
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.streaming.{StreamingQuery, Trigger}
import org.scalatest.{BeforeAndAfterAll, Suite}

/**
 * A real Kafka broker (tests/kafka_harness.py, address in KAFKA_BOOTSTRAP) and one local Spark per
 * test JVM with the listener registered as users register it. Without a broker the suite fails: a
 * missing broker must never pass as a skipped test.
 */
trait BrokerAndSpark extends BeforeAndAfterAll { this: Suite =>

  override protected def beforeAll(): Unit = {
    super.beforeAll()
    if (TestKafka.bootstrap.isEmpty)
      throw new IllegalStateException("KAFKA_BOOTSTRAP is not set: start the broker with " +
        "`python3 tests/kafka_harness.py start --workdir .cache/broker` and source .cache/broker/env.sh")
  }

  protected def kafka: TestKafka = TestKafka.client.getOrElse(fail("KAFKA_BOOTSTRAP is not set"))

  protected def spark: SparkSession = {
    kafka
    TestSpark.session
  }

  private val counter = new AtomicInteger()

  /** A name no other test (or earlier run against the same broker) uses. */
  protected def unique(prefix: String): String =
    s"$prefix-${counter.incrementAndGet()}-${UUID.randomUUID().toString.take(8)}"

  protected def kafkaStream(session: SparkSession, options: (String, String)*): DataFrame =
    kafkaStreamFrom(kafka, session, options: _*)

  protected def kafkaStreamFrom(cluster: TestKafka, session: SparkSession, options: (String, String)*): DataFrame =
    session.readStream.format("kafka")
      .option("kafka.bootstrap.servers", cluster.bootstrap)
      .option("startingOffsets", "earliest")
      .options(options.toMap)
      .load()

  protected def start(
      frame: DataFrame,
      checkpoint: String = Files.createTempDirectory("koc-checkpoint").toString,
      trigger: Trigger = Trigger.ProcessingTime(0)): StreamingQuery =
    frame.writeStream.format("noop").queryName(unique("query")).trigger(trigger)
      .option("checkpointLocation", checkpoint).start()

  /** Waits until the listeners of `session` have handled every event so far and Kafka confirmed their commits. */
  protected def awaitCommits(session: SparkSession): Unit = {
    ListenerBusAccess.waitUntilEmpty(session)
    val listeners = session.streams.listListeners().collect { case l: KafkaOffsetCommitterListener => l }
    assert(listeners.nonEmpty, "no KafkaOffsetCommitterListener registered")
    listeners.foreach(l => assert(l.flushCommits(Duration.ofSeconds(30)), "commits not confirmed"))
  }
}

object TestSpark {
  lazy val session: SparkSession = SparkSession.builder()
    .master("local[2]")
    .appName("kafka-offset-committer-tests")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.sql.streaming.streamingQueryListeners", classOf[KafkaOffsetCommitterListener].getName)
    .getOrCreate()
}

/** An independent Kafka client: creates topics, produces, and reads back log-end and committed offsets. */
final class TestKafka(val bootstrap: String) {

  private val admin = {
    val props = new Properties()
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap)
    Admin.create(props)
  }

  private val producer = {
    val props = new Properties()
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap)
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, classOf[StringSerializer].getName)
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, classOf[StringSerializer].getName)
    // An idempotent producer whose first send to a new partition meets NOT_LEADER_OR_FOLLOWER can get
    // stuck on OUT_OF_ORDER_SEQUENCE_NUMBER; one request in flight keeps order without it.
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false")
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1")
    props.put(ProducerConfig.ACKS_CONFIG, "all")
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000")
    new KafkaProducer[String, String](props)
  }

  private val partitionCounts = scala.collection.concurrent.TrieMap[String, Int]()

  def createTopic(topic: String, partitions: Int = 3): String = {
    admin.createTopics(java.util.Collections.singletonList(new NewTopic(topic, partitions, 1.toShort))).all.get
    awaitLeaders(topic, partitions)
    partitionCounts(topic) = partitions
    topic
  }

  // Producing before every partition has a leader can stall the producer for its delivery timeout.
  private def awaitLeaders(topic: String, partitions: Int): Unit = {
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
    def ready: Boolean =
      try {
        val description = admin.describeTopics(java.util.Collections.singletonList(topic)).allTopicNames.get.get(topic)
        val infos = description.partitions
        infos.size == partitions && (0 until infos.size).forall(i => infos.get(i).leader != null && !infos.get(i).leader.isEmpty)
      } catch { case _: java.util.concurrent.ExecutionException => false }
    while (!ready) {
      if (System.nanoTime() > deadline) throw new IllegalStateException(s"topic $topic has no leaders after 30 s")
      Thread.sleep(50)
    }
  }

  /** Writes `perPartition` records to every partition of `topic`, keys `key-0`, `key-1`, ... */
  def produce(topic: String, perPartition: Int): Unit = {
    val sent = for (partition <- 0 until partitionCounts(topic); i <- 0 until perPartition)
      yield producer.send(new ProducerRecord(topic, partition, s"key-$i", s"value-$partition-$i"))
    sent.foreach(_.get)
  }

  def logEndOffsets(topics: String*): Map[TopicPartition, Long] = {
    val request = new java.util.HashMap[TopicPartition, OffsetSpec]()
    for (topic <- topics; partition <- 0 until partitionCounts(topic))
      request.put(new TopicPartition(topic, partition), OffsetSpec.latest())
    TestKafka.scalaMap(admin.listOffsets(request).all.get).map { case (tp, info) => tp -> info.offset }
  }

  def committed(group: String): Map[TopicPartition, OffsetAndMetadata] =
    TestKafka.scalaMap(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata.get)
      .filter { case (_, offset) => offset != null }

  def committedOffsets(group: String): Map[TopicPartition, Long] =
    committed(group).map { case (tp, offset) => tp -> offset.offset }

  /** Every group on the broker with a committed offset for `topic`. */
  def groupsCommittedTo(topic: String): Set[String] = {
    val groups = admin.listConsumerGroups().all.get.toArray.map {
      case listing: org.apache.kafka.clients.admin.ConsumerGroupListing => listing.groupId
    }
    groups.filter(group => committed(group).keySet.exists(_.topic == topic)).toSet
  }
}

object TestKafka {
  lazy val bootstrap: Option[String] = sys.env.get("KAFKA_BOOTSTRAP").filter(_.nonEmpty)
  lazy val client: Option[TestKafka] = bootstrap.map(new TestKafka(_))

  /** A second, independent cluster (KAFKA_BOOTSTRAP_2), for queries reading two clusters. */
  lazy val secondClient: Option[TestKafka] = sys.env.get("KAFKA_BOOTSTRAP_2").filter(_.nonEmpty).map(new TestKafka(_))

  private def scalaMap[K, V](map: java.util.Map[K, V]): Map[K, V] = {
    val builder = Map.newBuilder[K, V]
    val entries = map.entrySet.iterator
    while (entries.hasNext) {
      val entry = entries.next()
      builder += entry.getKey -> entry.getValue
    }
    builder.result()
  }
}
