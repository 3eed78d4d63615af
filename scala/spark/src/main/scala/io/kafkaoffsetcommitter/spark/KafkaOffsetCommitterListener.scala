package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.UUID
import java.util.concurrent.{CompletableFuture, TimeUnit, TimeoutException}

import scala.collection.mutable

import org.apache.spark.SparkConf
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.streaming.StreamingQueryListener
import org.apache.spark.sql.streaming.StreamingQueryListener.{QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent}
import org.slf4j.LoggerFactory

import io.kafkaoffsetcommitter.EngineSettings
import io.kafkaoffsetcommitter.spark.SparkInternals._

/**
 * Commits the end offsets of each finished micro-batch of Kafka sources to a consumer group, so that
 * lag tools see the progress of Structured Streaming queries. The group is the source option
 * `kafka.consumer.commit.groupid`, or else `spark.kafkaOffsetCommitter.groupIdTemplate`.
 *
 * Register it with `spark.sql.streaming.streamingQueryListeners=io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener`
 * (Spark then creates one instance per session). Callbacks only copy what they need and queue it
 * for the JVM's one worker thread, which pairs sources with progress entries, reads Kafka settings
 * and hands commits to the native engine. Idle events (`onQueryIdle`) are ignored: they mean no batch ran.
 */
