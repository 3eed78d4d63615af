package io.kafkaoffsetcommitter.spark

import java.nio.file.{Files, Path, Paths}

import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.streaming.Trigger
import org.scalatest.Tag
import org.scalatest.funsuite.AnyFunSuite

import io.kafkaoffsetcommitter.NativePlatform

/**
 * Many SparkSessions started and stopped in one JVM, each stopped while its query's commits may
 * still be pending: nothing crashes and nothing of ours accumulates. Counted before and after the
 * cycles (the first cycle warms up): helper processes (one per open cluster, zombies included) and
 * their threads, this JVM's file descriptors and its threads named by us.
 *
 * It stops SparkContexts and counts this process's descriptors, so build.sbt runs it in a JVM of its own.
 * `-Dkoc.session.cycles=N` sets the number of cycles (default 50). Tagged [[SessionCycles]]: `make test`
 * runs it on one Spark version only.
 */
class SessionCyclesSuite extends AnyFunSuite with BrokerAndSpark {
  import SessionCyclesSuite._

  private val cycles = sys.props.get("koc.session.cycles").map(_.toInt).getOrElse(50)

  test(s"$cycles SparkSession start/stop cycles with pending commits leak no helpers, threads or descriptors",
    SessionCycles) {
    val topic = kafka.createTopic(unique("cycles"), 2)
    kafka.produce(topic, 200)
    val started = System.nanoTime()
    runCycle(topic, 0)
    val before = awaitSettled(None)
    for (cycle <- 1 to cycles) runCycle(topic, cycle)
    val after = awaitSettled(Some(before))
    info(f"$cycles cycles in ${(System.nanoTime() - started) / 1e9}%.1f s; before: $before; after: $after")
    assert(after.helperProcesses <= before.helperProcesses, s"helper processes leaked: $before -> $after")
    assert(after.helperThreads <= before.helperThreads + HelperThreadSlack, s"helper threads leaked: $before -> $after")
    assert(after.descriptors <= before.descriptors + DescriptorSlack,
      s"descriptors leaked: $before -> $after; now open: ${Resources.descriptorKinds()}")
    assert(after.ourJvmThreads <= before.ourJvmThreads + JvmThreadSlack, s"our JVM threads leaked: $before -> $after")
  }

  /** A session of its own runs a rate-limited query, stopped a few batches in, without waiting for its commits. */
  private def runCycle(topic: String, cycle: Int): Unit = {
    val session = SparkSession.builder()
      .master("local[2]")
      .appName(s"kafka-offset-committer-cycle-$cycle")
      .config("spark.ui.enabled", "false")
      .config("spark.sql.shuffle.partitions", "2")
      .config("spark.sql.streaming.streamingQueryListeners", classOf[KafkaOffsetCommitterListener].getName)
      // Spark's Kafka source keeps its consumers (a socket and an epoll descriptor each) in a pool of the
      // JVM that outlives every SparkContext and closes idle ones after 5 minutes: close them at once,
      // so that only descriptors of ours could add up.
      .config("spark.kafka.consumer.cache.timeout", "1s")
      .config("spark.kafka.consumer.cache.evictorThreadRunInterval", "1s")
      .getOrCreate()
    try {
      val query = kafkaStream(session, "subscribe" -> topic, "kafka.consumer.commit.groupid" -> unique("cycle-group"),
        "maxOffsetsPerTrigger" -> "20")
        .writeStream.format("noop").trigger(Trigger.ProcessingTime(0))
        .option("checkpointLocation", Files.createTempDirectory("koc-cycle").toString).start()
      while (query.isActive && query.recentProgress.count(_.numInputRows > 0) < BatchesPerCycle) Thread.sleep(20)
      assert(query.exception.isEmpty, s"cycle $cycle: the query failed")
      query.stop()
    } finally {
      session.stop()
      SparkSession.clearActiveSession()
      SparkSession.clearDefaultSession()
    }
  }

  /**
   * The counts once two samples a few seconds apart agree (and, after the cycles, are within the
   * baseline's slack): the closes of the last cycle's committers finish in the background, and Spark's
   * consumer pool closes idle consumers about two seconds after their last use.
   */
  @annotation.tailrec
  private def awaitSettled(baseline: Option[Resources], previous: Resources = Resources.now(),
      deadline: Long = System.nanoTime() + SettleWaitNanos): Resources = {
    Thread.sleep(SettleSampleMillis)
    val current = Resources.now()
    if ((current == previous && baseline.forall(current.within)) || System.nanoTime() > deadline) current
    else awaitSettled(baseline, current, deadline)
  }
}

object SessionCycles extends Tag("io.kafkaoffsetcommitter.spark.SessionCycles")

object SessionCyclesSuite {
  private val BatchesPerCycle = 2
  // librdkafka starts a thread per broker connection it opens.
  private val HelperThreadSlack = 2
  private val DescriptorSlack = 4
  // The worker's close pool keeps up to this many idle threads for 30 s after the last closes.
  private val JvmThreadSlack = CommitWorker.DefaultMaxConcurrentCloses
  private val SettleSampleMillis = 3000L
  private val SettleWaitNanos = 60L * 1000 * 1000 * 1000

  final case class Resources(helperProcesses: Int, helperThreads: Int, descriptors: Int, ourJvmThreads: Int) {
    def within(baseline: Resources): Boolean =
      helperProcesses <= baseline.helperProcesses && helperThreads <= baseline.helperThreads + HelperThreadSlack &&
        descriptors <= baseline.descriptors + DescriptorSlack && ourJvmThreads <= baseline.ourJvmThreads + JvmThreadSlack
  }

  object Resources {
    def now(): Resources = {
      val helpers = helperPids()
      Resources(helpers.size, helpers.map(pid => entries(Paths.get(s"/proc/$pid/task")).size).sum,
        entries(Paths.get("/proc/self/fd")).size,
        Thread.getAllStackTraces.keySet.toArray(Array.empty[Thread]).count(_.getName.startsWith("kafka-offset-committer")))
    }

    /** This JVM's children running the helper executable, exited-but-unreaped ones included. */
    private def helperPids(): Seq[String] = {
      val self = Paths.get("/proc/self").toRealPath().getFileName.toString
      entries(Paths.get("/proc")).map(_.getFileName.toString).filter(_.forall(_.isDigit)).filter { pid =>
        try {
          val stat = new String(Files.readAllBytes(Paths.get(s"/proc/$pid/stat")))
          // "pid (comm) state ppid ...", comm being the first 15 bytes of the executable's name.
          val ppid = stat.substring(stat.lastIndexOf(')') + 2).split(' ')(1)
          ppid == self && stat.contains(s"(${NativePlatform.HELPER_FILE_NAME.take(15)}")
        } catch { case _: java.io.IOException => false } // it ended meanwhile
      }
    }

    /** What this JVM's descriptors point at, counted by kind ("pipe", "socket", a file's folder...). */
    def descriptorKinds(): Map[String, Int] =
      entries(Paths.get("/proc/self/fd")).flatMap { fd =>
        try Some(Files.readSymbolicLink(fd).toString.takeWhile(_ != ':').replaceAll("/[^/]*$", "/"))
        catch { case _: java.io.IOException => None }
      }.groupBy(identity).map { case (kind, all) => kind -> all.size }

    private def entries(dir: Path): Seq[Path] =
      try {
        val listing = Files.newDirectoryStream(dir)
        try { val paths = Seq.newBuilder[Path]; listing.forEach(p => paths += p); paths.result() }
        finally listing.close()
      } catch { case _: java.io.IOException => Nil }
  }
}
