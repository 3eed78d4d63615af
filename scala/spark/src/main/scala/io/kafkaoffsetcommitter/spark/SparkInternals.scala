package io.kafkaoffsetcommitter.spark

import java.lang.reflect.{Field, InvocationTargetException}
import java.util.UUID
import java.util.regex.Pattern

import org.apache.spark.{SPARK_VERSION, SparkConf, SparkEnv}
import org.apache.spark.sql.SparkSession
import org.slf4j.LoggerFactory

/**
 * Every access to Spark internals, by reflection, so that one jar links on Spark 3.5 through 4.3.
 * No other file of this module names a Spark class that is not public API.
 *
 * Names per Spark line (`ses` = `org.apache.spark.sql.execution.streaming`):
 *
 * | what                              | 3.5                         | 4.0                         | 4.1, 4.2, 4.3                       |
 * |-----------------------------------|-----------------------------|-----------------------------|-------------------------------------|
 * | session class with `sharedState()`| `sql.SparkSession`          | `sql.classic.SparkSession`  | `sql.classic.SparkSession`          |
 * | queries of all sessions           | `sql.internal.SharedState.activeStreamingQueries()`: `ConcurrentHashMap[UUID, StreamExecution]` | same | same |
 * | query of one session (fallback)   | `streams()`: `sql.streaming.StreamingQueryManager` | `sql.classic.StreamingQueryManager` | as 4.0 |
 * | its `get(UUID)`                   | `ses.StreamingQueryWrapper` | same                        | `ses.runtime.StreamingQueryWrapper` |
 * | wrapper to execution              | `streamingQuery()`          | same                        | same                                |
 * | sources of a micro-batch query    | `ses.MicroBatchExecution.sources()`: `collection.Seq` | same, `immutable.Seq` | `ses.runtime.MicroBatchExecution.sources()`: `immutable.Seq` |
 * | continuous execution              | `ses.continuous.ContinuousExecution` | same               | same                                |
 * | async progress tracking           | `ses.AsyncProgressTrackingMicroBatchExecution` | same     | `ses.runtime.AsyncProgressTrackingMicroBatchExecution` |
 * | JVM exit hooks with priorities    | `o.a.s.util.ShutdownHookManager$.addShutdownHook(int, Function0)`, `removeShutdownHook(Object)`; SparkContext stops at 50 | same | same |
 *
 * Methods are looked up on the runtime class by name, so only the last two rows need class names.
 * Real-time mode (4.1+, `Trigger.RealTime`) runs in `MicroBatchExecution` too: its plan scans each source
 * with a `RealTimeStreamScanExec` instead of a `MicroBatchScanExec`, but `sources()` lists the same
 * streams, and each batch posts one progress event with their merged end offsets, so it needs no name of
 * its own. Spark 4.2 refuses async progress tracking in real-time mode (4.1 accepts it, and then the
 * execution is the async one, which the async warning names).
 * A class that moves again ([[MovableSparkClass]]) is reported once, naming the Spark version.
 *
 * Kafka connector, `org.apache.spark.sql.kafka010`, the same on every line (`javap -p` on
 * spark-sql-kafka-0-10 3.5.7 for Scala 2.12, 3.5.9, 4.0.0 and 4.2.0 for Scala 2.13):
 *
 * | class                          | offset reader field | fallback params field   |
 * |--------------------------------|---------------------|-------------------------|
 * | `KafkaMicroBatchStream` (DSv2) | `kafkaOffsetReader` | `executorKafkaParams`   |
 * | `KafkaSource` (DSv1)           | `kafkaReader`       | `executorKafkaParams`   |
 * | `KafkaContinuousStream`        | not read: continuous queries post no progress events | |
 *
 * The reader (`KafkaOffsetReaderAdmin` or `KafkaOffsetReaderConsumer`) has a public
 * `driverKafkaParams(): java.util.Map[String, Object]`. The fallback also accepts a field named
 * `...$$executorKafkaParams`, which is what Scala calls a constructor parameter used by an inner class.
 *
 * Spark's Kafka delegation tokens, `org.apache.spark.kafka010` in spark-token-provider-kafka-0-10 (which the
 * connector depends on), all `private[spark]` but public in bytecode, the same on 3.5.7 (2.12) and 4.2.0 (2.13):
 * `KafkaTokenUtil$.findMatchingTokenClusterConfig(SparkConf, String): Option[KafkaTokenClusterConf]`,
 * `needTokenUpdate(java.util.Map[String, Object], Option[KafkaTokenClusterConf])`,
 * `isGlobalJaasConfigurationProvided()`; `KafkaTokenSparkConf$.getAllClusterConfigs(SparkConf)`;
 * `new KafkaConfigUpdater(String, immutable.Map[String, Object]).setAuthenticationConfigIfNeeded(Option).build()`;
 * `KafkaTokenClusterConf.identifier()`, `.targetServersRegex()`.
 */
