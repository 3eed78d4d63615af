package io.kafkaoffsetcommitter.spark

import java.util.UUID

import scala.collection.mutable
import scala.util.Try

import org.apache.spark.sql.streaming.StreamingQueryListener.QueryTerminatedEvent
import org.scalatest.funsuite.AnyFunSuite

import io.kafkaoffsetcommitter.spark.fakes.FakeCommitterFactory

/** What may leave a listener callback (no Spark session needed: the events are built directly). */
class ListenerCallbacksSuite extends AnyFunSuite {

  private def listenerWhoseWorkerThrows(error: => Throwable) =
    new KafkaOffsetCommitterListener(new FakeCommitterFactory(), () => System.nanoTime(), ListenerConfig(),
      (_: ListenerConfig) => throw error)

  private def terminated = new QueryTerminatedEvent(UUID.randomUUID(), UUID.randomUUID(), None)

  test("a failure in a callback, LinkageErrors included, never reaches Spark's listener bus") {
    val raised = mutable.Buffer[Throwable]()
    def raising(error: Throwable): Throwable = { raised += error; error }
    val failures = Seq(
      new NoSuchMethodError("reflection on another Spark line"),
      new UnsatisfiedLinkError("native library"),
      new IllegalStateException("a bug"))
    for (failure <- failures) {
      val escaped = Try(listenerWhoseWorkerThrows(raising(failure)).onQueryTerminated(terminated))
      assert(escaped.isSuccess, s"$failure left the callback: $escaped")
    }
    assert(raised == failures, "each failure was raised inside the callback, which returned normally")
  }

  test("a VirtualMachineError in a callback is not swallowed") {
    intercept[StackOverflowError](listenerWhoseWorkerThrows(new StackOverflowError("injected")).onQueryTerminated(terminated))
    intercept[OutOfMemoryError](listenerWhoseWorkerThrows(new OutOfMemoryError("injected")).onQueryTerminated(terminated))
  }

  test("a disabled listener does nothing, not even start its worker") {
    new KafkaOffsetCommitterListener(new FakeCommitterFactory(), () => System.nanoTime(), ListenerConfig(enabled = false),
      (_: ListenerConfig) => throw new StackOverflowError("must not be called")).onQueryTerminated(terminated)
  }
}