class KafkaOffsetCommitterListener private[spark] (
    newCommitter: Map[String, String] => Committer,
    nanoClock: () => Long,
    config: ListenerConfig,
    workerFor: ListenerConfig => CommitWorker)
  extends StreamingQueryListener {

  import KafkaOffsetCommitterListener._

  private[spark] def this(newCommitter: Map[String, String] => Committer, nanoClock: () => Long, config: ListenerConfig) =
    this(newCommitter, nanoClock, config, CommitWorker.sharedWorker)

  /** The constructor Spark calls for `spark.sql.streaming.streamingQueryListeners`. */
  def this(conf: SparkConf) = this(Committer.native, () => System.nanoTime(), ListenerConfig.fromSparkConf(conf))

  /** For `spark.streams.addListener(new KafkaOffsetCommitterListener())`: reads the running application's conf. */
  def this() = this(KafkaOffsetCommitterListener.currentSparkConf())

  private lazy val worker = workerFor(config)

  if (config.enabled) Monitoring.listenerCreated(this)

  // Runs by run id, and the closes of terminated runs still in progress. Touched by the worker thread only.
  private val runs = mutable.HashMap[UUID, QueryRun]()
  private val closing = mutable.Set[CompletableFuture[java.lang.Boolean]]()

  override def onQueryStarted(event: QueryStartedEvent): Unit = callback("onQueryStarted") {
    // Runs on the query thread, the one moment the query is certainly reachable: capture it now.
    val (queryId, runId) = (event.id, event.runId)
    val execution =
      try findExecution(queryId)
      catch {
        case Recoverable(e) =>
          log.warn(s"Query $queryId: cannot reach its execution; trying again at its first progress", e)
          None
      }
    submitLifecycle(s"start of query $queryId")(started(queryId, runId, execution))
  }

  override def onQueryProgress(event: QueryProgressEvent): Unit = callback("onQueryProgress") {
    val progress = ProgressSnapshot(event.progress)
    // Coalesced per run while waiting: the latest end offsets say everything earlier ones did.
    worker.submitProgress(ProgressKey(this, progress.runId), new Runnable { def run(): Unit = progressed(progress) })
  }

  override def onQueryTerminated(event: QueryTerminatedEvent): Unit = callback("onQueryTerminated") {
    val runId = event.runId
    submitLifecycle(s"termination of query ${event.id}")(terminated(runId))
  }

  /**
   * Waits until the events delivered to this listener so far are handled and their commits
   * confirmed by Kafka. For tests, and for applications that want certainty before they exit.
   */
  def flushCommits(timeout: Duration): Boolean = !config.enabled || {
    val deadline = nanoClock() + timeout.toNanos
    // The live runs' flush, and the closes of terminated runs still going (waited for on this thread).
    val flushed = new CompletableFuture[(Boolean, List[CompletableFuture[java.lang.Boolean]])]()
    worker.submitLifecycle(new Runnable {
      def run(): Unit = {
        closing --= closing.filter(_.isDone)
        val closes = closing.toList
        flushed.complete((runs.values.toList.map(_.commits.flush(deadline)).forall(identity), closes))
      }
    }) && (try {
      val (live, closes) = flushed.get(math.max(0L, deadline - nanoClock()), TimeUnit.NANOSECONDS)
      worker.awaitAll(closes, deadline) && live
    } catch { case _: TimeoutException => false })
  }

  private def submitLifecycle(what: String)(body: => Unit): Unit =
    if (!worker.submitLifecycle(new Runnable { def run(): Unit = body }))
      log.warn(s"Kafka offset committer worker is gone; ignoring the $what")

  // Never lets an exception escape to Spark's listener bus, except the JVM's own VirtualMachineErrors.
  private def callback(name: String)(body: => Unit): Unit =
    if (config.enabled) {
      try body
      catch { case Recoverable(e) => log.warn(s"$name failed; no commit for this event", e) }
    }

  private def started(queryId: UUID, runId: UUID, execution: Option[AnyRef]): Unit = {
    val run = newRun(queryId, runId, execution)
    execution.foreach { e =>
      if (isContinuous(e))
        run.warnOnce("continuous")(s"Query $queryId uses the continuous trigger, which posts no progress " +
          "events: its Kafka offsets are not committed (continuous processing is not supported)")
      if (isAsyncProgressTracking(e))
        run.warnOnce("async")(s"Query $queryId uses async progress tracking: its committed group offsets " +
          "can run ahead of its checkpoint")
    }
  }

  private def newRun(queryId: UUID, runId: UUID, execution: Option[AnyRef]): QueryRun = {
    val monitored = new MonitoredRun(queryId, runId, new RunCommits(queryId, runId, newCommitter, worker, nanoClock))
    val run = new QueryRun(queryId, runId, execution, monitored)
    runs(runId) = run
    Monitoring.runStarted(monitored)
    Monitoring.attachMetrics(config, worker)
    run
  }

  private def progressed(progress: ProgressSnapshot): Unit = {
    // No start seen: the listener was added after the query started.
    val run = runs.getOrElse(progress.runId, newRun(progress.queryId, progress.runId, None))
    run.monitored.queryName = progress.queryName
    try {
      for (bound <- run.boundSources.filterNot(sparkTokenRenewed).orElse(bindSources(run, progress))) {
        if (!CommitPlan.isAligned(bound, progress.sources)) {
          if (run.warnOnce("misaligned")(s"Query ${progress.queryId}: progress sources " +
            s"${progress.sources.map(_.description).mkString("[", ", ", "]")} do not match its sources " +
            s"${bound.map(_.description).mkString("[", ", ", "]")}; events that disagree commit nothing"))
            worker.countUnidentified(bound.count(_.target.isDefined))
        } else {
          run.boundSources = Some(bound)
          // The commit first, parsed by the core; the listener's own parse (merged sources, unchanged
          // offsets, what cannot be parsed, the lag) after it.
          val handedOver =
            run.commits.commitUnparsed(progress.batchId, CommitPlan.unmergedSources(bound, progress.sources))
          val commits = CommitPlan.groupCommits(bound, progress.sources) { (source, error) =>
            run.warnOnce(s"unparsable ${source.description}")(s"Query ${progress.queryId}: skipping offsets of " +
              s"${source.description}: ${error.getMessage}")
          }
          run.commits.commitBatch(progress.batchId, commits, handedOver)
          run.monitored.lastBatch =
            Some(BatchLag(progress.batchId, progress.processedRowsPerSecond, CommitPlan.groupLags(bound, progress.sources)))
        }
      }
    } catch {
      // Reflection that fails on this Spark version would fail on every event: say it once.
      case Recoverable(e) => run.warnOnce("failed")(s"Query ${progress.queryId}: cannot commit its offsets", e)
    }
  }

  /** The run's distinct sources with their commit targets; None if the execution is out of reach. */
  private def bindSources(run: QueryRun, progress: ProgressSnapshot): Option[IndexedSeq[BoundSource]] = {
    if (run.execution.isEmpty) run.execution = findExecution(run.queryId)
    run.execution match {
      case None =>
        if (run.warnOnce("unreachable")(s"Query ${run.queryId}: its execution cannot be found, so its sources " +
            "cannot be identified and its offsets are not committed"))
          worker.countUnidentified(progress.sources.size)
        None
      case Some(execution) =>
        Some(CommitPlan.distinctSources(sources(execution)).map(source => commitTarget(run, progress, source)))
    }
  }

  /**
   * Spark replaces a delegation token well before it expires (and the old one then stops working), while a run's
   * targets are built once: checking at every progress event (a credentials lookup and a string comparison,
   * Spark's own `needTokenUpdate`) makes the next batch's commits use the new token.
   */
  private def sparkTokenRenewed(bound: IndexedSeq[BoundSource]): Boolean =
    bound.exists(source => source.sparkTokenClasses.exists(classes =>
      source.target.exists(target => SparkInternals.sparkTokenRenewed(target.params, classes))))

  private def commitTarget(run: QueryRun, progress: ProgressSnapshot, source: AnyRef): BoundSource =
    sourceKind(source) match {
      case KafkaSourceParams(params) =>
        val group = CommitPlan.groupFromSourceOption(params).orElse(config.groupIdTemplate.flatMap { template =>
          val filled = CommitPlan.groupFromTemplate(template, progress.queryName, run.queryId)
          if (filled.isEmpty)
            run.warnOnce("unnamed")(s"Query ${run.queryId} has no name, which $GroupIdTemplateKey=$template needs")
          filled
        })
        group.fold(BoundSource(String.valueOf(source), None)) { group =>
          val classes = source.getClass.getClassLoader
          val login = sparkTokenLogin(CommitPlan.lowerCaseKeys(params), classes)
          val tokenSettings = login match {
            case SparkTokenSettings(_, settings) => settings
            case _ => Map.empty[String, String]
          }
          val commitParams =
            CommitPlan.commitParams(params, config.commitClientSettings, config.committerSettings, tokenSettings)
          val usesToken = tokenSettings.get(SaslJaasConfig).exists(commitParams.get(SaslJaasConfig).contains)
          if (!commitParams.contains(SaslJaasConfig)) warnNoSparkToken(run, commitParams, login)
          BoundSource(String.valueOf(source), Some(CommitTarget(commitParams, group)), Some(classes).filter(_ => usesToken))
        }
      case ContinuousKafkaSource =>
        run.warnOnce("continuous")(s"Query ${run.queryId}: continuous processing is not supported")
        BoundSource(String.valueOf(source), None)
      case UnreadableKafkaSource(error) =>
        if (run.warnOnce(s"unreadable $source")(s"Query ${run.queryId}: cannot read the Kafka settings of $source " +
            "on this Spark version; its offsets are not committed", error))
          worker.countUnidentified(1)
        BoundSource(String.valueOf(source), None)
      case OtherSource => BoundSource(String.valueOf(source), None)
    }

  /** Once per run and cluster: the source's clients log in with Spark's delegation token, its commits cannot. */
  private def warnNoSparkToken(run: QueryRun, commitParams: Map[String, String], login: SparkTokenLogin): Unit = {
    val servers = commitParams.getOrElse("bootstrap.servers", "?")
    val wayOut = s"To commit with credentials of its own, set ${ClustersPrefix}<id>.bootstrap.servers=$servers and " +
      s"${ClustersPrefix}<id>.kafka.sasl.jaas.config (commit-only credentials, see the README)"
    login match {
      case SparkTokenMissing(clusters) =>
        run.warnOnce(s"spark token ${clusters.mkString(",")}")(s"Query ${run.queryId}: its Kafka source at $servers " +
          s"is a delegation-token cluster of Spark (${clusters.map(id => s"$SparkTokenClustersPrefix$id.*").mkString(", ")}), " +
          s"but the driver's credentials hold no token for it: its commits go without one. $wayOut")
      case SparkTokenUnusable(error) =>
        run.warnOnce(s"spark token $servers")(s"Query ${run.queryId}: cannot use Spark's Kafka delegation tokens " +
          s"for its source at $servers ($error), so its commits cannot log in as the source does. $wayOut")
      case NoSparkToken | SparkTokenSettings(_, _) =>
    }
  }

  /**
   * Hands the run's committers to the close pool: their flush can take up to
   * `flushTimeoutOnTermination` (a cluster that is away, a group being refused), and must not hold
   * up other queries' commits. The run is no longer in `runs`, so only the close touches them now.
   */
  private def terminated(runId: UUID): Unit =
    for (run <- runs.remove(runId)) {
      Monitoring.runEnded(run.monitored)
      val deadline = nanoClock() + config.flushTimeoutOnTermination.toNanos
      val closed = worker.closeInBackground { () =>
        val confirmed = run.commits.flushAndClose(deadline)
        if (!confirmed)
          log.warn(s"Query ${run.queryId} run $runId ended; its last commits were not confirmed within " +
            s"${config.flushTimeoutOnTermination.toMillis} ms (see earlier warnings); they stay queued until " +
            "Kafka takes them, refuses them for good, or the JVM exits")
        confirmed
      }
      closing --= closing.filter(_.isDone)
      closing += closed
    }
}

