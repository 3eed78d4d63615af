package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.concurrent.{CompletableFuture, CountDownLatch, TimeUnit}

import scala.collection.mutable

import org.scalatest.funsuite.AnyFunSuite

class CommitWorkerSuite extends AnyFunSuite {

  // Generous: these bound waits for liveness on a loaded machine; no test measures time.
  private val Patience = Duration.ofSeconds(60)

  private def task(body: => Unit): Runnable = new Runnable { def run(): Unit = body }

  /** A worker whose thread is held by a task until `release` is called. */
  private final class Held(capacity: Int) {
    val uncaught = new CompletableFuture[Throwable]()
    val worker = new CommitWorker(capacity, () => System.nanoTime(), uncaughtErrors = new Thread.UncaughtExceptionHandler {
      def uncaughtException(t: Thread, e: Throwable): Unit = uncaught.complete(e)
    })
    private val gate = new CountDownLatch(1)
    private val running = new CountDownLatch(1)
    assert(worker.submitLifecycle(task { running.countDown(); gate.await() }))
    assert(running.await(Patience.toMillis, TimeUnit.MILLISECONDS))
    def release(): Unit = gate.countDown()
  }

  test("runs tasks in order and survives failing tasks, LinkageErrors included") {
    val worker = new CommitWorker(capacity = 10, () => System.nanoTime())
    val seen = mutable.Buffer[Int]()
    assert(worker.submitLifecycle(task(seen += 1)))
    assert(worker.submitProgress("run", task(throw new NoSuchMethodError("a LinkageError from reflection"))))
    assert(worker.submitLifecycle(task(throw new IllegalStateException("a bug"))))
    assert(worker.submitLifecycle(task(seen += 2)))
    assert(worker.awaitProcessed(Patience))
    assert(seen == Seq(1, 2))
  }

  test("a full queue never drops lifecycle tasks or barriers; progress beyond capacity is dropped and counted") {
    val held = new Held(capacity = 2)
    val seen = mutable.Buffer[String]()
    assert(held.worker.submitProgress("run-1", task(seen += "progress 1")))
    assert(held.worker.submitProgress("run-2", task(seen += "progress 2")))
    assert(!held.worker.submitProgress("run-3", task(seen += "progress 3")), "a third run's progress exceeds capacity 2")
    assert(held.worker.droppedCount == 1)
    // Started, terminated and any number of them: accepted although progress is at capacity.
    for (i <- 1 to 50) assert(held.worker.submitLifecycle(task(seen += s"lifecycle $i")))
    val barrier = new CompletableFuture[Boolean]()
    val waiter = new Thread(new Runnable { def run(): Unit = barrier.complete(held.worker.awaitProcessed(Patience)) })
    waiter.start()
    held.release()
    assert(barrier.get(Patience.toMillis, TimeUnit.MILLISECONDS), "the barrier was not dropped")
    assert(seen == Seq("progress 1", "progress 2") ++ (1 to 50).map(i => s"lifecycle $i"))
    assert(held.worker.droppedCount == 1)
  }

  test("progress of one run is coalesced: the latest wins and keeps the first one's place") {
    val held = new Held(capacity = 1)
    val seen = mutable.Buffer[String]()
    assert(held.worker.submitLifecycle(task(seen += "started")))
    for (batch <- 0 to 99) assert(held.worker.submitProgress("run", task(seen += s"batch $batch")))
    assert(held.worker.submitLifecycle(task(seen += "terminated")))
    held.release()
    assert(held.worker.awaitProcessed(Patience))
    assert(seen == Seq("started", "batch 99", "terminated"))
    assert(held.worker.coalescedCount == 99 && held.worker.droppedCount == 0)
    // Once handled, the run's next progress queues anew.
    assert(held.worker.submitProgress("run", task(seen += "batch 100")))
    assert(held.worker.awaitProcessed(Patience))
    assert(seen.last == "batch 100")
  }

  test("a VirtualMachineError is not swallowed: it ends the worker, which then refuses work instead of queueing it") {
    val held = new Held(capacity = 10)
    assert(held.worker.submitLifecycle(task(throw new StackOverflowError("injected"))))
    held.release()
    assert(held.uncaught.get(Patience.toMillis, TimeUnit.MILLISECONDS).isInstanceOf[StackOverflowError])
    // The thread is gone: nothing accumulates for it, and waiting says so at once.
    val deadline = System.nanoTime() + Patience.toNanos
    while (held.worker.submitLifecycle(task(())) && System.nanoTime() < deadline) Thread.sleep(10)
    assert(!held.worker.submitLifecycle(task(())))
    assert(!held.worker.submitProgress("run", task(())))
    assert(!held.worker.awaitProcessed(Patience))
  }

  test("closes run beside the worker: a close that does not return holds up no other task") {
    val worker = new CommitWorker(capacity = 10, () => System.nanoTime())
    val closeMayReturn = new CountDownLatch(1)
    val closeStarted = new CountDownLatch(1)
    val closed = worker.closeInBackground { () => closeStarted.countDown(); closeMayReturn.await(); true }
    assert(closeStarted.await(Patience.toMillis, TimeUnit.MILLISECONDS))
    val seen = mutable.Buffer[String]()
    assert(worker.submitProgress("other run", task(seen += "other query's batch")))
    assert(worker.awaitProcessed(Patience))
    assert(seen == Seq("other query's batch") && !closed.isDone, "the other task ran while the close was still going")
    closeMayReturn.countDown()
    assert(worker.drain(Patience), "drain waits for the close")
    assert(closed.isDone && closed.get.booleanValue)
  }

  test("a failing close completes false, and drain does not wait for it again") {
    val worker = new CommitWorker(capacity = 10, () => System.nanoTime())
    val closed = worker.closeInBackground(() => throw new UnsatisfiedLinkError("injected"))
    assert(!closed.get(Patience.toMillis, TimeUnit.MILLISECONDS).booleanValue)
    assert(worker.drain(Patience), "a finished close no longer counts")
  }

  test("an open runs beside the worker and its follow-up on the worker thread, also when the open fails") {
    val worker = new CommitWorker(capacity = 10, () => System.nanoTime())
    val workerThread = new CompletableFuture[Thread]()
    assert(worker.submitLifecycle(task(workerThread.complete(Thread.currentThread()))))
    val openedOn = new CompletableFuture[Thread]()
    val followedOn = mutable.Buffer[Thread]()
    val opened = worker.openInBackground(() => { openedOn.complete(Thread.currentThread()); "committer" },
      task(followedOn.synchronized(followedOn += Thread.currentThread())))
    val failed = worker.openInBackground[String](() => throw new UnsatisfiedLinkError("injected"),
      task(followedOn.synchronized(followedOn += Thread.currentThread())))
    assert(worker.awaitOpens(Patience) && worker.awaitProcessed(Patience))
    assert(opened.get == "committer" && failed.isCompletedExceptionally)
    val worker_ = workerThread.get
    assert(openedOn.get != worker_ && openedOn.get.getName.startsWith("kafka-offset-committer-open-"))
    assert(followedOn.synchronized(followedOn.toList) == Seq(worker_, worker_))
  }
}
