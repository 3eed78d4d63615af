package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.UUID
import java.util.concurrent.{CompletableFuture, ExecutionException, TimeUnit, TimeoutException}

import scala.collection.mutable

import org.slf4j.LoggerFactory

import io.kafkaoffsetcommitter.{InvalidConfigException, InvalidOffsetsException}

/**
 * The commits of one query run: one committer per Kafka cluster (params), and the offsets last
 * handed over per target, so unchanged offsets are not committed again (the engine re-commits them
 * itself to keep them from expiring).
 *
 * A committer opens on the worker's open pool, never on the worker thread: opening a new cluster
 * starts its helper process, which can hang. Until it is open, the latest offsets of each of its
 * targets wait here (one entry per target, so bounded by the run's sources); the worker thread hands
 * them over once the open ends, or a flush or close that waits for it does.
 *
 * Commits and hand-overs come from the worker thread; a terminated run's close runs on the close
 * pool while a hand-over may still be queued, so the state is guarded by this object's lock (held
 * only for non-blocking calls: `commitAsync` returns at once).
 */
private[spark] final class RunCommits(
    queryId: UUID,
    runId: UUID,
    newCommitter: Map[String, String] => Committer,
    worker: CommitWorker,
    nanoClock: () => Long) {

  import RunCommits._

  private val clusters = mutable.LinkedHashMap[Map[String, String], Cluster]()
  private val lastCommitted = mutable.HashMap[CommitTarget, KafkaOffsets]()
  /** The end-offset JSON last handed over unparsed per target ([[commitUnparsed]]). */
  private val lastCommittedJson = mutable.HashMap[CommitTarget, String]()

  /**
   * Hands each target's end offsets, as Spark wrote them, to its committer when the committer is open:
   * the core parses them natively at once, while the listener's own parse (cold code: a listener sees
   * one event per batch) comes after, in [[commitBatch]]. Returns, per target taken here, whether its
   * commit was queued (false: it failed, and was logged). Targets not taken (a committer not open yet,
   * offsets the core cannot parse) are left to `commitBatch`, whose parse reports unparsable offsets.
   */
  def commitUnparsed(batchId: Long, unmerged: Seq[(CommitTarget, String)]): Map[CommitTarget, Boolean] = synchronized {
    unmerged.flatMap { case (target, json) =>
      clusters.get(target.params) match {
        case Some(Open(_)) if lastCommittedJson.get(target).contains(json) => Some(target -> true)
        case Some(Open(committer)) =>
          try {
            committer.commitJsonAsync(target.group, json, queryId, runId, batchId)
            lastCommittedJson(target) = json
            Some(target -> true)
          } catch {
            case _: InvalidOffsetsException => None
            case Recoverable(e) =>
              warnCommitFailed(batchId, target, e)
              Some(target -> false)
          }
        case _ => None
      }
    }.toMap
  }

  /**
   * Commits each target's offsets unless they are unchanged; `handedOver` are the targets
   * [[commitUnparsed]] took for this batch, recorded here but not committed again.
   */
  def commitBatch(
      batchId: Long,
      commits: Seq[(CommitTarget, KafkaOffsets)],
      handedOver: Map[CommitTarget, Boolean] = Map.empty): Unit = synchronized {
    releaseSuperseded(commits.map(_._1))
    for ((target, offsets) <- commits if !lastCommitted.get(target).contains(offsets))
      handedOver.get(target) match {
        case Some(queued) => if (queued) lastCommitted(target) = offsets
        case None =>
          clusters.getOrElseUpdate(target.params, startOpening(target.params)) match {
            case Open(committer) => commit(committer, target, Waiting(offsets, batchId))
            case opening: Opening => opening.waiting(target) = Waiting(offsets, batchId)
            case Unavailable =>
          }
      }
  }

  /**
   * Releases the committers whose every group now commits with other settings (a renewed delegation
   * token): two committers of one group would each keep its state, and the old one's keep-alive could
   * move the group back to older offsets.
   */
  private def releaseSuperseded(targets: Seq[CommitTarget]): Unit =
    for ((params, cluster) <- clusters.toList) {
      val groups = lastCommitted.keys.filter(_.params == params).map(_.group).toSet
      val moved = groups.nonEmpty && !targets.exists(_.params == params) &&
        groups.forall(group => targets.exists(target => target.group == group && target.params != params))
      if (moved) {
        clusters.remove(params)
        lastCommitted.keys.filter(_.params == params).toList.foreach(lastCommitted.remove)
        lastCommittedJson.keys.filter(_.params == params).toList.foreach(lastCommittedJson.remove)
        cluster match {
          case Open(committer) => closeAtOnce(committer)
          case opening: Opening => opening.committer.thenAccept(committer => closeAtOnce(committer))
          case Unavailable =>
        }
      }
    }

  /**
   * True when every commit handed over so far was confirmed before `deadlineNanos`. A committer still
   * opening is waited for up to the deadline (then takes its waiting offsets); one that cannot open
   * counts as done (its failure was logged).
   */
  def flush(deadlineNanos: Long): Boolean =
    eachCommitter(deadlineNanos)(_.flush(_), stillOpening = (_, _) => ())

  /**
   * Like [[flush]], then releases the committers; the run commits nothing afterwards. A committer
   * that opens after the deadline still takes its waiting offsets and is released at once (the core
   * keeps a released committer's unconfirmed offsets until they are committed).
   */
  def flushAndClose(deadlineNanos: Long): Boolean =
    eachCommitter(deadlineNanos)(_.close(_), stillOpening = { (params, opening) =>
      opening.committer.whenComplete((_, _) => takeOver(params).foreach(closeAtOnce))
    })

  /** `call` for every committer, with what is left until the deadline; `stillOpening` for opens that outlast it. */
  private def eachCommitter(deadlineNanos: Long)(
      call: (Committer, Duration) => Boolean,
      stillOpening: (Map[String, String], Opening) => Unit): Boolean =
    // Strict on purpose: every committer gets its call even after one fails.
    synchronized(clusters.toList).map {
      case (_, Unavailable) => true
      case (_, Open(committer)) => callUntil(deadlineNanos, committer)(call)
      case (params, opening: Opening) =>
        if (awaitOpen(opening.committer, deadlineNanos)) takeOver(params).forall(callUntil(deadlineNanos, _)(call))
        else {
          stillOpening(params, opening)
          false
        }
    }.forall(identity)

  /**
   * Each open committer's status with its cluster's bootstrap servers. A committer closed meanwhile (the run
   * ended, or a renewed token replaced it) is left out: its groups belong to no running query any more.
   */
  def status(): Seq[(String, Committer.Status)] =
    synchronized(clusters.toList).collect { case (params, Open(committer)) => params -> committer }.flatMap {
      case (params, committer) =>
        try Some(params.getOrElse("bootstrap.servers", "?") -> committer.status())
        catch { case Recoverable(_) => None }
    }

  private def callUntil(deadlineNanos: Long, committer: Committer)(call: (Committer, Duration) => Boolean): Boolean =
    try call(committer, Duration.ofNanos(math.max(0L, deadlineNanos - nanoClock())))
    catch {
      case Recoverable(e) =>
        log.warn(s"Query $queryId run $runId: flushing commits failed", e)
        false
    }

  private def closeAtOnce(committer: Committer): Unit =
    try committer.close(Duration.ZERO)
    catch { case Recoverable(e) => log.warn(s"Query $queryId run $runId: releasing a committer failed", e) }

  private def startOpening(params: Map[String, String]): Opening =
    new Opening(worker.openInBackground(() => newCommitter(params), new Runnable {
      def run(): Unit = takeOver(params)
    }))

  /**
   * Once the open of `params` has ended: hands the committer the offsets that waited for it, or logs
   * (once: the state moves on) that there is none. Returns the committer, if any; does nothing while
   * the open is still going.
   */
  private def takeOver(params: Map[String, String]): Option[Committer] = synchronized {
    clusters.get(params) match {
      case Some(Open(committer)) => Some(committer)
      case Some(opening: Opening) if opening.committer.isDone =>
        opened(params, opening.committer) match {
          case Some(committer) =>
            clusters(params) = Open(committer)
            opening.waiting.foreach { case (target, waiting) => commit(committer, target, waiting) }
            Some(committer)
          case None =>
            clusters(params) = Unavailable
            None
        }
      case _ => None
    }
  }

  private def opened(params: Map[String, String], open: CompletableFuture[Committer]): Option[Committer] =
    try Some(open.get())
    catch {
      case e: ExecutionException =>
        log.warn(cannotOpen(queryId, runId, params, e.getCause), e.getCause)
        None
    }

  private def commit(committer: Committer, target: CommitTarget, waiting: Waiting): Unit =
    try {
      committer.commitAsync(target.group, waiting.offsets, queryId, runId, waiting.batchId)
      lastCommitted(target) = waiting.offsets
    } catch {
      case Recoverable(e) => warnCommitFailed(waiting.batchId, target, e)
    }

  private def warnCommitFailed(batchId: Long, target: CommitTarget, error: Throwable): Unit =
    log.warn(s"Query $queryId run $runId batch $batchId: commit to group '${target.group}' failed", error)

  private def awaitOpen(open: CompletableFuture[Committer], deadlineNanos: Long): Boolean =
    try {
      open.get(math.max(0L, deadlineNanos - nanoClock()), TimeUnit.NANOSECONDS)
      true
    } catch {
      case _: ExecutionException => true
      case _: TimeoutException => false
    }
}

