package io.kafkaoffsetcommitter.spark

import java.util.{Locale, UUID}

import org.apache.spark.sql.streaming.StreamingQueryProgress

/** Where a source's offsets go: a Kafka cluster with its client settings, and a consumer group. */
private[spark] final case class CommitTarget(params: Map[String, String], group: String)

/**
 * One distinct source of a run: its `toString` and, for Kafka sources with a group, its target.
 * `sparkTokenClasses` is set when the target logs in with Spark's delegation token: the loader of the source's
 * class, through which the token's renewal is checked at every progress event.
 */
private[spark] final case class BoundSource(
    description: String,
    target: Option[CommitTarget],
    sparkTokenClasses: Option[ClassLoader] = None)

/**
 * One source entry of a progress event; `endOffset` is null while the source has none. `latestOffset` (the newest
 * offsets the source saw when the batch was planned) is null when the source reported none.
 */
private[spark] final case class SourceEnd(description: String, endOffset: String, latestOffset: String = null)

/** What the listener keeps of a progress event: it is copied on the listener thread. */
private[spark] final case class ProgressSnapshot(
    queryId: UUID,
    runId: UUID,
    queryName: Option[String],
    batchId: Long,
    sources: IndexedSeq[SourceEnd],
    processedRowsPerSecond: Double = 0.0)

private[spark] object ProgressSnapshot {
  def apply(progress: StreamingQueryProgress): ProgressSnapshot =
    ProgressSnapshot(
      progress.id,
      progress.runId,
      Option(progress.name),
      progress.batchId,
      progress.sources.toVector.map(source => SourceEnd(source.description, source.endOffset, source.latestOffset)),
      if (progress.processedRowsPerSecond.isNaN) 0.0 else progress.processedRowsPerSecond)
}