private[spark] object SparkInternals {

  private val StreamingPackage = "org.apache.spark.sql.execution.streaming."
  private val RuntimePackage = StreamingPackage + "runtime." // 4.1+

  private val ContinuousExecution =
    new MovableSparkClass("continuous execution", Seq(StreamingPackage + "continuous.ContinuousExecution"))
  private val AsyncProgressTracking = new MovableSparkClass("async progress tracking",
    Seq(RuntimePackage, StreamingPackage).map(_ + "AsyncProgressTrackingMicroBatchExecution"))
  /** The execution classes recognised by name; each must resolve on every supported Spark. */
  val MovableExecutionClasses: Seq[MovableSparkClass] = Seq(ContinuousExecution, AsyncProgressTracking)

  private val KafkaPackage = "org.apache.spark.sql.kafka010."
  private val KafkaMicroBatchStreamClass = KafkaPackage + "KafkaMicroBatchStream"
  private val KafkaSourceClass = KafkaPackage + "KafkaSource"
  private val KafkaContinuousStreamClass = KafkaPackage + "KafkaContinuousStream"

  private val OffsetReaderFields = Map(
    KafkaMicroBatchStreamClass -> "kafkaOffsetReader",
    KafkaSourceClass -> "kafkaReader")
  private val ExecutorParamsField = "executorKafkaParams"

  private val ShutdownHookManagerObject = "org.apache.spark.util.ShutdownHookManager$"

  private val TokenPackage = "org.apache.spark.kafka010."
  private val TokenUtilObject = TokenPackage + "KafkaTokenUtil$"
  private val TokenSparkConfObject = TokenPackage + "KafkaTokenSparkConf$"
  private val ConfigUpdaterClass = TokenPackage + "KafkaConfigUpdater"
  /** Spark's delegation-token clusters: `spark.kafka.clusters.<id>.auth.bootstrap.servers` and the like. */
  val SparkTokenClustersPrefix = "spark.kafka.clusters."

  /**
   * A priority in Spark's shutdown hook manager that runs after SparkContext's own hook
   * (`SPARK_CONTEXT_SHUTDOWN_PRIORITY` = 50: `SparkContext.stop()` stops the listener bus, which first
   * delivers every event posted before) and before the temporary folders go (25). Spark runs its
   * hooks one after another, highest priority first, on one thread (Hadoop's shutdown hook).
   */
  val AfterSparkContextStopPriority = 40

  /**
   * Registers `hook` with Spark's own shutdown hook manager (`private[spark]`, hence reflection);
   * returns its handle for [[removeSparkShutdownHook]], or None if Spark's manager is out of reach
   * (or the JVM is already exiting).
   */
  def addSparkShutdownHook(priority: Int)(hook: () => Unit): Option[AnyRef] =
    try {
      val manager = sparkShutdownHookManager()
      val add = manager.getClass.getMethod("addShutdownHook", Integer.TYPE, classOf[scala.Function0[_]])
      Option(add.invoke(manager, Int.box(priority), hook))
    } catch { case Recoverable(_) => None }

  /** Undoes [[addSparkShutdownHook]]; true if the hook was registered. */
  def removeSparkShutdownHook(handle: AnyRef): Boolean =
    try {
      val manager = sparkShutdownHookManager()
      manager.getClass.getMethod("removeShutdownHook", classOf[AnyRef]).invoke(manager, handle) == java.lang.Boolean.TRUE
    } catch { case Recoverable(_) => false }

  private def sparkShutdownHookManager(): AnyRef =
    Class.forName(ShutdownHookManagerObject, true, classOf[SparkSession].getClassLoader).getField("MODULE$").get(null)

  /** How Spark's own clients of a Kafka source log in with Spark's delegation tokens. */
  sealed trait SparkTokenLogin
  /** No `spark.kafka.clusters.*` cluster targets the source's servers (or a JVM-wide JAAS file is used instead). */
  case object NoSparkToken extends SparkTokenLogin
  /**
   * Spark's clients of the source use the token of `cluster`: the settings Spark's `KafkaConfigUpdater` sets
   * (JAAS entry, mechanism, security protocol if unset). The values hold the token: `toString` names keys only.
   */
  final case class SparkTokenSettings(cluster: String, settings: Map[String, String]) extends SparkTokenLogin {
    override def toString: String = s"SparkTokenSettings($cluster: ${settings.keys.toSeq.sorted.mkString(", ")})"
  }
  /** Clusters target the source's servers, but the driver's credentials hold no token for them. */
  final case class SparkTokenMissing(clusters: Seq[String]) extends SparkTokenLogin
  /** Spark's token code is out of reach or failed (e.g. another Spark line, two tokens matching). */
  final case class SparkTokenUnusable(error: Throwable) extends SparkTokenLogin

  /**
   * What Spark's token code adds to a Kafka source's `params` (keys lower-cased) for its clients: the rule
   * Spark's clients follow (`KafkaConfigUpdater.setAuthenticationConfigIfNeeded`, which takes the token from the
   * current user's `UserGroupInformation` credentials). `classes` is the loader of the source's class, which
   * sees the connector's dependencies. Nothing is looked up without a `spark.kafka.clusters.*` setting.
   */
  def sparkTokenLogin(params: Map[String, String], classes: ClassLoader): SparkTokenLogin =
    sparkConfWithTokenClusters match {
      case None => NoSparkToken
      case Some(conf) =>
        try {
          val bootstrap = params.getOrElse("bootstrap.servers", "")
          val util = scalaObject(TokenUtilObject, classes)
          matchingTokenCluster(util, conf, bootstrap) match {
            case found @ Some(_) =>
              val updater = Class.forName(ConfigUpdaterClass, true, classes)
                .getConstructor(classOf[String], classOf[scala.collection.immutable.Map[_, _]])
                .newInstance("kafka-offset-committer", params).asInstanceOf[AnyRef]
              updater.getClass.getMethod("setAuthenticationConfigIfNeeded", classOf[Option[_]]).invoke(updater, found)
              val set = stringify(invoke(updater, "build").asInstanceOf[java.util.Map[_, _]])
                .filter { case (key, value) => !params.get(key).contains(value) }
              if (set.isEmpty) NoSparkToken else SparkTokenSettings(clusterId(found.get), set)
            case None if invoke(util, "isGlobalJaasConfigurationProvided") == java.lang.Boolean.TRUE => NoSparkToken
            case None =>
              val servers = bootstrap.split(',').map(_.trim).filter(_.nonEmpty)
              val configs = invoke(scalaObject(TokenSparkConfObject, classes), "getAllClusterConfigs", conf)
                .asInstanceOf[scala.collection.Iterable[AnyRef]]
              // Spark's own matching rule (findMatchingTokenClusterConfig), here for clusters without a token.
              val targeting = configs.filter { cluster =>
                val regex = Pattern.compile(String.valueOf(invoke(cluster, "targetServersRegex")))
                servers.exists(regex.matcher(_).matches())
              }.map(clusterId).toSeq.sorted
              if (targeting.isEmpty) NoSparkToken else SparkTokenMissing(targeting)
          }
        } catch { case Recoverable(e) => SparkTokenUnusable(unwrapped(e)) }
    }

  /**
   * Whether commit `params` that carry a token's settings ([[SparkTokenSettings]]) no longer hold the token
   * Spark's clients use now (Spark replaced it, or it is gone): Spark's own check `needTokenUpdate`. False when
   * it cannot tell (the failure shows when the commit's login fails).
   */
  def sparkTokenRenewed(params: Map[String, String], classes: ClassLoader): Boolean =
    sparkConfWithTokenClusters.exists { conf =>
      try {
        val util = scalaObject(TokenUtilObject, classes)
        val found = matchingTokenCluster(util, conf, params.getOrElse("bootstrap.servers", ""))
        val javaParams = new java.util.HashMap[String, AnyRef]()
        params.foreach { case (key, value) => javaParams.put(key, value) }
        found.isEmpty || util.getClass.getMethod("needTokenUpdate", classOf[java.util.Map[_, _]], classOf[Option[_]])
          .invoke(util, javaParams, found) == java.lang.Boolean.TRUE
      } catch { case Recoverable(_) => false }
    }

  // SparkEnv's conf is the one Spark's own Kafka clients read, on the driver as on executors.
  private def sparkConfWithTokenClusters: Option[SparkConf] =
    Option(SparkEnv.get).map(_.conf).filter(_.getAllWithPrefix(SparkTokenClustersPrefix).nonEmpty)

  private def matchingTokenCluster(util: AnyRef, conf: SparkConf, bootstrap: String): Option[AnyRef] =
    util.getClass.getMethod("findMatchingTokenClusterConfig", classOf[SparkConf], classOf[String])
      .invoke(util, conf, bootstrap).asInstanceOf[Option[AnyRef]]

  private def clusterId(cluster: AnyRef): String = String.valueOf(invoke(cluster, "identifier"))

  private def scalaObject(name: String, classes: ClassLoader): AnyRef =
    Class.forName(name, true, classes).getField("MODULE$").get(null)

  // Spark's own failures (e.g. `require`) arrive wrapped by reflection.
  private def unwrapped(e: Throwable): Throwable = e match {
    case wrapped: InvocationTargetException if wrapped.getCause != null => wrapped.getCause
    case other => other
  }

  /** What a streaming source is, as far as committing goes. */
  sealed trait SourceKind
  /** A micro-batch Kafka source with its Kafka client params (`kafka.` prefix already removed). */
  final case class KafkaSourceParams(params: Map[String, String]) extends SourceKind
  case object ContinuousKafkaSource extends SourceKind
  final case class UnreadableKafkaSource(error: Throwable) extends SourceKind
  case object OtherSource extends SourceKind

  /**
   * The `StreamExecution` of a running query of any session of this JVM's SparkContext, or None.
   * Call it while the query runs (in `onQueryStarted`): both lookups miss once it has stopped.
   */
  def findExecution(queryId: UUID): Option[AnyRef] =
    SparkSession.getActiveSession.orElse(SparkSession.getDefaultSession).flatMap { session =>
      val shared =
        try fromSharedState(session, queryId)
        catch { case Recoverable(_) => None } // e.g. a session class without sharedState: try its own queries
      shared.orElse(fromSessionStreams(session, queryId))
    }

  // Sees the queries of every session (a session's `streams` sees only its own).
  private def fromSharedState(session: AnyRef, queryId: UUID): Option[AnyRef] = {
    val sharedState = invoke(session, "sharedState")
    val running = invoke(sharedState, "activeStreamingQueries").asInstanceOf[java.util.Map[UUID, AnyRef]]
    Option(running.get(queryId))
  }

  private def fromSessionStreams(session: AnyRef, queryId: UUID): Option[AnyRef] = {
    val manager = invoke(session, "streams")
    Option(invoke(manager, "get", queryId)).map(wrapper => invoke(wrapper, "streamingQuery"))
  }

  def isContinuous(execution: AnyRef): Boolean = ContinuousExecution.isClassOf(execution)

  def isAsyncProgressTracking(execution: AnyRef): Boolean = AsyncProgressTracking.isClassOf(execution)

  /**
   * The execution's sources as Spark lists them (one element per source reference in the plan,
   * so a self-union repeats an object). Empty until the first batch has been planned.
   */
  def sources(execution: AnyRef): Seq[AnyRef] = {
    val all = invoke(execution, "sources").asInstanceOf[scala.collection.Iterable[AnyRef]]
    all.iterator.toVector
  }

  def sourceKind(source: AnyRef): SourceKind =
    classNames(source.getClass).find(name =>
      name == KafkaMicroBatchStreamClass || name == KafkaSourceClass || name == KafkaContinuousStreamClass
    ) match {
      case None => OtherSource
      case Some(KafkaContinuousStreamClass) => ContinuousKafkaSource
      case Some(kafkaClass) =>
        try KafkaSourceParams(stringify(kafkaParams(source, kafkaClass)))
        catch { case Recoverable(e) => UnreadableKafkaSource(e) }
    }

  private def kafkaParams(source: AnyRef, kafkaClass: String): java.util.Map[_, _] = {
    val declaringClass = classHierarchy(source.getClass).find(_.getName == kafkaClass).get
    def viaOffsetReader: Option[AnyRef] =
      try {
        declaredField(declaringClass, _ == OffsetReaderFields(kafkaClass))
          .flatMap(field => Option(field.get(source)))
          .map(reader => invoke(reader, "driverKafkaParams"))
      } catch { case Recoverable(_) => None }
    def viaExecutorParamsField: Option[AnyRef] =
      declaredField(declaringClass, name => name == ExecutorParamsField || name.endsWith("$$" + ExecutorParamsField))
        .map(_.get(source))
    viaOffsetReader.orElse(viaExecutorParamsField) match {
      case Some(params: java.util.Map[_, _]) => params
      case other => throw new IllegalStateException(s"no Kafka params found in $kafkaClass (got $other)")
    }
  }

  // Values are mostly strings; Spark adds a few numbers (e.g. receive.buffer.bytes).
  private def stringify(params: java.util.Map[_, _]): Map[String, String] = {
    val builder = Map.newBuilder[String, String]
    val entries = params.asInstanceOf[java.util.Map[AnyRef, AnyRef]].entrySet.iterator
    while (entries.hasNext) {
      val entry = entries.next()
      builder += String.valueOf(entry.getKey) -> (entry.getValue match {
        case c: Class[_] => c.getName
        case v => String.valueOf(v)
      })
    }
    builder.result()
  }

  private def invoke(target: AnyRef, method: String, args: AnyRef*): AnyRef = {
    val m = target.getClass.getMethod(method, args.map(_.getClass): _*)
    // The method can be declared by a class that is not public (e.g. a Scala trait's impl class).
    m.setAccessible(true)
    m.invoke(target, args: _*)
  }

  private def declaredField(cls: Class[_], nameMatches: String => Boolean): Option[Field] =
    cls.getDeclaredFields.find(f => nameMatches(f.getName)).map { field =>
      field.setAccessible(true)
      field
    }

  private def classNames(cls: Class[_]): Iterator[String] = classHierarchy(cls).map(_.getName)

  private def classHierarchy(cls: Class[_]): Iterator[Class[_]] =
    Iterator.iterate[Class[_]](cls)(_.getSuperclass).takeWhile(_ != null)

  /**
   * A Spark class that executions are recognised by, under every name it has had on a supported line.
   * Spark moves such classes between releases (4.1.0 moved the executions to `...streaming.runtime`, later
   * patches moved stragglers). If none of the names exists on the running Spark, the class moved again:
   * the first check says so in one warning naming the Spark version, and every check answers false, as for
   * an execution of another kind; nothing is thrown.
   */
  final class MovableSparkClass(val what: String, val names: Seq[String]) {

    /** The warning given when no name exists on this Spark; None when one does. */
    lazy val movedWarning: Option[String] =
      if (names.exists(loadable)) None
      else {
        val warning = s"Spark $SPARK_VERSION has none of the classes ${names.mkString(", ")}: the class moved (or is " +
          s"gone) in this Spark release, so the offset committer cannot recognise $what; please report this line"
        log.warn(warning)
        Some(warning)
      }

    def isClassOf(obj: AnyRef): Boolean = movedWarning.isEmpty && classNames(obj.getClass).exists(names.contains)

    private def loadable(name: String): Boolean =
      try {
        Class.forName(name, false, classOf[SparkSession].getClassLoader)
        true
      } catch { case Recoverable(_) => false }
  }

  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])
}
