package io.kafkaoffsetcommitter.spark

import java.time.Duration

import org.apache.spark.SparkConf
import org.scalatest.funsuite.AnyFunSuite

import io.kafkaoffsetcommitter.EngineSettings
import io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener._

class ListenerConfigSuite extends AnyFunSuite {

  private def configOf(settings: (String, String)*): ListenerConfig =
    ListenerConfig.fromSparkConf(new SparkConf(loadDefaults = false).setAll(settings))

  test("defaults") {
    assert(configOf() == ListenerConfig(
      enabled = true,
      groupIdTemplate = None,
      flushTimeoutOnTermination = Duration.ofSeconds(10),
      queueCapacity = 1000,
      committerSettings = Map.empty))
  }

  test("every setting under the one prefix, engine settings passed through") {
    assert(configOf(
      EnabledKey -> "false",
      GroupIdTemplateKey -> "spark-{queryName}",
      KeepAliveIntervalKey -> "2min",
      FlushTimeoutOnTerminationKey -> "1500ms",
      QueueCapacityKey -> "50",
      ConfigPrefix + EngineSettings.RETRY_MAX_ATTEMPTS -> "3",
      ConfigPrefix + EngineSettings.LIBRDKAFKA_DEBUG -> "broker"
    ) == ListenerConfig(
      enabled = false,
      groupIdTemplate = Some("spark-{queryName}"),
      flushTimeoutOnTermination = Duration.ofMillis(1500),
      queueCapacity = 50,
      committerSettings = Map(EngineSettings.RETRY_MAX_ATTEMPTS -> "3", EngineSettings.LIBRDKAFKA_DEBUG -> "broker",
        EngineSettings.KEEPALIVE_INTERVAL_MS -> "120000")))
  }

  test("the keep-alive setting wins over the same engine setting passed through") {
    assert(configOf(KeepAliveIntervalKey -> "5s", ConfigPrefix + EngineSettings.KEEPALIVE_INTERVAL_MS -> "9")
      .committerSettings == Map(EngineSettings.KEEPALIVE_INTERVAL_MS -> "5000"))
  }

  test("malformed values fall back to their defaults") {
    assert(configOf(
      EnabledKey -> "maybe",
      KeepAliveIntervalKey -> "-1s",
      FlushTimeoutOnTerminationKey -> "soon",
      QueueCapacityKey -> "0"
    ) == ListenerConfig())
  }

  test("Kafka settings of the commit clients, for every cluster and per cluster; a cluster needs its servers") {
    val settings = configOf(
      KafkaSettingsPrefix + "SASL.Mechanism" -> "PLAIN",
      ClustersPrefix + "east.bootstrap.servers" -> "e1:9092, E2:9092",
      ClustersPrefix + "east.kafka.sasl.jaas.config" -> "east login",
      ClustersPrefix + "west.kafka.sasl.jaas.config" -> "no servers named"
    ).commitClientSettings
    assert(settings == CommitClientSettings(
      everyCluster = Map("sasl.mechanism" -> "PLAIN"),
      byCluster = Seq(Set("e1:9092", "e2:9092") -> Map("sasl.jaas.config" -> "east login"))))
  }
}