/** The pure part of turning a progress event into commits. */
private[spark] object CommitPlan {

  /** The Kafka source option naming the group to commit to (the older Scala-only listener's key). */
  val CommitGroupOption = "kafka.consumer.commit.groupid"

  /** [[CommitGroupOption]] as it arrives in the Kafka params: Spark strips the `kafka.` prefix. */
  val CommitGroupParam: String = CommitGroupOption.stripPrefix("kafka.")

  // Consumer settings Spark adds for its own clients, and our own key: none belongs to a commit.
  private val ParamsNotForCommits = Set(
    "group.id", "key.deserializer", "value.deserializer", "auto.offset.reset", "enable.auto.commit",
    "max.poll.records", CommitGroupParam)

  /**
   * Spark lists one entry per source reference, so a self-union repeats an object; progress events
   * list `sources.distinct`: each source once, in first-seen order, sources that are `equals` counting
   * as one (Spark's own rule, so pairing must use it too, not identity).
   */
  def distinctSources[A](items: Seq[A]): Vector[A] = items.distinct.toVector

  /**
   * Whether progress entries pair with the run's sources by position: the same count, and the same
   * description wherever offsets would be committed.
   */
  def isAligned(bound: IndexedSeq[BoundSource], sources: IndexedSeq[SourceEnd]): Boolean =
    bound.length == sources.length &&
      bound.indices.forall(i => bound(i).target.isEmpty || bound(i).description == sources(i).description)

  /**
   * The targets fed by one source only, with that source's end offsets as Spark wrote them (not parsed:
   * see [[RunCommits.commitUnparsed]]), in first-seen order. A target of several sources, or of a
   * source without end offsets or with none of a partition, is left to [[groupCommits]].
   */
  def unmergedSources(bound: IndexedSeq[BoundSource], sources: IndexedSeq[SourceEnd]): Vector[(CommitTarget, String)] = {
    val perSource = bound.zip(sources).flatMap { case (boundSource, source) =>
      boundSource.target.map(_ -> Option(source.endOffset))
    }.toVector
    perSource.collect {
      case (target, Some(json)) if perSource.count(_._1 == target) == 1 && PartitionEntry.findFirstIn(json).isDefined =>
        target -> json
    }
  }

  // A key followed by a number: only a partition's entry has that form (a topic's value is an object).
  private val PartitionEntry = "\"\\s*:\\s*-?[0-9]".r

  /**
   * One entry per target with the merged end offsets of its sources, in first-seen order. Sources
   * without a target, without end offsets or with unparsable ones (reported) are left out.
   */
  def groupCommits(bound: IndexedSeq[BoundSource], sources: IndexedSeq[SourceEnd])(
      onUnparsable: (SourceEnd, IllegalArgumentException) => Unit): Vector[(CommitTarget, KafkaOffsets)] = {
    val perSource = bound.zip(sources).flatMap { case (boundSource, source) =>
      for {
        target <- boundSource.target
        json <- Option(source.endOffset)
        offsets <- parse(json, source, onUnparsable)
      } yield target -> offsets
    }
    perSource
      .foldLeft(Vector.empty[(CommitTarget, KafkaOffsets)]) { case (grouped, (target, offsets)) =>
        grouped.indexWhere(_._1 == target) match {
          case -1 => grouped :+ (target -> offsets)
          case i => grouped.updated(i, target -> grouped(i)._2.merge(offsets))
        }
      }
      .filterNot(_._2.isEmpty)
  }

  /**
   * Per group, the records each partition was behind when the batch ended: the source's latest offset minus its
   * end offset, from the progress event alone. Sources without both offsets are left out; two sources reading a
   * partition for one group count the larger lag (the group's committed offset is the smaller end).
   */
  def groupLags(bound: IndexedSeq[BoundSource], sources: IndexedSeq[SourceEnd]): Map[String, Map[(String, Int), Long]] = {
    val perSource = bound.zip(sources).flatMap { case (boundSource, source) =>
      for {
        target <- boundSource.target
        end <- quietly(source.endOffset)
        latest <- quietly(source.latestOffset)
      } yield target.group -> (for {
        (topic, partitions) <- end.byTopic.toSeq
        (partition, endOffset) <- partitions.toSeq
        latestOffset <- latest.byTopic.get(topic).flatMap(_.get(partition))
      } yield (topic, partition) -> math.max(0L, latestOffset - endOffset))
    }
    perSource.groupBy(_._1).map { case (group, lags) =>
      group -> lags.flatMap(_._2).groupBy(_._1).map { case (partition, values) => partition -> values.map(_._2).max }
    }
  }

  private def quietly(json: String): Option[KafkaOffsets] =
    Option(json).flatMap(text => try Some(KafkaOffsets.parse(text)) catch { case _: IllegalArgumentException => None })

  private def parse(
      json: String,
      source: SourceEnd,
      onUnparsable: (SourceEnd, IllegalArgumentException) => Unit): Option[KafkaOffsets] =
    try Some(KafkaOffsets.parse(json))
    catch {
      case e: IllegalArgumentException =>
        onUnparsable(source, e)
        None
    }

  /** The group set with the source option; DSv2 lower-cases param keys, DSv1 keeps the user's case. */
  def groupFromSourceOption(sourceParams: Map[String, String]): Option[String] =
    sourceParams.collectFirst { case (key, group) if key.equalsIgnoreCase(CommitGroupParam) && group.nonEmpty => group }

  /** The template with `{queryName}` and `{queryId}` filled in; None if it needs a name the query lacks. */
  def groupFromTemplate(template: String, queryName: Option[String], queryId: UUID): Option[String] =
    if (template.contains("{queryName}") && queryName.isEmpty) None
    else Some(template.replace("{queryName}", queryName.getOrElse("")).replace("{queryId}", queryId.toString))

  /** Kafka params with keys lower-cased, so DSv1 and DSv2 sources of one cluster share a client. */
  def lowerCaseKeys(params: Map[String, String]): Map[String, String] =
    params.map { case (key, value) => key.toLowerCase(Locale.ROOT) -> value }

  /**
   * The settings for the commit client: the source's Kafka params (keys lower-cased) without
   * consumer-only ones, what Spark's delegation token sets for the source's own clients over them
   * (`sparkTokenSettings`), the commit client's own settings from the Spark conf over both, plus
   * engine settings.
   */
  def commitParams(
      sourceParams: Map[String, String],
      commitClient: CommitClientSettings,
      engineSettings: Map[String, String],
      sparkTokenSettings: Map[String, String] = Map.empty): Map[String, String] = {
    val source = (lowerCaseKeys(sourceParams) ++ sparkTokenSettings).filter { case (key, _) => !ParamsNotForCommits(key) }
    source ++ commitClient.forBootstrapServers(source.get("bootstrap.servers")) ++ engineSettings
  }
}

/**
 * Kafka settings for the commit clients only (keys lower-cased): for every cluster, and per cluster named by its
 * bootstrap servers. Values may hold credentials: `toString` shows keys only.
 */
private[spark] final case class CommitClientSettings(
    everyCluster: Map[String, String] = Map.empty,
    byCluster: Seq[(Set[String], Map[String, String])] = Seq.empty) {

  /** The settings for a source reading from `bootstrapServers` (a cluster's settings over every cluster's). */
  def forBootstrapServers(bootstrapServers: Option[String]): Map[String, String] = {
    val servers = bootstrapServers.fold(Set.empty[String])(CommitClientSettings.servers)
    byCluster.foldLeft(everyCluster) { case (settings, (clusterServers, clusterSettings)) =>
      if (clusterServers.exists(servers)) settings ++ clusterSettings else settings
    }
  }

  override def toString: String =
    s"CommitClientSettings(every cluster: ${everyCluster.keys.toSeq.sorted.mkString(", ")}; " +
      byCluster.map { case (servers, settings) =>
        s"${servers.toSeq.sorted.mkString(",")}: ${settings.keys.toSeq.sorted.mkString(", ")}"
      }.mkString("; ") + ")"
}

private[spark] object CommitClientSettings {

  /** `host:port` entries of a bootstrap list, compared without case and spaces. */
  def servers(bootstrapServers: String): Set[String] =
    bootstrapServers.split(',').iterator.map(_.trim.toLowerCase(Locale.ROOT)).filter(_.nonEmpty).toSet
}
