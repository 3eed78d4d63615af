package io.kafkaoffsetcommitter.spark

import java.util.Properties
import java.util.concurrent.TimeUnit
import java.util.regex.Pattern

import scala.collection.mutable.ArrayBuffer

import org.apache.hadoop.io.Text
import org.apache.hadoop.security.UserGroupInformation
import org.apache.hadoop.security.token.{Token, TokenIdentifier}
import org.apache.kafka.clients.admin.{Admin, AdminClientConfig}
import org.apache.kafka.common.config.SaslConfigs
import org.apache.kafka.common.security.token.delegation.DelegationToken
import org.apache.logging.log4j.LogManager
import org.apache.logging.log4j.core.{LogEvent, Logger => CoreLogger}
import org.apache.logging.log4j.core.appender.AbstractAppender
import org.apache.logging.log4j.core.config.Property
import org.apache.spark.SparkEnv
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.streaming.StreamingQuery
import org.scalatest.funsuite.AnyFunSuite

/**
 * Spark's Kafka delegation tokens (`spark.kafka.clusters.<id>.*`): a real token created by the broker
 * (tests/kafka_harness.py sets `delegation.token.secret.key`) is put into the driver's credentials the way
 * Spark's token provider does; the source names only servers and protocol, so Spark's own clients log in with
 * the token, and the commits must too (the core runs them on its JVM executor: SCRAM with `tokenauth`). No
 * token's HMAC (its password) may show in a line of the listener or the core.
 */
class SparkDelegationTokenSuite extends AnyFunSuite with BrokerAndSpark {

  private val GroupOption = CommitPlan.CommitGroupOption

  // Spark's names (KafkaTokenUtil): the token's kind and the service (also its alias) per cluster id.
  private val TokenKind = new Text("KAFKA_DELEGATION_TOKEN")
  private def tokenService(cluster: String) = new Text(s"kafka.server.delegation.token.$cluster")

  private def saslBootstrap: String = sys.env.get("KAFKA_SASL_BOOTSTRAP").filter(_.nonEmpty).getOrElse {
    fail("KAFKA_SASL_BOOTSTRAP is not set: run through tests/with-broker.sh")
  }

  /** A token owned by alice (who may use groups and topics named alice-*), made by the broker. */
  private def aliceToken(): DelegationToken = {
    val props = new Properties()
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, saslBootstrap)
    props.put(AdminClientConfig.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT")
    props.put(SaslConfigs.SASL_MECHANISM, "PLAIN")
    props.put(SaslConfigs.SASL_JAAS_CONFIG,
      """org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";""")
    val admin = Admin.create(props)
    try admin.createDelegationToken().delegationToken().get(30, TimeUnit.SECONDS)
    finally admin.close()
  }

  /** As Spark's KafkaDelegationTokenProvider stores it: identifier = token id, password = base64 HMAC. */
  private def putIntoDriverCredentials(cluster: String, token: DelegationToken): Unit =
    UserGroupInformation.getCurrentUser.addToken(tokenService(cluster), new Token[TokenIdentifier](
      token.tokenInfo.tokenId.getBytes("UTF-8"), token.hmacAsBase64String.getBytes("UTF-8"), TokenKind,
      tokenService(cluster)))

  // Credentials cannot drop a token: its alias gets one whose service Spark's matching ignores.
  private def retireToken(cluster: String): Unit =
    UserGroupInformation.getCurrentUser.addToken(tokenService(cluster),
      new Token[TokenIdentifier](Array.emptyByteArray, Array.emptyByteArray, TokenKind, new Text("koc-test-retired")))

  /** The cluster's settings in the conf Spark's Kafka clients read (the shared test Spark's own), for `body`. */
  private def withTokenCluster[T](cluster: String, bootstrap: String)(body: => T): T = {
    spark // started, so SparkEnv exists
    val conf = SparkEnv.get.conf
    val prefix = s"spark.kafka.clusters.$cluster."
    val settings = Map(
      "auth.bootstrap.servers" -> bootstrap,
      // Only these servers: the other suites' sources in this JVM stay untouched.
      "target.bootstrap.servers.regex" -> bootstrap.split(',').map(s => Pattern.quote(s.trim)).mkString("|"),
      "security.protocol" -> "SASL_PLAINTEXT",
      "sasl.token.mechanism" -> "SCRAM-SHA-512")
    settings.foreach { case (key, value) => conf.set(prefix + key, value) }
    try body
    finally {
      settings.keys.foreach(key => conf.remove(prefix + key))
      retireToken(cluster)
    }
  }

  /** The listener's log lines at WARN or above while `body` runs. */
  private def listenerWarnings[T](body: => T): (T, Seq[String]) =
    listenerLines(org.apache.logging.log4j.Level.WARN)(body)