object KafkaOffsetCommitterListener {
  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])

  /** Every setting of the listener starts with this; Spark conf only (read when a session starts). */
  val ConfigPrefix = "spark.kafkaOffsetCommitter."

  /** Turns the listener off entirely (default true). */
  val EnabledKey: String = ConfigPrefix + "enabled"
  val DefaultEnabled = true

  /**
   * Group for Kafka sources without `kafka.consumer.commit.groupid`, e.g. `spark-{queryName}`;
   * placeholders `{queryName}` and `{queryId}`. Unset (default): such sources are not committed.
   */
  val GroupIdTemplateKey: String = ConfigPrefix + "groupIdTemplate"

  /** How often the engine re-commits unchanged offsets so Kafka does not expire them (e.g. `1h`). */
  val KeepAliveIntervalKey: String = ConfigPrefix + "keepAliveInterval"

  /** How long a terminated query's last commits may take before its committers are released. */
  val FlushTimeoutOnTerminationKey: String = ConfigPrefix + "flushTimeoutOnTermination"
  val DefaultFlushTimeoutOnTermination: Duration = Duration.ofSeconds(10)

  /**
   * Query runs whose progress may wait for the worker thread at once (shared by all sessions). A run's
   * waiting progress is replaced by its newer one; a progress event of a run beyond this many is
   * dropped (counted, warned). Starts, terminations and flush barriers are never dropped.
   */
  val QueueCapacityKey: String = ConfigPrefix + "queueCapacity"
  val DefaultQueueCapacity = 1000

  /**
   * `spark.kafkaOffsetCommitter.kafka.K=V` sets the Kafka client setting `K` of every commit client, over the
   * source's own: a team can commit with a principal (or mechanism) of its own.
   */
  val KafkaSettingsPrefix: String = ConfigPrefix + "kafka."

  /**
   * `spark.kafkaOffsetCommitter.clusters.ID.bootstrap.servers=host:port,...` names a cluster, and
   * `spark.kafkaOffsetCommitter.clusters.ID.kafka.K=V` sets `K` for the commit clients of sources that read from
   * any of those servers (over the settings of every cluster).
   */
  val ClustersPrefix: String = ConfigPrefix + "clusters."

  /** Registers the metrics source in the driver's metrics system (default true). */
  val MetricsEnabledKey: String = ConfigPrefix + "metrics.enabled"
  val DefaultMetricsEnabled = true

  /**
   * At most this many series of queries, groups and partitions in the metrics source; more are left out and
   * counted (`metrics.seriesLeftOut`).
   */
  val MetricsMaxSeriesKey: String = ConfigPrefix + "metrics.maxSeries"
  val DefaultMetricsMaxSeries = 10000

  /** `spark.kafkaOffsetCommitter.committer.X=V` reaches the engine as its setting `committer.X`. */
  val CommitterSettingsPrefix: String = ConfigPrefix + EngineSettings.PREFIX

  private def currentSparkConf(): SparkConf =
    SparkSession.getActiveSession.orElse(SparkSession.getDefaultSession)
      .map(_.sparkContext.getConf)
      .getOrElse(new SparkConf())

  private val SaslJaasConfig = "sasl.jaas.config"

  /** Progress events are coalesced per listener instance and query run. */
  private final case class ProgressKey(listener: KafkaOffsetCommitterListener, runId: UUID)

  /** Per-run state of the worker thread. */
  private final class QueryRun(
      val queryId: UUID,
      val runId: UUID,
      var execution: Option[AnyRef],
      val monitored: MonitoredRun) {

    def commits: RunCommits = monitored.commits

    /** Set at the first aligned progress event: `sources` stays fixed for the whole run. */
    var boundSources: Option[IndexedSeq[BoundSource]] = None

    private val warned = mutable.Set[String]()

    /** Logs the message the first time `key` comes up in this run; true then. */
    def warnOnce(key: String)(message: => String, error: Throwable = null): Boolean = {
      val first = warned.add(key)
      if (first) log.warn(message, error)
      first
    }
  }
}
