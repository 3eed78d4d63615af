package io.kafkaoffsetcommitter.spark

/**
 * What the listener may catch: every throwable except a `VirtualMachineError` (`OutOfMemoryError`,
 * `StackOverflowError`, `InternalError`), which is the JVM's to handle.
 *
 * Wider than `scala.util.control.NonFatal` on purpose: a `LinkageError` (`NoSuchMethodError`,
 * `UnsatisfiedLinkError`) from reflection on another Spark line or from the native library must not
 * escape a listener callback, where Spark's listener bus would let it stop the SparkContext.
 * A caught `InterruptedException` keeps its thread's interrupt flag set.
 */
private[spark] object Recoverable {
  def unapply(error: Throwable): Option[Throwable] = error match {
    case _: VirtualMachineError => None
    case interrupted: InterruptedException =>
      Thread.currentThread().interrupt()
      Some(interrupted)
    case other => Some(other)
  }
}
