package io.kafkaoffsetcommitter.spark.fakes

import java.time.Duration
import java.util.UUID
import java.util.concurrent.CountDownLatch

import scala.collection.mutable

import io.kafkaoffsetcommitter.InvalidOffsetsException
import io.kafkaoffsetcommitter.spark.{Committer, KafkaOffsets}

/** Records what the listener hands to the engine (from whichever of the listener's threads calls it). */
final class FakeCommitter(val params: Map[String, String], flushResult: Boolean = true) extends Committer {
  import FakeCommitter.Commit

  private val committed = mutable.Buffer[Commit]()
  private val unparsed = mutable.Buffer[String]()
  private val flushed = mutable.Buffer[Duration]()
  private var closedWith: Option[Duration] = None
  private var failNext = false

  def commits: Seq[Commit] = synchronized(committed.toList)
  /** The groups of the commits handed over as Spark's JSON ([[commitJsonAsync]]), in order. */
  def unparsedGroups: Seq[String] = synchronized(unparsed.toList)
  def flushTimeouts: Seq[Duration] = synchronized(flushed.toList)
  def closeTimeout: Option[Duration] = synchronized(closedWith)
  def failNextCommit(): Unit = synchronized { failNext = true }

  def commitAsync(group: String, offsets: KafkaOffsets, queryId: UUID, runId: UUID, batchId: Long): Unit = synchronized {
    if (failNext) {
      failNext = false
      throw new IllegalStateException("injected commit failure")
    }
    committed += Commit(group, offsets, batchId)
  }

  /**
   * Parses as the core does (by the same rules) and refuses what it refuses the way it does, then records the
   * commit like [[commitAsync]].
   */
  def commitJsonAsync(group: String, endOffsetsJson: String, queryId: UUID, runId: UUID, batchId: Long): Unit =
    synchronized {
      val offsets =
        try KafkaOffsets.parse(endOffsetsJson)
        catch { case e: IllegalArgumentException => throw new InvalidOffsetsException(e.getMessage) }
      commitAsync(group, offsets, queryId, runId, batchId)
      unparsed += group
    }

  def flush(timeout: Duration): Boolean = synchronized {
    flushed += timeout
    flushResult
  }

  def close(timeout: Duration): Boolean = synchronized {
    closedWith = Some(timeout)
    flushResult
  }

  def status(): Committer.Status = Committer.Status(0, Nil)
}

object FakeCommitter {
  final case class Commit(group: String, offsets: KafkaOffsets, batchId: Long)
}

/**
 * A committer factory that remembers every committer it made, can refuse some params, and can hold
 * the creation for some params until their latch opens (a helper that is slow to start). Called on
 * the worker's open pool, so its record is synchronized.
 */
final class FakeCommitterFactory(
    refuse: Map[String, String] => Boolean = _ => false,
    holdUntil: Map[String, String] => Option[CountDownLatch] = _ => None)
  extends (Map[String, String] => Committer) {

  private val made = mutable.Buffer[FakeCommitter]()
  private val attempted = mutable.Buffer[Map[String, String]]()

  def created: Seq[FakeCommitter] = made.synchronized(made.toList)

  /** The params of every creation that was asked for, refused ones included. */
  def attempts: Seq[Map[String, String]] = made.synchronized(attempted.toList)

  def apply(params: Map[String, String]): Committer = {
    made.synchronized(attempted += params)
    holdUntil(params).foreach(_.await())
    if (refuse(params)) throw new IllegalArgumentException("injected config failure")
    val committer = new FakeCommitter(params)
    made.synchronized(made += committer)
    committer
  }
}
