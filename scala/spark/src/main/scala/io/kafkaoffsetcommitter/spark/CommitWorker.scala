package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.concurrent.{ArrayBlockingQueue, CountDownLatch, TimeUnit}
import java.util.concurrent.atomic.AtomicLong

import org.slf4j.LoggerFactory

import io.kafkaoffsetcommitter.OffsetCommitter

/**
 * A daemon thread running tasks in order from a bounded queue. Listener callbacks only submit:
 * submitting never blocks, and a full queue drops the task with a counted, rate-limited warning,
 * so a slow broker or a burst of events can never slow Spark's listener bus.
 */
private[spark] final class CommitWorker(capacity: Int, nanoClock: () => Long) {
  import CommitWorker._

  private val queue = new ArrayBlockingQueue[Runnable](capacity)
  private val dropped = new AtomicLong()
  private val nextDropWarningNanos = new AtomicLong(nanoClock())

  private val thread = new Thread(new Runnable { def run(): Unit = work() }, "kafka-offset-committer")
  thread.setDaemon(true)
  thread.start()

  /** Queues `task`; false if the queue was full and the task was dropped. */
  def submit(task: Runnable): Boolean = {
    val accepted = queue.offer(task)
    if (!accepted) {
      val total = dropped.incrementAndGet()
      val warnAt = nextDropWarningNanos.get()
      if (nanoClock() - warnAt >= 0 && nextDropWarningNanos.compareAndSet(warnAt, nanoClock() + DropWarningInterval.toNanos))
        log.warn(s"Kafka offset committer queue is full ($capacity events): $total events dropped so far, " +
          s"their commits are skipped. Raise ${KafkaOffsetCommitterListener.QueueCapacityKey} if this persists.")
    }
    accepted
  }

  def droppedCount: Long = dropped.get()

  /** Waits until every task submitted before this call has run; false on timeout or a full queue. */
  def awaitProcessed(timeout: Duration): Boolean = {
    val done = new CountDownLatch(1)
    submit(new Runnable { def run(): Unit = done.countDown() }) && done.await(timeout.toNanos, TimeUnit.NANOSECONDS)
  }

  private def work(): Unit =
    while (true) {
      val task = queue.take()
      try task.run()
      catch { case e: Throwable => log.warn("Kafka offset committer task failed", e) }
    }
}

private[spark] object CommitWorker {
  private val log = LoggerFactory.getLogger(classOf[KafkaOffsetCommitterListener])
  private val DropWarningInterval = Duration.ofMinutes(1)

  private var shared: CommitWorker = _

  /**
   * The one worker of this JVM, shared by the listener instances of all sessions. The first caller's
   * settings apply. At JVM exit it gets up to `shutdownWait` to finish queued work, so a query that
   * ended just before (e.g. Trigger.AvailableNow) still gets its final commits flushed.
   */
  def sharedWorker(capacity: Int, shutdownWait: Duration): CommitWorker = synchronized {
    if (shared == null) {
      val worker = new CommitWorker(capacity, () => System.nanoTime())
      // Through the core's own hook, which closes the native clients only after this has run.
      OffsetCommitter.runBeforeShutdown(new Runnable { def run(): Unit = worker.awaitProcessed(shutdownWait) })
      shared = worker
    }
    shared
  }
}
