package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.concurrent.{CountDownLatch, TimeUnit}

import scala.collection.mutable

import org.scalatest.funsuite.AnyFunSuite

class CommitWorkerSuite extends AnyFunSuite {

  private def task(body: => Unit): Runnable = new Runnable { def run(): Unit = body }

  test("runs tasks in order and survives failing tasks") {
    val worker = new CommitWorker(capacity = 10, () => System.nanoTime())
    val seen = mutable.Buffer[Int]()
    assert(worker.submit(task(seen += 1)))
    assert(worker.submit(task(throw new NoSuchMethodError("a LinkageError from reflection"))))
    assert(worker.submit(task(seen += 2)))
    assert(worker.awaitProcessed(Duration.ofSeconds(10)))
    assert(seen == Seq(1, 2))
  }

  test("a full queue drops tasks without blocking, and counts them") {
    val worker = new CommitWorker(capacity = 2, () => System.nanoTime())
    val release = new CountDownLatch(1)
    val running = new CountDownLatch(1)
    assert(worker.submit(task { running.countDown(); release.await() }))
    assert(running.await(10, TimeUnit.SECONDS))
    assert(worker.submit(task(())))
    assert(worker.submit(task(())))
    assert(!worker.submit(task(())))
    // The barrier task of awaitProcessed is dropped too (it is counted), so it reports false at
    // once instead of waiting behind the blocked task.
    assert(!worker.awaitProcessed(Duration.ofSeconds(10)))
    assert(worker.droppedCount == 2)
    release.countDown()
    // The queue frees up as the worker catches up; until then even the barrier task is dropped.
    // Generous deadline: this checks recovery, not speed, and CI machines can be loaded.
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
    while (!worker.awaitProcessed(Duration.ofSeconds(10)) && System.nanoTime() < deadline) Thread.sleep(10)
    assert(worker.awaitProcessed(Duration.ofSeconds(60)))
  }
}
