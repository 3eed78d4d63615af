package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.UUID

import scala.collection.mutable

import org.slf4j.LoggerFactory

/**
 * The commits of one query run: one committer per Kafka cluster (params), and the offsets last
 * handed over per target, so unchanged offsets are not committed again (the engine re-commits them
 * itself to keep them from expiring). Used by the worker thread only.
 */
private[spark] final class RunCommits(
    queryId: UUID,
    runId: UUID,
    newCommitter: Map[String, String] => Committer,
    nanoClock: () => Long) {

  import RunCommits.log

  // None: creating it failed (already logged); its commits are skipped for this run.
  private val committers = mutable.LinkedHashMap[Map[String, String], Option[Committer]]()
  private val lastCommitted = mutable.HashMap[CommitTarget, KafkaOffsets]()

  def commitBatch(batchId: Long, commits: Seq[(CommitTarget, KafkaOffsets)]): Unit =
    for {
      (target, offsets) <- commits
      if !lastCommitted.get(target).contains(offsets)
      committer <- committerFor(target.params)
    } {
      try {
        committer.commitAsync(target.group, offsets, queryId, runId, batchId)
        lastCommitted(target) = offsets
      } catch {
        case Recoverable(e) =>
          log.warn(s"Query $queryId run $runId batch $batchId: commit to group '${target.group}' failed", e)
      }
    }

  /** True when every commit handed over so far was confirmed before `deadlineNanos`. */
  def flush(deadlineNanos: Long): Boolean =
    eachCommitter(deadlineNanos)(_.flush(_))

  /** Like [[flush]], then releases the committers; the run commits nothing afterwards. */
  def flushAndClose(deadlineNanos: Long): Boolean = {
    val confirmed = eachCommitter(deadlineNanos)(_.close(_))
    committers.clear()
    confirmed
  }

  private def eachCommitter(deadlineNanos: Long)(call: (Committer, Duration) => Boolean): Boolean =
    // Strict on purpose: every committer gets its call even after one fails.
    committers.values.flatten.toList.map { committer =>
      try call(committer, Duration.ofNanos(math.max(0L, deadlineNanos - nanoClock())))
      catch {
        case Recoverable(e) =>
          log.warn(s"Query $queryId run $runId: flushing commits failed", e)
          false
      }
    }.forall(identity)

  private def committerFor(params: Map[String, String]): Option[Committer] =
    committers.getOrElseUpdate(params, try Some(newCommitter(params)) catch {
      case Recoverable(e) =>
        // Never log the params themselves: they can hold credentials.
        log.warn(s"Query $queryId run $runId: cannot commit to Kafka at " +
          s"${params.getOrElse("bootstrap.servers", "?")}; this run's offsets there are not committed", e)
        None
    })
}

private object RunCommits {
  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])
}
