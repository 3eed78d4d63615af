package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.Locale

import scala.util.control.NonFatal

import org.apache.spark.SparkConf
import org.slf4j.LoggerFactory

import io.kafkaoffsetcommitter.EngineSettings
import io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener._

/**
 * The listener's settings; see the keys in [[KafkaOffsetCommitterListener$]].
 *
 * @param committerSettings engine settings passed with every committer's params, keys from [[io.kafkaoffsetcommitter.EngineSettings]]
 * @param commitClientSettings Kafka settings of the commit clients only, over the sources' own
 */
private[spark] final case class ListenerConfig(
    enabled: Boolean = DefaultEnabled,
    groupIdTemplate: Option[String] = None,
    flushTimeoutOnTermination: Duration = DefaultFlushTimeoutOnTermination,
    queueCapacity: Int = DefaultQueueCapacity,
    committerSettings: Map[String, String] = Map.empty,
    commitClientSettings: CommitClientSettings = CommitClientSettings(),
    metricsEnabled: Boolean = DefaultMetricsEnabled,
    metricsMaxSeries: Int = DefaultMetricsMaxSeries)

private[spark] object ListenerConfig {
  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])

  /**
   * Reads the settings. A malformed value is logged and replaced by its default: a typo in a
   * monitoring aid must not stop the application's queries.
   */
  def fromSparkConf(conf: SparkConf): ListenerConfig = {
    def setting[T](key: String, default: T)(read: String => T): T =
      conf.getOption(key).fold(default) { raw =>
        try read(raw.trim)
        catch {
          case NonFatal(e) =>
            log.error(s"Ignoring $key=$raw (${e.getMessage}); using $default")
            default
        }
      }
    def positive[T](value: T)(implicit number: Numeric[T]): T = {
      require(number.gt(value, number.zero), "must be positive")
      value
    }
    // SparkConf parses durations such as "10s" or "1h" only by key.
    def positiveMillis(key: String): Long = positive(conf.getTimeAsMs(key))

    val keepAliveMillis = setting(KeepAliveIntervalKey, Option.empty[Long])(_ => Some(positiveMillis(KeepAliveIntervalKey)))
    val passedThrough = conf.getAllWithPrefix(CommitterSettingsPrefix).map { case (key, value) =>
      EngineSettings.PREFIX + key -> value
    }
    ListenerConfig(
      enabled = setting(EnabledKey, DefaultEnabled)(_.toBoolean),
      groupIdTemplate = conf.getOption(GroupIdTemplateKey).filter(_.nonEmpty),
      flushTimeoutOnTermination = setting(FlushTimeoutOnTerminationKey, DefaultFlushTimeoutOnTermination)(_ =>
        Duration.ofMillis(conf.getTimeAsMs(FlushTimeoutOnTerminationKey))),
      queueCapacity = setting(QueueCapacityKey, DefaultQueueCapacity)(raw => positive(raw.toInt)),
      committerSettings = passedThrough.toMap ++ keepAliveMillis.map(ms => EngineSettings.KEEPALIVE_INTERVAL_MS -> ms.toString),
      commitClientSettings = commitClientSettings(conf),
      metricsEnabled = setting(MetricsEnabledKey, DefaultMetricsEnabled)(_.toBoolean),
      metricsMaxSeries = setting(MetricsMaxSeriesKey, DefaultMetricsMaxSeries)(raw => positive(raw.toInt))
    )
  }

  private def kafkaSettings(pairs: Iterable[(String, String)]): Map[String, String] =
    pairs.map { case (key, value) => key.toLowerCase(Locale.ROOT) -> value }.toMap

  /** [[KafkaSettingsPrefix]] and [[ClustersPrefix]]; a cluster without its bootstrap servers is ignored, said once. */
  private def commitClientSettings(conf: SparkConf): CommitClientSettings = {
    val clusterEntries = conf.getAllWithPrefix(ClustersPrefix).toSeq.flatMap { case (rest, value) =>
      rest.split('.') match {
        case Array(_) => None
        case parts => Some((parts.head, rest.substring(parts.head.length + 1), value))
      }
    }
    val byCluster = clusterEntries.groupBy(_._1).toSeq.sortBy(_._1).flatMap { case (id, entries) =>
      val servers = entries.collectFirst { case (_, "bootstrap.servers", value) => CommitClientSettings.servers(value) }
      val settings = kafkaSettings(entries.collect {
        case (_, key, value) if key.startsWith("kafka.") => key.stripPrefix("kafka.") -> value
      })
      servers.filter(_.nonEmpty) match {
        case Some(servers) => Some(servers -> settings)
        case None =>
          log.error(s"Ignoring the commit client settings of cluster '$id': $ClustersPrefix$id.bootstrap.servers " +
            "is not set")
          None
      }
    }
    CommitClientSettings(kafkaSettings(conf.getAllWithPrefix(KafkaSettingsPrefix)), byCluster)
  }
}
