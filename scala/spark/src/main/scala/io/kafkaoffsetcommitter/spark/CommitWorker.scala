package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.concurrent.{CompletableFuture, ConcurrentHashMap, CountDownLatch, LinkedBlockingQueue, ThreadFactory, ThreadPoolExecutor, TimeUnit, TimeoutException}
import java.util.concurrent.atomic.{AtomicInteger, AtomicLong}

import org.slf4j.LoggerFactory

import io.kafkaoffsetcommitter.OffsetCommitter

/**
 * A daemon thread running the listener's work in order, fed without ever blocking Spark's listener bus.
 *
 * Two kinds of work, so that memory stays bounded without losing what matters:
 *  - lifecycle tasks (a query run's start and termination, flush and shutdown barriers) are never
 *    dropped; there are at most two per query run, plus one per caller waiting on a barrier;
 *  - progress tasks are keyed (by listener and query run) and coalesced: while one waits, a newer one of
 *    the same key takes its place in the queue (Spark's end offsets are cumulative, so the latest batch
 *    says everything), and at most `capacity` keys wait at once; beyond that a progress task is dropped
 *    with a counted, rate-limited warning.
 *
 * Terminated runs flush and close their committers on a separate small pool ([[closeInBackground]]),
 * so a cluster that takes long to confirm (or never does) delays no other query's commits. Committers
 * open on another small pool ([[openInBackground]]): opening a new cluster starts its helper process,
 * which can hang for the core's start timeout, and must not hold up the other queries either.
 */