  /**
   * The listener's log lines at `atLeast` or above while `body` runs; with ALL, also the core's own lines
   * (java.util.logging, its JVM executor's among them) and every exception's text.
   */
  private def listenerLines[T](atLeast: org.apache.logging.log4j.Level)(body: => T): (T, Seq[String]) = {
    val lines = ArrayBuffer[String]()
    val appender = new AbstractAppender("koc-token-suite", null, null, true, Property.EMPTY_ARRAY) {
      override def append(event: LogEvent): Unit =
        if (event.getLevel.isMoreSpecificThan(atLeast)) lines.synchronized {
          lines += event.getMessage.getFormattedMessage + Option(event.getThrown).map(" " + _).getOrElse("")
        }
    }
    val coreLines = new java.util.logging.Handler {
      override def publish(record: java.util.logging.LogRecord): Unit = lines.synchronized {
        lines += String.valueOf(record.getMessage) + Option(record.getThrown).map(" " + _).getOrElse("")
      }
      override def flush(): Unit = ()
      override def close(): Unit = ()
    }
    val coreLogger = java.util.logging.Logger.getLogger("io.kafkaoffsetcommitter")
    appender.start()
    val logger = LogManager.getLogger(classOf[KafkaOffsetCommitterListener]).asInstanceOf[CoreLogger]
    logger.addAppender(appender)
    if (atLeast == org.apache.logging.log4j.Level.ALL) coreLogger.addHandler(coreLines)
    try {
      val result = body
      (result, lines.synchronized(lines.toList))
    } finally {
      coreLogger.removeHandler(coreLines)
      logger.removeAppender(appender)
      appender.stop()
    }
  }

  /** A source naming only its servers and protocol: any login comes from Spark's token. */
  private def tokenSource(bootstrap: String, protocol: String, topic: String, group: String): DataFrame =
    spark.readStream.format("kafka")
      .option("kafka.bootstrap.servers", bootstrap)
      .option("kafka.security.protocol", protocol)
      .option("groupIdPrefix", "alice-spark") // Spark's own consumers: groups alice may use
      .option("startingOffsets", "earliest")
      .option("subscribe", topic)
      .option(GroupOption, group)
      .load()

  private def stopping[T](query: StreamingQuery)(body: => T): T = try body finally query.stop()

  test("a source logging in with Spark's delegation token commits with the same token, also after it is replaced") {
    val topic = kafka.createTopic(unique("alice-token-topic"))
    val group = unique("alice-token-group")
    kafka.produce(topic, 4)
    val tokens = ArrayBuffer[DelegationToken]()
    def newToken(): DelegationToken = { val token = aliceToken(); tokens += token; token }
    val (_, lines) = listenerLines(org.apache.logging.log4j.Level.ALL) { withTokenCluster("c1", saslBootstrap) {
      putIntoDriverCredentials("c1", newToken())
      val query = start(tokenSource(saslBootstrap, "SASL_PLAINTEXT", topic, group))
      stopping(query) {
        query.processAllAvailable()
        awaitCommits(spark)
        assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))

        // What the run's targets hold now, as the listener computed them from the source's params.
        val sourceParams = Map("bootstrap.servers" -> saslBootstrap, "security.protocol" -> "SASL_PLAINTEXT")
        val classes = Class.forName("org.apache.spark.sql.kafka010.KafkaSourceProvider").getClassLoader
        val before = SparkInternals.sparkTokenLogin(sourceParams, classes)
        val beforeParams = before match {
          case SparkInternals.SparkTokenSettings("c1", settings) =>
            assert(settings("sasl.mechanism") == "SCRAM-SHA-512")
            assert(settings("sasl.jaas.config").contains("tokenauth=true"))
            sourceParams ++ settings
          case other => fail(s"expected the token of c1, got $other")
        }
        assert(!SparkInternals.sparkTokenRenewed(beforeParams, classes))

        // Spark replaces the token (a new one under the same alias): the next commits must use it.
        putIntoDriverCredentials("c1", newToken())
        assert(SparkInternals.sparkTokenRenewed(beforeParams, classes))
        kafka.produce(topic, 3)
        query.processAllAvailable()
        awaitCommits(spark)
        assert(kafka.committedOffsets(group) == kafka.logEndOffsets(topic))
      }
    } }
    // The token's HMAC is its password: no line of the listener or the core may show it.
    assert(lines.nonEmpty, "the listener and the core logged something")
    for (token <- tokens; line <- lines)
      assert(!line.contains(token.hmacAsBase64String), s"a delegation token's HMAC shows in a log line")
  }

  test("a Spark token cluster without a token in the driver's credentials: one WARN per run naming the way out") {
    // The plaintext listener, so Spark's own clients (finding no token either) still read, and batches go on.
    val topic = kafka.createTopic(unique("no-token-topic"))
    val group = unique("no-token-group")
    kafka.produce(topic, 2)
    val (queryId, warnings) = listenerWarnings {
      withTokenCluster("c2", kafka.bootstrap) {
        val query = start(tokenSource(kafka.bootstrap, "PLAINTEXT", topic, group))
        stopping(query) {
          query.processAllAvailable()
          kafka.produce(topic, 2)
          query.processAllAvailable()
          awaitCommits(spark)
          assert(query.recentProgress.count(_.numInputRows > 0) >= 2, "expected at least two batches with data")
          query.id
        }
      }
    }
    val about = warnings.filter(_.contains(queryId.toString))
    val wayOut = about.filter(_.contains("spark.kafkaOffsetCommitter.clusters.<id>.kafka.sasl.jaas.config"))
    assert(wayOut.size == 1, about.mkString("\n"))
    assert(wayOut.head.contains("spark.kafka.clusters.c2.*"), wayOut.head)
    assert(wayOut.head.contains(kafka.bootstrap), wayOut.head)
  }
}
