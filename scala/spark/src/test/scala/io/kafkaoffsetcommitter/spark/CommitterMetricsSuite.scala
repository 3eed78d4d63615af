package io.kafkaoffsetcommitter.spark

import java.util.UUID

import com.codahale.metrics.{Counter, Gauge, Histogram}
import org.scalatest.funsuite.AnyFunSuite

/** The metrics source's series: values from the status, lag from the progress event, bounded cardinality. */
class CommitterMetricsSuite extends AnyFunSuite {
  private val worker = new CommitWorker(10, () => System.nanoTime())
  private val fixedSeries = Set("listener.queueDepth", "listener.eventsCoalesced", "listener.eventsDropped",
    "listener.unidentifiedSources", "metrics.series", "metrics.seriesLeftOut")

  private def status(
      queryName: String,
      group: String,
      partitions: Int = 3,
      errorKind: String = null,
      latencyAt: Long = 1000L): QueryGroupStatus = {
    val committed = (0 until partitions).map(p => ("topic.a", p) -> (100L + p)).toMap
    val lag = (0 until partitions).map(p => ("topic.a", p) -> (10L * p)).toMap
    new QueryGroupStatus(UUID.randomUUID(), UUID.randomUUID(), queryName, group, "b:9092", 1, 5, 2,
      errorKind != null, 0, false, errorKind != null, 4, latencyAt, 7, "{}", committed, errorKind, "message",
      false, lag, 5.0)
  }

  private def value(metrics: CommitterMetrics, name: String): Any =
    metrics.registry.getMetrics.get(name) match {
      case gauge: Gauge[_] => gauge.getValue
      case counter: Counter => counter.getCount
      case histogram: Histogram => histogram.getCount
      case null => fail(s"no series $name in ${metrics.registry.getNames}")
      case other => fail(s"unexpected metric $other")
    }

  test("a group's series carry the status and the progress event's lag, names made of its labels") {
    val metrics = new CommitterMetrics(1000, worker)
    metrics.refresh(Seq(status("orders.eu", "team/orders", errorKind = "GroupAuthorizationFailed")), nowEpochMillis = 3500)
    val query = "query.orders_eu.group.team_orders"
    assert(value(metrics, s"$query.commitsSucceeded") == 5L)
    assert(value(metrics, s"$query.commitsFailed") == 2L)
    assert(value(metrics, s"$query.lastCommittedBatchId") == 4L)
    assert(value(metrics, s"$query.secondsSinceLastCommit") == 2.5)
    assert(value(metrics, s"$query.parked") == 1L)
    assert(value(metrics, s"$query.lastError.GroupAuthorizationFailed") == 1L)
    assert(value(metrics, s"$query.helperRestarts") == 1L)
    assert(value(metrics, s"$query.lagRecords") == 30L)
    assert(value(metrics, s"$query.catchUpSeconds") == 6.0)
    assert(value(metrics, s"$query.commitLatencyMs") == 1L)
    val partition = "group.team_orders.topic.topic_a.partition.2"
    assert(value(metrics, s"$partition.committedOffset") == 102L)
    assert(value(metrics, s"$partition.lagRecords") == 20L)
    assert(value(metrics, s"$partition.catchUpSeconds") == 4.0)

    // Another error kind replaces the series of the earlier one; a new commit adds one latency sample.
    metrics.refresh(Seq(status("orders.eu", "team/orders", errorKind = "CoordinatorNotAvailable", latencyAt = 2000)))
    assert(!metrics.seriesNames.contains(s"$query.lastError.GroupAuthorizationFailed"))
    assert(value(metrics, s"$query.lastError.CoordinatorNotAvailable") == 1L)
    assert(value(metrics, s"$query.commitLatencyMs") == 2L)
  }

  test("200 short-lived queries leave no series behind") {
    val metrics = new CommitterMetrics(1000, worker)
    for (i <- 1 to 200) {
      metrics.refresh(Seq(status(s"short-$i", s"group-$i")))
      assert(metrics.seriesNames.exists(_.startsWith(s"query.short-$i.")))
      metrics.refresh(Nil)
      assert(metrics.seriesNames.isEmpty)
    }
    assert(metrics.registry.getNames.toArray.toSet == fixedSeries)
    assert(value(metrics, "metrics.seriesLeftOut") == 0L)
  }

  test("200 queries at once stay under the cap, the rest counted; they come back as room frees up") {
    val cap = 500
    val metrics = new CommitterMetrics(cap, worker)
    val running = (1 to 200).map(i => status(s"query-$i", s"group-$i"))
    metrics.refresh(running)
    // 11 series per group (with its latency) and 3 per partition: 20 per query, 4000 in all.
    assert(metrics.seriesNames.size == cap)
    assert(metrics.registry.getNames.size == cap + fixedSeries.size)
    assert(value(metrics, "metrics.series") == cap.toLong)
    assert(value(metrics, "metrics.seriesLeftOut") == 200L * 20 - cap)

    metrics.refresh(running.takeRight(10))
    assert(metrics.seriesNames.size == 200)
    assert(value(metrics, "metrics.seriesLeftOut") == 0L)
    metrics.refresh(Nil)
    assert(metrics.registry.getNames.toArray.toSet == fixedSeries)
  }
}
