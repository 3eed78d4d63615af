package io.kafkaoffsetcommitter.spark

import java.lang.reflect.Field
import java.util.UUID

import org.apache.spark.sql.SparkSession

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
 */
private[spark] object SparkInternals {

  private val StreamingPackage = "org.apache.spark.sql.execution.streaming."
  private val RuntimePackage = StreamingPackage + "runtime." // 4.1+

  private val ContinuousExecutionClass = StreamingPackage + "continuous.ContinuousExecution"
  private val AsyncProgressTrackingClasses =
    Seq(RuntimePackage, StreamingPackage).map(_ + "AsyncProgressTrackingMicroBatchExecution")

  private val KafkaPackage = "org.apache.spark.sql.kafka010."
  private val KafkaMicroBatchStreamClass = KafkaPackage + "KafkaMicroBatchStream"
  private val KafkaSourceClass = KafkaPackage + "KafkaSource"
  private val KafkaContinuousStreamClass = KafkaPackage + "KafkaContinuousStream"

  private val OffsetReaderFields = Map(
    KafkaMicroBatchStreamClass -> "kafkaOffsetReader",
    KafkaSourceClass -> "kafkaReader")
  private val ExecutorParamsField = "executorKafkaParams"

  private val ShutdownHookManagerObject = "org.apache.spark.util.ShutdownHookManager$"

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

  def isContinuous(execution: AnyRef): Boolean = hasClass(execution, Seq(ContinuousExecutionClass))

  def isAsyncProgressTracking(execution: AnyRef): Boolean = hasClass(execution, AsyncProgressTrackingClasses)

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

  private def hasClass(obj: AnyRef, names: Seq[String]): Boolean =
    classNames(obj.getClass).exists(names.contains)

  private def classNames(cls: Class[_]): Iterator[String] = classHierarchy(cls).map(_.getName)

  private def classHierarchy(cls: Class[_]): Iterator[Class[_]] =
    Iterator.iterate[Class[_]](cls)(_.getSuperclass).takeWhile(_ != null)
}