private[spark] final class CommitWorker(
    capacity: Int,
    nanoClock: () => Long,
    maxConcurrentCloses: Int = CommitWorker.DefaultMaxConcurrentCloses,
    maxConcurrentOpens: Int = CommitWorker.DefaultMaxConcurrentOpens,
    uncaughtErrors: Thread.UncaughtExceptionHandler = CommitWorker.LogUncaught) {
  import CommitWorker._

  // Guarded by `lock`: the queue in order, and the newest progress task of each key with a slot in it.
  private val lock = new Object
  private val entries = new java.util.ArrayDeque[Entry]()
  private val pendingProgress = new java.util.HashMap[AnyRef, Runnable]()

  private val dropped = new AtomicLong()
  private val coalesced = new AtomicLong()
  private val unidentified = new AtomicLong()
  private val nextDropWarningNanos = new AtomicLong(nanoClock())

  private val thread = new Thread(new Runnable { def run(): Unit = work() }, "kafka-offset-committer")
  thread.setDaemon(true)
  thread.setUncaughtExceptionHandler(uncaughtErrors)
  thread.start()

  private val closing = ConcurrentHashMap.newKeySet[CompletableFuture[java.lang.Boolean]]()
  private val closers = daemonPool("close", maxConcurrentCloses)

  // Opens whose outcome is not yet queued for the worker thread.
  private val opening = ConcurrentHashMap.newKeySet[CompletableFuture[Void]]()
  private val openers = daemonPool("open", maxConcurrentOpens)

  private def daemonPool(role: String, threads: Int): ThreadPoolExecutor = {
    val pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
      new LinkedBlockingQueue[Runnable](), new ThreadFactory {
        private val count = new AtomicInteger()
        def newThread(r: Runnable): Thread = {
          val t = new Thread(r, s"kafka-offset-committer-$role-${count.incrementAndGet()}")
          t.setDaemon(true)
          t.setUncaughtExceptionHandler(uncaughtErrors)
          t
        }
      })
    pool.allowCoreThreadTimeOut(true)
    pool
  }

  /**
   * Queues a task that must run (a run's start or termination, a barrier). Never blocks and never
   * drops it while the worker lives; false only if the worker thread died (a VM error).
   */
  def submitLifecycle(task: Runnable): Boolean = lock.synchronized {
    if (!thread.isAlive) false
    else {
      entries.addLast(Lifecycle(task))
      lock.notifyAll()
      true
    }
  }

  /**
   * Queues the progress task of `key`, replacing its waiting one if any (which then keeps its place).
   * False if it was dropped: `capacity` other keys are waiting, or the worker thread died.
   */
  def submitProgress(key: AnyRef, task: Runnable): Boolean = {
    val accepted = lock.synchronized {
      if (!thread.isAlive) false
      else if (pendingProgress.containsKey(key)) {
        pendingProgress.put(key, task)
        coalesced.incrementAndGet()
        true
      } else if (pendingProgress.size >= capacity) false
      else {
        pendingProgress.put(key, task)
        entries.addLast(ProgressSlot(key))
        lock.notifyAll()
        true
      }
    }
    if (!accepted) warnDropped()
    accepted
  }

  private def warnDropped(): Unit = {
    val total = dropped.incrementAndGet()
    val warnAt = nextDropWarningNanos.get()
    if (nanoClock() - warnAt >= 0 && nextDropWarningNanos.compareAndSet(warnAt, nanoClock() + DropWarningInterval.toNanos))
      log.warn(s"Kafka offset committer queue is full ($capacity query runs with progress waiting): $total " +
        s"progress events dropped so far, their commits are skipped until the run's next one. Raise " +
        s"${KafkaOffsetCommitterListener.QueueCapacityKey} if this persists.")
  }

  def droppedCount: Long = dropped.get()

  /** Tasks waiting for the worker thread (a waiting run's coalesced progress counts once). */
  def queueDepth: Int = lock.synchronized(entries.size)

  /** Sources of query runs whose offsets cannot be committed because the listener cannot tell what they read. */
  def unidentifiedCount: Long = unidentified.get()

  def countUnidentified(sources: Int): Unit = unidentified.addAndGet(sources.toLong)

  /** Progress events that a newer one of the same run replaced before they were handled. */
  def coalescedCount: Long = coalesced.get()

  /** Waits until every task submitted before this call has run; false on timeout. */
  def awaitProcessed(timeout: Duration): Boolean = {
    val done = new CountDownLatch(1)
    submitLifecycle(new Runnable { def run(): Unit = done.countDown() }) &&
      done.await(timeout.toNanos, TimeUnit.NANOSECONDS)
  }

  /**
   * Runs `open` on the open pool, never on the worker thread; its outcome completes the returned
   * future, and then `onWorker` is queued as a lifecycle task, so what follows an open runs on the
   * worker thread like everything else.
   */
  def openInBackground[T](open: () => T, onWorker: Runnable): CompletableFuture[T] = {
    val result = new CompletableFuture[T]()
    val handedBack = new CompletableFuture[Void]()
    opening.add(handedBack)
    handedBack.whenComplete((_, _) => opening.remove(handedBack))
    val task = new Runnable {
      def run(): Unit =
        try result.complete(open())
        catch {
          case Recoverable(e) => result.completeExceptionally(e)
          case fatal: Throwable =>
            result.completeExceptionally(fatal)
            throw fatal
        } finally {
          submitLifecycle(onWorker)
          handedBack.complete(null)
        }
    }
    try openers.execute(task)
    catch {
      case Recoverable(e) => // the pool refused it (cannot happen with its unbounded queue): fail the open, never lose it
        result.completeExceptionally(e)
        submitLifecycle(onWorker)
        handedBack.complete(null)
    }
    result
  }

  /**
   * Waits until every open started before this call has ended and queued its follow-up on the worker
   * (an [[awaitProcessed]] afterwards sees it run); false on timeout.
   */
  def awaitOpens(timeout: Duration): Boolean = {
    val deadline = nanoClock() + timeout.toNanos
    opening.toArray(new Array[CompletableFuture[Void]](0)).forall { open =>
      try { open.get(math.max(0L, deadline - nanoClock()), TimeUnit.NANOSECONDS); true }
      catch { case _: TimeoutException => false }
    }
  }

  /**
   * Runs `close` (a terminated run's flush and release) on the close pool, never on the worker thread;
   * its result (false also when it failed) completes the future.
   */
  def closeInBackground(close: () => Boolean): CompletableFuture[java.lang.Boolean] = {
    val result = new CompletableFuture[java.lang.Boolean]()
    closing.add(result)
    result.whenComplete((_, _) => closing.remove(result))
    try {
      closers.execute(new Runnable {
        def run(): Unit =
          try result.complete(close())
          catch {
            case Recoverable(e) =>
              log.warn("Kafka offset committer: closing a finished query's committers failed", e)
              result.complete(false)
            case fatal: Throwable =>
              result.complete(false)
              throw fatal
          }
      })
    } catch {
      case Recoverable(e) => // the pool refused it: cannot happen with its unbounded queue, but never lose the future
        log.warn("Kafka offset committer: cannot close a finished query's committers", e)
        result.complete(false)
    }
    result
  }

  /** Waits for every close started before this call; false if one failed or did not end in time. */
  def awaitCloses(timeout: Duration): Boolean =
    awaitAll(closing.toArray(new Array[CompletableFuture[java.lang.Boolean]](0)).toSeq, nanoClock() + timeout.toNanos)

  /** What JVM exit needs: every queued event handled, then every close in progress done. */
  def drain(timeout: Duration): Boolean = {
    val deadline = nanoClock() + timeout.toNanos
    val processed = awaitProcessed(timeout)
    awaitCloses(Duration.ofNanos(math.max(0L, deadline - nanoClock()))) && processed
  }

  /** True if each future completed with true before the deadline. */
  def awaitAll(futures: Seq[CompletableFuture[java.lang.Boolean]], deadlineNanos: Long): Boolean =
    futures.map { future =>
      try future.get(math.max(0L, deadlineNanos - nanoClock()), TimeUnit.NANOSECONDS).booleanValue
      catch { case _: TimeoutException => false }
    }.forall(identity)

  private def work(): Unit =
    while (true) {
      val task = lock.synchronized {
        while (entries.isEmpty) lock.wait()
        entries.pollFirst() match {
          case Lifecycle(task) => task
          case ProgressSlot(key) => pendingProgress.remove(key)
        }
      }
      try task.run()
      catch { case Recoverable(e) => log.warn("Kafka offset committer task failed", e) }
      // A VirtualMachineError ends the thread (see uncaughtErrors); later submissions are refused.
    }
}

