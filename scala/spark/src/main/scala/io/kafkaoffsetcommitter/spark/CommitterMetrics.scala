package io.kafkaoffsetcommitter.spark

import java.time.Duration

import scala.collection.mutable

import com.codahale.metrics.{Counter, ExponentiallyDecayingReservoir, Gauge, Histogram, Metric, MetricRegistry}

import io.kafkaoffsetcommitter.spark.CommitterMetrics._

/**
 * The metrics source's registry (Dropwizard, so every Spark sink shows it). Dropwizard names carry no labels, so
 * the query, group, topic and partition are parts of each name (`query.<query>.group.<group>.commitsSucceeded`,
 * `group.<group>.topic.<topic>.partition.<p>.lagRecords`; docs/monitoring.md lists them all).
 *
 * [[refresh]] sets the series to the running queries' groups: it adds the series of new ones, removes those of
 * stopped ones, and updates every value. At most `maxSeries` query series exist at once; those left out are
 * counted in `metrics.seriesLeftOut`, so a JVM running thousands of queries cannot flood the sinks.
 */
private[spark] final class CommitterMetrics(maxSeries: Int, worker: CommitWorker) {
  val registry = new MetricRegistry()

  // The query series now registered, by name. Guarded by this object's lock.
  private val live = mutable.HashMap[String, Cell]()
  @volatile private var leftOut = 0L

  gauge("listener.queueDepth")(worker.queueDepth.toLong)
  counter("listener.eventsCoalesced")(worker.coalescedCount)
  counter("listener.eventsDropped")(worker.droppedCount)
  counter("listener.unidentifiedSources")(worker.unidentifiedCount)
  gauge("metrics.series")(synchronized(live.size.toLong))
  gauge("metrics.seriesLeftOut")(leftOut)

  private def gauge(name: String)(read: => Long): Unit =
    registry.register(name, new Gauge[Long] { def getValue: Long = read })

  private def counter(name: String)(read: => Long): Unit =
    registry.register(name, new Counter { override def getCount: Long = read })

  /** Sets the query series to `groups`, as of `nowEpochMillis`. */
  def refresh(groups: Seq[QueryGroupStatus], nowEpochMillis: Long = System.currentTimeMillis()): Unit = synchronized {
    val wanted = mutable.LinkedHashMap[String, Sample]()
    for (group <- groups; (name, sample) <- samples(group, nowEpochMillis) if !wanted.contains(name))
      wanted(name) = sample
    for (name <- live.keys.toList if !wanted.contains(name)) {
      live.remove(name)
      registry.remove(name)
    }
    var left = 0L
    for ((name, sample) <- wanted) live.get(name) match {
      case Some(cell) => cell.update(sample)
      case None if live.size < maxSeries =>
        val cell = Cell(sample)
        cell.update(sample)
        registry.register(name, cell.metric)
        live(name) = cell
      case None => left += 1
    }
    leftOut = left
  }

  /** Test-only: the query series now registered. */
  private[spark] def seriesNames: Set[String] = synchronized(live.keySet.toSet)
}

private[spark] object CommitterMetrics {

  /** The source's name in every sink: `<app id>.driver.kafkaOffsetCommitter.<metric>`. */
  val SourceName = "kafkaOffsetCommitter"

  /** How often the series follow the running queries; sinks poll at their own period. */
  val RefreshInterval: Duration = Duration.ofSeconds(2)

  /** A name part: anything but letters, digits, `_` and `-` becomes `_`, so dots keep separating the parts. */
  def label(value: String): String = value.replaceAll("[^A-Za-z0-9_-]", "_")

  private sealed trait Sample
  private final case class Count(value: Long) extends Sample
  private final case class Whole(value: Long) extends Sample
  private final case class Fraction(value: Double) extends Sample
  /** The latency of the commit Kafka confirmed at `atEpochMillis`: one histogram entry per commit seen. */
  private final case class Latency(atEpochMillis: Long, millis: Long) extends Sample

  private def samples(status: QueryGroupStatus, nowEpochMillis: Long): Seq[(String, Sample)] = {
    val query = s"query.${label(status.queryLabel)}.group.${label(status.group)}"
    val lag = status.lagByPartition
    val perGroup = Seq(
      "commitsSucceeded" -> Count(status.commitsSucceeded),
      "commitsFailed" -> Count(status.commitsFailed),
      "lastCommittedBatchId" -> Whole(status.lastCommittedBatchId),
      "secondsSinceLastCommit" -> Fraction(
        if (status.lastCommitEpochMillis < 0) -1.0
        else math.max(0L, nowEpochMillis - status.lastCommitEpochMillis) / 1000.0),
      "pendingPartitions" -> Whole(status.pendingPartitions),
      "parked" -> Whole(if (status.parked) 1 else 0),
      "lastAttemptFailed" -> Whole(if (status.lastAttemptFailed) 1 else 0),
      "helperRestarts" -> Whole(status.helperRestarts),
      "lagRecords" -> Whole(lag.values.sum),
      "catchUpSeconds" -> Fraction(status.catchUpSeconds(lag.values.sum))
    ) ++ Option(status.lastErrorKind).map(kind =>
      s"lastError.${label(kind)}" -> Whole(if (status.lastAttemptFailed) 1 else 0)) ++
      (if (status.lastCommitLatencyMillis >= 0)
         Seq("commitLatencyMs" -> Latency(status.lastCommitEpochMillis, status.lastCommitLatencyMillis))
       else Nil)
    val partitions = (status.committedByPartition.keySet ++ lag.keySet).toSeq.sorted.flatMap { case key @ (topic, partition) =>
      val prefix = s"group.${label(status.group)}.topic.${label(topic)}.partition.$partition"
      status.committedByPartition.get(key).map(offset => s"$prefix.committedOffset" -> Whole(offset)).toSeq ++
        lag.get(key).toSeq.flatMap(records => Seq(
          s"$prefix.lagRecords" -> Whole(records),
          s"$prefix.catchUpSeconds" -> Fraction(status.catchUpSeconds(records))))
    }
    perGroup.map { case (name, sample) => s"$query.$name" -> sample } ++ partitions
  }

  /** A registered series and the value its metric reads. */
  private sealed trait Cell {
    def metric: Metric
    def update(sample: Sample): Unit
  }

  private object Cell {
    def apply(sample: Sample): Cell = sample match {
      case _: Count => new CountCell
      case _: Whole => new WholeCell
      case _: Fraction => new FractionCell
      case _: Latency => new LatencyCell
    }
  }

  private final class CountCell extends Cell {
    @volatile private var value = 0L
    val metric: Metric = new Counter { override def getCount: Long = value }
    def update(sample: Sample): Unit = sample match { case Count(v) => value = v; case _ => }
  }

  private final class WholeCell extends Cell {
    @volatile private var value = 0L
    val metric: Metric = new Gauge[Long] { def getValue: Long = value }
    def update(sample: Sample): Unit = sample match { case Whole(v) => value = v; case _ => }
  }

  private final class FractionCell extends Cell {
    @volatile private var value = 0.0
    val metric: Metric = new Gauge[Double] { def getValue: Double = value }
    def update(sample: Sample): Unit = sample match { case Fraction(v) => value = v; case _ => }
  }

  private final class LatencyCell extends Cell {
    private val histogram = new Histogram(new ExponentiallyDecayingReservoir())
    private var lastSeenAt = Long.MinValue
    def metric: Metric = histogram
    def update(sample: Sample): Unit = sample match {
      case Latency(at, millis) if at != lastSeenAt =>
        lastSeenAt = at
        histogram.update(millis)
      case _ =>
    }
  }
}
