package io.kafkaoffsetcommitter.spark.seed

import java.io.FileInputStream
import java.time.Duration
import java.util.Properties

import io.kafkaoffsetcommitter.{CommitMetadata, CommitResult, OffsetCommitter}
import org.apache.hadoop.conf.Configuration
import org.apache.spark.SparkConf

/**
 * Commits the Kafka offsets a streaming query's checkpoint says it processed (its last committed batch) to a
 * consumer group: for queries that ran before the listener was installed, stopped queries, and queries whose
 * trigger posts no progress events (continuous). Run with spark-submit, so the checkpoint is read through any
 * Hadoop file system the cluster can reach, with its `spark.hadoop.*` settings:
 *
 * {{{
 * spark-submit --class io.kafkaoffsetcommitter.spark.seed.SeedGroupFromCheckpoint kafka-offset-committer-spark_2.13-<v>.jar \
 *   --checkpoint s3a://bucket/checkpoints/orders --group orders-app --bootstrap-server broker:9092 \
 *   [--command-config client.properties] [--source N]... [--dry-run] [--timeout SECONDS]
 * }}}
 *
 * Exit codes: 0 committed (or printed with --dry-run, or --help), 1 a partition refused or nothing to commit, 2 bad
 * usage.
 */
object SeedGroupFromCheckpoint {
  val Usage: String =
    """usage: spark-submit --class io.kafkaoffsetcommitter.spark.seed.SeedGroupFromCheckpoint <listener jar>
      |         --checkpoint PATH --group GROUP --bootstrap-server HOST:PORT[,...]
      |         [--command-config FILE] [--source N]... [--dry-run] [--timeout SECONDS]
      |
      |Commits the Kafka end offsets of the checkpoint's last committed batch to GROUP.
      |  --checkpoint PATH        the query's checkpoint location (any Hadoop file system: hdfs://, s3a://, abfs://, file:)
      |  --group GROUP            the consumer group to commit to
      |  --bootstrap-server ...   the Kafka cluster
      |  --command-config FILE    Java Kafka client properties (security.protocol, sasl.*, ssl.*)
      |  --source N               only the N-th source of the query (0-based, as in the offset log); repeatable
      |  --dry-run                print the offsets, commit nothing
      |  --timeout SECONDS        how long to wait for Kafka's answer (30)""".stripMargin

  final case class Options(
      checkpoint: String = null,
      group: String = null,
      bootstrapServers: String = null,
      commandConfig: Option[String] = None,
      sources: Seq[Int] = Nil,
      dryRun: Boolean = false,
      timeoutSeconds: Long = 30)

  def main(args: Array[String]): Unit = sys.exit(run(args.toList))

  def run(args: List[String]): Int =
    if (args.exists(arg => arg == "--help" || arg == "-h")) {
      println(Usage)
      0
    } else parse(args, Options()) match {
      case Left(problem) =>
        System.err.println(s"seed: $problem\n$Usage")
        2
      case Right(options) =>
        CheckpointOffsets.read(options.checkpoint, hadoopConfiguration()) match {
          case Left(problem) =>
            System.err.println(s"seed: $problem")
            1
          case Right(checkpoint) => seed(options, checkpoint)
        }
    }

  private def parse(args: List[String], options: Options): Either[String, Options] = args match {
    case Nil =>
      if (options.checkpoint == null) Left("--checkpoint is required")
      else if (!options.dryRun && (options.group == null || options.bootstrapServers == null))
        Left("--group and --bootstrap-server are required (or --dry-run)")
      else Right(options)
    case "--checkpoint" :: value :: rest => parse(rest, options.copy(checkpoint = value))
    case "--group" :: value :: rest => parse(rest, options.copy(group = value))
    case "--bootstrap-server" :: value :: rest => parse(rest, options.copy(bootstrapServers = value))
    case "--command-config" :: value :: rest => parse(rest, options.copy(commandConfig = Some(value)))
    case "--source" :: value :: rest if value.forall(_.isDigit) && value.nonEmpty =>
      parse(rest, options.copy(sources = options.sources :+ value.toInt))
    case "--timeout" :: value :: rest if value.forall(_.isDigit) && value.nonEmpty =>
      parse(rest, options.copy(timeoutSeconds = value.toLong))
    case "--dry-run" :: rest => parse(rest, options.copy(dryRun = true))
    case other :: _ => Left(s"unknown or incomplete option `$other`")
  }