private[spark] object CommitWorker {
  private sealed trait Entry
  private final case class Lifecycle(task: Runnable) extends Entry
  private final case class ProgressSlot(key: AnyRef) extends Entry

  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])
  private val DropWarningInterval = Duration.ofMinutes(1)
  val DefaultMaxConcurrentCloses = 4
  val DefaultMaxConcurrentOpens = 4

  /**
   * How long the core's exit hook waits for the drain that Spark's shutdown hook manager runs:
   * SparkContext's stop comes first there, and Hadoop gives all of Spark's hooks together 30 s by
   * default (`hadoop.service.shutdown.timeout`).
   */
  private val SparkShutdownAllowance = Duration.ofSeconds(30)

  private val LogUncaught = new Thread.UncaughtExceptionHandler {
    def uncaughtException(t: Thread, e: Throwable): Unit =
      log.error(s"Kafka offset committer thread ${t.getName} died; no more offsets are committed in this JVM", e)
  }

  private var shared: CommitWorker = _

  /**
   * The one worker of this JVM, shared by the listener instances of all sessions. The first caller's
   * settings apply.
   *
   * At JVM exit it gets up to `flushTimeoutOnTermination` to hand over its last events, in this order:
   * Spark's shutdown hook manager stops the SparkContext (priority 50), which delivers every event
   * posted before; then, at [[SparkInternals.AfterSparkContextStopPriority]], this worker drains;
   * only then does the core's own exit hook, which runs its `runBeforeShutdown` tasks first, flush
   * and destroy the native clients. The core's hook runs concurrently with Spark's, so its task waits
   * for the drain. Without Spark's manager the core's task drains by itself.
   */
  def sharedWorker(config: ListenerConfig): CommitWorker = synchronized {
    if (shared == null) {
      val worker = new CommitWorker(config.queueCapacity, () => System.nanoTime())
      installExitDrain(worker, config.flushTimeoutOnTermination)
      shared = worker
    }
    shared
  }

  private def installExitDrain(worker: CommitWorker, drainWait: Duration): Unit = {
    val drained = new CountDownLatch(1)
    val drain = () =>
      try {
        if (!worker.drain(drainWait))
          log.warn(s"Kafka offset committer: the last events were not all handed over within ${drainWait.toMillis} ms at exit")
      } finally drained.countDown()
    val viaSpark = SparkInternals.addSparkShutdownHook(SparkInternals.AfterSparkContextStopPriority)(drain).isDefined
    OffsetCommitter.runBeforeShutdown(new Runnable {
      def run(): Unit =
        if (!viaSpark) drain()
        else if (!drained.await(SparkShutdownAllowance.plus(drainWait).toNanos, TimeUnit.NANOSECONDS)) {
          log.warn("Kafka offset committer: Spark's shutdown hooks did not finish in time; draining now")
          drain()
        }
    })
  }
}
