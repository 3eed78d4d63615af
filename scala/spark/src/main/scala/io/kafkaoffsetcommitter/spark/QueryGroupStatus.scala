package io.kafkaoffsetcommitter.spark

import java.util.UUID

import scala.collection.mutable

import io.kafkaoffsetcommitter.GroupStatus

/**
 * One consumer group of one running query, as [[KafkaOffsetCommitterStatus]] reports it: the fields of the core's
 * [[GroupStatus]] (what Kafka confirmed, counters, last error), which query run commits to it, and the lag of the
 * query's last batch taken from its progress event. Plain values, read by the metrics source and the JSON form too.
 *
 * @param queryName the query's name, null when it has none
 * @param lastCommitEpochMillis, lastCommitLatencyMillis, lastCommittedBatchId, lastErrorKind: -1 (or null) while unknown
 * @param lagAtBatchEnd per topic and partition: the source's latest offset minus the batch's end offset, as the
 *   query's last progress event reported them (no request to Kafka)
 * @param processedRowsPerSecond the rate of the query's last batch (0 when it read nothing)
 */
final class QueryGroupStatus private[spark] (
    val queryId: UUID,
    val runId: UUID,
    val queryName: String,
    val group: String,
    val bootstrapServers: String,
    val helperRestarts: Long,
    val commitsSucceeded: Long,
    val commitsFailed: Long,
    val lastAttemptFailed: Boolean,
    val pendingPartitions: Long,
    val inFlight: Boolean,
    val parked: Boolean,
    val lastCommittedBatchId: Long,
    val lastCommitEpochMillis: Long,
    val lastCommitLatencyMillis: Long,
    val lastCommitMetadata: String,
    committed: Map[(String, Int), Long],
    val lastErrorKind: String,
    val lastErrorMessage: String,
    val lastErrorRetriable: Boolean,
    lag: Map[(String, Int), Long],
    val processedRowsPerSecond: Double) {

  /** Offsets Kafka confirmed for this group: topic -> partition -> next offset to read. */
  def lastCommittedOffsets: java.util.Map[String, java.util.Map[Integer, java.lang.Long]] = byTopic(committed)

  /** Records behind at the end of the query's last batch: topic -> partition -> records. */
  def lagAtBatchEnd: java.util.Map[String, java.util.Map[Integer, java.lang.Long]] = byTopic(lag)

  /**
   * Seconds the query would need to read a partition's lag at its last batch's rate; -1 when that rate is
   * unknown (a batch that read nothing) and records are behind.
   */
  def catchUpSeconds(records: Long): Double =
    if (records == 0) 0.0 else if (processedRowsPerSecond > 0) records / processedRowsPerSecond else -1.0

  /** The same offsets and lag, keyed by (topic, partition), for the metrics source. */
  private[spark] def committedByPartition: Map[(String, Int), Long] = committed
  private[spark] def lagByPartition: Map[(String, Int), Long] = lag

  /** Query name if set, else its id: how metrics and logs name the query. */
  def queryLabel: String = Option(queryName).getOrElse(queryId.toString)

  /** One JSON object with every field above; offsets and lag as `{"topic":{"0":42}}`. */
  def toJson: String = {
    val fields = Seq(
      "queryId" -> Json.string(queryId.toString),
      "runId" -> Json.string(runId.toString),
      "queryName" -> Json.string(queryName),
      "group" -> Json.string(group),
      "bootstrapServers" -> Json.string(bootstrapServers),
      "helperRestarts" -> helperRestarts.toString,
      "commitsSucceeded" -> commitsSucceeded.toString,
      "commitsFailed" -> commitsFailed.toString,
      "lastAttemptFailed" -> lastAttemptFailed.toString,
      "pendingPartitions" -> pendingPartitions.toString,
      "inFlight" -> inFlight.toString,
      "parked" -> parked.toString,
      "lastCommittedBatchId" -> Json.optional(lastCommittedBatchId),
      "lastCommitEpochMillis" -> Json.optional(lastCommitEpochMillis),
      "lastCommitLatencyMillis" -> Json.optional(lastCommitLatencyMillis),
      "lastCommitMetadata" -> Json.string(lastCommitMetadata),
      "lastCommittedOffsets" -> Json.offsets(committed),
      "lastErrorKind" -> Json.string(lastErrorKind),
      "lastErrorMessage" -> Json.string(lastErrorMessage),
      "lastErrorRetriable" -> (if (lastErrorKind == null) "null" else lastErrorRetriable.toString),
      "lagAtBatchEnd" -> Json.offsets(lag),
      "processedRowsPerSecond" -> Json.number(processedRowsPerSecond))
    fields.map { case (key, value) => s"${Json.string(key)}:$value" }.mkString("{", ",", "}")
  }

  override def toString: String = s"QueryGroupStatus($toJson)"

  private def byTopic(offsets: Map[(String, Int), Long]): java.util.Map[String, java.util.Map[Integer, java.lang.Long]] =
  {
    val topics = new java.util.TreeMap[String, java.util.Map[Integer, java.lang.Long]]()
    for (((topic, partition), offset) <- offsets.toSeq.sorted) {
      if (!topics.containsKey(topic)) topics.put(topic, new java.util.TreeMap[Integer, java.lang.Long]())
      topics.get(topic).put(partition, offset)
    }
    java.util.Collections.unmodifiableMap(topics)
  }
}

