package org.apache.spark

import org.apache.spark.sql.SparkSession

/** Test access to Spark's listener bus, which is private to Spark. */
object ListenerBusAccess {

  /** Returns once every event posted so far has been delivered to all listeners. */
  def waitUntilEmpty(session: SparkSession, timeoutMillis: Long = 60000): Unit =
    session.sparkContext.listenerBus.waitUntilEmpty(timeoutMillis)
}
