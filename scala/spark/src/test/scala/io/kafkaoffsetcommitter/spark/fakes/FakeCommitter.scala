package io.kafkaoffsetcommitter.spark.fakes

import java.time.Duration
import java.util.UUID

import scala.collection.mutable

import io.kafkaoffsetcommitter.spark.{Committer, KafkaOffsets}

/** Records what the listener hands to the engine. */
final class FakeCommitter(val params: Map[String, String], flushResult: Boolean = true) extends Committer {
  import FakeCommitter.Commit

  val commits = mutable.Buffer[Commit]()
  val flushTimeouts = mutable.Buffer[Duration]()
  var closeTimeout: Option[Duration] = None
  var failNextCommit = false

  def commitAsync(group: String, offsets: KafkaOffsets, queryId: UUID, runId: UUID, batchId: Long): Unit = {
    if (failNextCommit) {
      failNextCommit = false
      throw new IllegalStateException("injected commit failure")
    }
    commits += Commit(group, offsets, batchId)
  }

  def flush(timeout: Duration): Boolean = {
    flushTimeouts += timeout
    flushResult
  }

  def close(timeout: Duration): Boolean = {
    closeTimeout = Some(timeout)
    flushResult
  }
}

object FakeCommitter {
  final case class Commit(group: String, offsets: KafkaOffsets, batchId: Long)
}

/** A committer factory that remembers every committer it made and can refuse some params. */
final class FakeCommitterFactory(refuse: Map[String, String] => Boolean = _ => false)
  extends (Map[String, String] => Committer) {

  val created = mutable.Buffer[FakeCommitter]()

  def apply(params: Map[String, String]): Committer = {
    if (refuse(params)) throw new IllegalArgumentException("injected config failure")
    val committer = new FakeCommitter(params)
    created += committer
    committer
  }
}