  /** Hadoop settings as Spark gives them to its own file systems: `spark.hadoop.*` from spark-submit's --conf. */
  private def hadoopConfiguration(): Configuration = {
    val hadoop = new Configuration()
    new SparkConf().getAll.collect {
      case (key, value) if key.startsWith("spark.hadoop.") => hadoop.set(key.stripPrefix("spark.hadoop."), value)
    }
    hadoop
  }

  private def seed(options: Options, checkpoint: CheckpointOffsets): Int = {
    println(s"seed: checkpoint ${checkpoint.checkpoint}${checkpoint.queryId.fold("")(id => s" (query $id)")}: " +
      s"last committed batch ${checkpoint.batchId}")
    if (checkpoint.plannedNotCommitted.nonEmpty) {
      println(s"seed: batch ${checkpoint.plannedNotCommitted.mkString(", ")} planned but not committed: left out")
    }
    checkpoint.otherSources.foreach(index => println(s"seed: source $index is no Kafka source (or has no offsets): left out"))
    val chosen = checkpoint.kafkaSources.filter { case (index, _) => options.sources.isEmpty || options.sources.contains(index) }
    val unknown = options.sources.filterNot(checkpoint.kafkaSources.contains)
    if (unknown.nonEmpty) {
      System.err.println(s"seed: --source ${unknown.mkString(", ")}: no Kafka source at that position " +
        s"(Kafka sources: ${checkpoint.kafkaSources.keys.mkString(", ")})")
      return 1
    }
    if (chosen.isEmpty) {
      System.err.println(s"seed: batch ${checkpoint.batchId} has no Kafka offsets")
      return 1
    }
    chosen.foreach { case (index, offsets) => println(s"seed: source $index: ${render(offsets)}") }
    val merged = chosen.values.flatMap(_.toSeq).groupBy(_._1).map { case (topic, parts) => topic -> parts.flatMap(_._2).toMap }
    val overlapping = merged.keys.filter(topic => chosen.values.count(_.contains(topic)) > 1)
    if (overlapping.nonEmpty) {
      System.err.println(s"seed: topics ${overlapping.mkString(", ")} are read by several sources (other clusters?): " +
        "pick one with --source")
      return 1
    }
    if (options.dryRun) {
      println(s"seed: dry run: would commit ${render(merged)}${Option(options.group).fold("")(g => s" to group $g")}")
      return 0
    }
    commit(options, checkpoint, merged)
  }

  private def commit(options: Options, checkpoint: CheckpointOffsets, offsets: Map[String, Map[Int, Long]]): Int = {
    val settings = new java.util.HashMap[String, String]()
    options.commandConfig.foreach { file =>
      val properties = new Properties()
      val in = new FileInputStream(file)
      try properties.load(in)
      finally in.close()
      val keys = properties.stringPropertyNames().iterator()
      while (keys.hasNext) {
        val key = keys.next()
        settings.put(key, properties.getProperty(key))
      }
    }
    settings.put("bootstrap.servers", options.bootstrapServers)
    val committer = OffsetCommitter.create(settings)
    try {
      // Built by hand: the Java collection converters differ between Scala 2.12 and 2.13.
      val typed = new java.util.HashMap[String, java.util.Map[Integer, java.lang.Long]]()
      for ((topic, partitions) <- offsets) {
        val byPartition = new java.util.HashMap[Integer, java.lang.Long]()
        for ((partition, offset) <- partitions) byPartition.put(partition, offset)
        typed.put(topic, byPartition)
      }
      val metadata = CommitMetadata.forBatch(checkpoint.queryId.getOrElse(""), "seeded-from-checkpoint", checkpoint.batchId)
      val result = committer.commitSync(options.group, typed, metadata, Duration.ofSeconds(options.timeoutSeconds))
      val partitions = result.partitions().toArray(new Array[CommitResult.PartitionResult](0)).toSeq
      val refused = partitions.filterNot(_.isCommitted)
      partitions.sortBy(p => (p.topic, p.partition)).foreach { p =>
        val outcome = if (p.isCommitted) "committed" else s"${p.errorKind}: ${p.errorMessage}"
        println(s"seed: ${options.group} ${p.topic}-${p.partition} ${p.offset} $outcome")
      }
      if (refused.isEmpty) 0 else 1
    } finally committer.close(Duration.ofSeconds(5))
  }

  private def render(offsets: Map[String, Map[Int, Long]]): String =
    offsets.toSeq.sortBy(_._1).map { case (topic, partitions) =>
      partitions.toSeq.sorted.map { case (p, o) => "\"" + p + "\":" + o }.mkString("\"" + topic + "\":{", ",", "}")
    }.mkString("{", ",", "}")
}