private[spark] object QueryGroupStatus {

  /** The core's view of a group, with the run that commits to it and the lag of the run's last batch. */
  def apply(
      queryId: UUID,
      runId: UUID,
      queryName: Option[String],
      bootstrapServers: String,
      helperRestarts: Long,
      status: GroupStatus,
      lastBatch: Option[BatchLag]): QueryGroupStatus = {
    val committed = mutable.HashMap[(String, Int), Long]()
    status.lastCommittedOffsets.forEach { (topic, partitions) =>
      partitions.forEach((partition, offset) => committed((topic, partition.toInt)) = offset.longValue)
    }
    new QueryGroupStatus(
      queryId,
      runId,
      queryName.orNull,
      status.group,
      bootstrapServers,
      helperRestarts,
      status.commitsSucceeded,
      status.commitsFailed,
      status.lastAttemptFailed,
      status.pendingPartitions,
      status.inFlight,
      status.parked,
      Option(status.lastCommittedBatchId).fold(-1L)(_.longValue),
      Option(status.lastCommitEpochMillis).fold(-1L)(_.longValue),
      Option(status.lastCommitLatencyMillis).fold(-1L)(_.longValue),
      status.lastCommitMetadata,
      committed.toMap,
      status.lastErrorKind,
      status.lastErrorMessage,
      Option(status.lastErrorRetriable).exists(_.booleanValue),
      lastBatch.flatMap(_.byGroup.get(status.group)).getOrElse(Map.empty),
      lastBatch.fold(0.0)(_.processedRowsPerSecond))
  }
}

/** What a run's last progress event says about lag: per group, latest minus end offset of each partition. */
private[spark] final case class BatchLag(
    batchId: Long,
    processedRowsPerSecond: Double,
    byGroup: Map[String, Map[(String, Int), Long]])

/** The few JSON pieces the status document needs (no JSON library: Spark's differ between its lines). */
private[spark] object Json {
  def string(value: String): String =
    if (value == null) "null"
    else {
      val out = new StringBuilder("\"")
      value.foreach {
        case '"' => out ++= "\\\""
        case '\\' => out ++= "\\\\"
        case c if c < 0x20 => out ++= f"\\u${c.toInt}%04x"
        case c => out += c
      }
      out.append('"').toString
    }

  def optional(value: Long): String = if (value < 0) "null" else value.toString

  def number(value: Double): String = if (value.isNaN || value.isInfinite) "null" else value.toString

  def offsets(byPartition: Map[(String, Int), Long]): String =
    byPartition.groupBy(_._1._1).toSeq.sortBy(_._1).map { case (topic, partitions) =>
      string(topic) + ":" + partitions.toSeq.sortBy(_._1._2).map { case ((_, partition), offset) =>
        s""""$partition":$offset"""
      }.mkString("{", ",", "}")
    }.mkString("{", ",", "}")
}