private[spark] object RunCommits {
  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])

  /**
   * Why a run commits nothing to a cluster; a refused setting names the commit-only settings as the
   * way out. Never the params themselves: they can hold credentials.
   */
  def cannotOpen(queryId: UUID, runId: UUID, params: Map[String, String], cause: Throwable): String = {
    val wayOut = cause match {
      case _: InvalidConfigException =>
        s"; to commit with settings of its own, set ${KafkaOffsetCommitterListener.KafkaSettingsPrefix}<key> " +
          s"(every cluster) or ${KafkaOffsetCommitterListener.ClustersPrefix}<id>.bootstrap.servers with " +
          s"${KafkaOffsetCommitterListener.ClustersPrefix}<id>.kafka.<key> (this cluster)"
      case _ => ""
    }
    s"Query $queryId run $runId: cannot commit to Kafka at ${params.getOrElse("bootstrap.servers", "?")}; " +
      s"this run's offsets there are not committed$wayOut"
  }

  /** A target's latest offsets, waiting for its committer to open. */
  private final case class Waiting(offsets: KafkaOffsets, batchId: Long)

  private sealed trait Cluster
  private final case class Open(committer: Committer) extends Cluster
  /** Its committer could not be created (logged once); this run's commits there are skipped. */
  private case object Unavailable extends Cluster
  private final class Opening(val committer: CompletableFuture[Committer]) extends Cluster {
    val waiting = mutable.LinkedHashMap[CommitTarget, Waiting]()
  }
}
