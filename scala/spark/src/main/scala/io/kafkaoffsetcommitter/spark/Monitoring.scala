package io.kafkaoffsetcommitter.spark

import java.lang.ref.WeakReference
import java.time.Duration
import java.util.{Collections, UUID, WeakHashMap}
import java.util.concurrent.{ConcurrentHashMap, Executors, ScheduledExecutorService, ThreadFactory, TimeUnit}

import org.apache.spark.SparkEnv
import org.apache.spark.kafkaoffsetcommitter.MetricsSourceRegistration
import org.slf4j.LoggerFactory

/** A query run the listener commits for, as the status and the metrics see it. Written by the worker thread. */
private[spark] final class MonitoredRun(val queryId: UUID, val runId: UUID, val commits: RunCommits) {
  @volatile var queryName: Option[String] = None
  @volatile var lastBatch: Option[BatchLag] = None

  def groups(): Seq[QueryGroupStatus] =
    commits.status().flatMap { case (servers, status) =>
      status.groups.map(group =>
        QueryGroupStatus(queryId, runId, queryName, servers, status.helperRestarts, group, lastBatch))
    }
}

/**
 * The JVM's running query runs and listeners, for [[KafkaOffsetCommitterStatus]] and the metrics source; and the
 * metrics source of the current SparkContext (one per application, re-registered when a new context starts).
 */
private[spark] object Monitoring {
  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])

  private val runs = ConcurrentHashMap.newKeySet[MonitoredRun]()
  // Weak: a listener lives as long as Spark's listener bus holds it (its session); the status must not keep it.
  private val listeners = Collections.synchronizedSet(
    Collections.newSetFromMap(new WeakHashMap[KafkaOffsetCommitterListener, java.lang.Boolean]()))

  def runStarted(run: MonitoredRun): Unit = runs.add(run)
  def runEnded(run: MonitoredRun): Unit = runs.remove(run)

  def listenerCreated(listener: KafkaOffsetCommitterListener): Unit = listeners.add(listener)

  def liveListeners: Seq[KafkaOffsetCommitterListener] = listeners.synchronized(listeners.toArray(new Array[KafkaOffsetCommitterListener](0)).toList)

  /** Every group of every running query, ordered by query label, run and group. */
  def groups(): Seq[QueryGroupStatus] =
    runs.toArray(new Array[MonitoredRun](0)).toList.flatMap(_.groups()).sortBy(status => (status.queryLabel, status.runId.toString, status.group))

  // The metrics of the current SparkContext, and that context's environment (weakly: a stopped one must go).
  private var attachedTo = new WeakReference[SparkEnv](null)
  @volatile private var current: Option[CommitterMetrics] = None
  private var refresher: ScheduledExecutorService = _

  /**
   * Registers a metrics source in the driver's metrics system of the running SparkContext, once per context, with
   * the listener counters of `worker`; nothing without a SparkContext (a listener built in a test) or when the
   * metrics are switched off.
   */
  def attachMetrics(config: ListenerConfig, worker: CommitWorker): Unit =
    if (config.metricsEnabled) synchronized {
      val env = SparkEnv.get
      if (env != null && !(attachedTo.get eq env)) {
        attachedTo = new WeakReference(env)
        val metrics = new CommitterMetrics(config.metricsMaxSeries, worker)
        try {
          MetricsSourceRegistration.register(env, CommitterMetrics.SourceName, metrics.registry)
          current = Some(metrics)
          startRefresher()
        } catch {
          case Recoverable(e) => log.warn("Kafka offset committer: cannot register its metrics source", e)
        }
      }
    }

  private def startRefresher(): Unit =
    if (refresher == null) {
      refresher = Executors.newSingleThreadScheduledExecutor(new ThreadFactory {
        def newThread(r: Runnable): Thread = {
          val thread = new Thread(r, "kafka-offset-committer-metrics")
          thread.setDaemon(true)
          thread
        }
      })
      val interval = CommitterMetrics.RefreshInterval.toMillis
      refresher.scheduleWithFixedDelay(new Runnable {
        def run(): Unit =
          try current.foreach(_.refresh(groups()))
          catch { case Recoverable(e) => log.debug("Kafka offset committer: metrics refresh failed", e) }
      }, 0, interval, TimeUnit.MILLISECONDS)
    }

  /** Test-only: the metrics of the current SparkContext, refreshed now. */
  private[spark] def refreshedMetrics(): Option[CommitterMetrics] = {
    current.foreach(_.refresh(groups()))
    current
  }

  /** Waits for every listener's events so far and their commits, sharing one deadline. */
  def flushAll(timeout: Duration): Boolean = {
    val deadline = System.nanoTime() + timeout.toNanos
    liveListeners.map(_.flushCommits(Duration.ofNanos(math.max(0L, deadline - System.nanoTime())))).forall(identity)
  }
}

/**
 * The committer's status from Scala, Java and (through `kafka_offset_committer` in Python) PySpark: every group
 * of every running query of this JVM, and a flush of every listener's commits.
 */
object KafkaOffsetCommitterStatus {

  /** Every group of every running query of this JVM (stopped queries are gone). */
  def groups(): java.util.List[QueryGroupStatus] =
    java.util.Collections.unmodifiableList(java.util.Arrays.asList(Monitoring.groups(): _*))

  /** [[groups]] as one JSON document: `{"groups":[{...}, ...]}`, each entry's fields as in [[QueryGroupStatus]]. */
  def json(): String = Monitoring.groups().map(_.toJson).mkString("{\"groups\":[", ",", "]}")

  /**
   * Waits until every listener of this JVM has handled the events delivered so far and Kafka confirmed their
   * commits; false on timeout, or when a group's commits are refused (see its `lastErrorKind`).
   */
  def flushCommits(timeout: Duration): Boolean = Monitoring.flushAll(timeout)

  /** [[flushCommits]] with the timeout in milliseconds, for callers without `java.time` (py4j). */
  def flushCommits(timeoutMillis: Long): Boolean = flushCommits(Duration.ofMillis(timeoutMillis))
}
