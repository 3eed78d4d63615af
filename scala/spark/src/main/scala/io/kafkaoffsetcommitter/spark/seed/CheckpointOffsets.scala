package io.kafkaoffsetcommitter.spark.seed

import java.io.{BufferedReader, InputStreamReader}
import java.nio.charset.StandardCharsets

import scala.collection.immutable.SortedMap
import scala.util.Try

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}

/**
 * What a streaming query's checkpoint says it processed: the last batch in its commit log (`commits/<id>`)
 * and that batch's end offsets in its offset log (`offsets/<id>`: a version line, the batch metadata, then
 * one line per source in the query's source order, `-` for a source without offsets).
 *
 * A batch in the offset log without a commit entry was planned but not finished (the query stopped or
 * crashed in it): its offsets are not what the query processed, so the last *committed* batch counts.
 *
 * @param kafkaSources the end offsets of each source whose line is Kafka's (`{"topic":{"0":42}}`), by the
 *                     source's position in the offset log
 * @param plannedNotCommitted batches after the last committed one that are in the offset log only
 */
final case class CheckpointOffsets(
    checkpoint: String,
    queryId: Option[String],
    batchId: Long,
    kafkaSources: SortedMap[Int, Map[String, Map[Int, Long]]],
    otherSources: Seq[Int],
    plannedNotCommitted: Seq[Long])

object CheckpointOffsets {
  private val mapper = new ObjectMapper()
  private val BatchFile = "^[0-9]+$".r

  /** Reads the checkpoint at `location` through the Hadoop file system its scheme names (HDFS, S3A, ABFS, local). */
  def read(location: String, hadoopConf: Configuration): Either[String, CheckpointOffsets] = {
    val root = new Path(location)
    val fs = root.getFileSystem(hadoopConf)
    if (!fs.exists(root)) return Left(s"no checkpoint at $location")
    val committed = batchIds(fs, new Path(root, "commits"))
    val planned = batchIds(fs, new Path(root, "offsets"))
    committed.lastOption match {
      case None =>
        Left(s"the checkpoint $location has no committed batch (its commit log ${new Path(root, "commits")} is empty): nothing to seed")
      case Some(batch) if !planned.contains(batch) =>
        Left(s"batch $batch is in the commit log of $location but not in its offset log")
      case Some(batch) =>
        val lines = readLines(fs, new Path(new Path(root, "offsets"), batch.toString))
        if (lines.headOption.forall(!_.startsWith("v"))) {
          Left(s"offsets/$batch of $location does not start with a version line (v1): not a Spark offset log")
        } else {
          val sources = lines.drop(2).zipWithIndex
          val kafka = sources.flatMap { case (line, index) => kafkaOffsets(line).map(index -> _) }
          Right(CheckpointOffsets(
            checkpoint = location,
            queryId = queryId(fs, root),
            batchId = batch,
            kafkaSources = SortedMap(kafka: _*),
            otherSources = sources.map(_._2).filterNot(kafka.map(_._1).toSet),
            plannedNotCommitted = planned.filter(_ > batch)))
        }
    }
  }

  /** A source's offset line as Kafka end offsets, or None when it is another source's (or `-`). */
  def kafkaOffsets(line: String): Option[Map[String, Map[Int, Long]]] =
    Try(mapper.readTree(line)).toOption.filter(node => node != null && node.isObject && node.size > 0).flatMap { root =>
      val topics = fieldsOf(root).map { case (topic, partitions) =>
        val parsed =
          if (!partitions.isObject || partitions.size == 0) None
          else {
            val each = fieldsOf(partitions).map { case (partition, offset) =>
              Try(partition.toInt).toOption.filter(_ >= 0).zip(integral(offset)).headOption
            }
            if (each.forall(_.isDefined)) Some(each.flatten.toMap) else None
          }
        parsed.map(topic -> _)
      }
      if (topics.forall(_.isDefined)) Some(topics.flatten.toMap) else None
    }

  // Iterated by hand: the Java collection converters differ between Scala 2.12 and 2.13.
  private def fieldsOf(node: JsonNode): List[(String, JsonNode)] = {
    val fields = List.newBuilder[(String, JsonNode)]
    val each = node.fields()
    while (each.hasNext) {
      val field = each.next()
      fields += field.getKey -> field.getValue
    }
    fields.result()
  }

  private def integral(node: JsonNode): Option[Long] =
    if (node.isIntegralNumber && node.canConvertToLong) Some(node.asLong) else None

  private def batchIds(fs: FileSystem, dir: Path): Seq[Long] =
    if (!fs.exists(dir)) Nil
    else fs.listStatus(dir).toSeq.map(_.getPath.getName).collect { case name @ BatchFile() => name.toLong }.sorted

  private def queryId(fs: FileSystem, root: Path): Option[String] = {
    val metadata = new Path(root, "metadata")
    if (!fs.exists(metadata)) None
    else Try(mapper.readTree(readLines(fs, metadata).mkString("\n")).path("id").asText("")).toOption.filter(_.nonEmpty)
  }

  private def readLines(fs: FileSystem, file: Path): List[String] = {
    val reader = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))
    try Iterator.continually(reader.readLine()).takeWhile(_ != null).toList
    finally reader.close()
  }
}
