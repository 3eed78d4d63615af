package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.UUID

import io.kafkaoffsetcommitter.{CommitMetadata, GroupStatus, OffsetCommitter}

/** What the listener needs of an [[OffsetCommitter]]; a seam so tests run without the native core. */
private[spark] trait Committer {

  /** Queues a batch's end offsets for `group`; returns at once. */
  def commitAsync(group: String, offsets: KafkaOffsets, queryId: UUID, runId: UUID, batchId: Long): Unit

  /**
   * The same for one source's end offsets as Spark wrote them: the core parses them natively, by the
   * rules of [[KafkaOffsets.parse]]. Offsets it cannot parse throw and queue nothing.
   */
  def commitJsonAsync(group: String, endOffsetsJson: String, queryId: UUID, runId: UUID, batchId: Long): Unit

  /** True when everything queued so far is committed. */
  def flush(timeout: Duration): Boolean

  /**
   * Flushes up to `timeout`, then releases the committer (ending its keep-alive re-commits); offsets
   * not yet confirmed stay queued in the core until committed, refused for good, or JVM exit.
   */
  def close(timeout: Duration): Boolean

  /** The groups this committer committed to and its cluster's helper restarts; throws once closed. */
  def status(): Committer.Status
}

private[spark] object Committer {

  final case class Status(helperRestarts: Long, groups: Seq[GroupStatus])

  /** A committer of the native core; cheap, since the core shares one Kafka client per cluster. */
  def native(kafkaParams: Map[String, String]): Committer = {
    val javaParams = new java.util.HashMap[String, String]()
    kafkaParams.foreach { case (key, value) => javaParams.put(key, value) }
    val committer = OffsetCommitter.create(javaParams)
    new Committer {
      def commitAsync(group: String, offsets: KafkaOffsets, queryId: UUID, runId: UUID, batchId: Long): Unit =
        committer.commitAsync(group, offsets.toJava, CommitMetadata.forBatch(queryId.toString, runId.toString, batchId))
      def commitJsonAsync(group: String, endOffsetsJson: String, queryId: UUID, runId: UUID, batchId: Long): Unit =
        committer.commitAsync(group, endOffsetsJson, CommitMetadata.forBatch(queryId.toString, runId.toString, batchId))
      def flush(timeout: Duration): Boolean = committer.flush(timeout)
      def close(timeout: Duration): Boolean = committer.close(timeout)
      def status(): Status = Status(committer.helperRestarts(), committer.status().toArray(new Array[GroupStatus](0)).toList)
    }
  }
}
