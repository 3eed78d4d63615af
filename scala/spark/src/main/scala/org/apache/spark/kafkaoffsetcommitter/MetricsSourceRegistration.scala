package org.apache.spark.kafkaoffsetcommitter

import com.codahale.metrics.MetricRegistry

import org.apache.spark.SparkEnv
import org.apache.spark.metrics.source.Source

/**
 * Spark's metrics `Source` is `private[spark]`, so the one class that implements it lives in a package of Spark's.
 * Nothing else here: the metrics themselves are `io.kafkaoffsetcommitter.spark.CommitterMetrics`. `Source` and
 * `MetricsSystem.registerSource` are the same on Spark 3.5 and 4.x.
 */
object MetricsSourceRegistration {

  /** Adds `registry` to the driver's metrics system of `env` as the source `name`; every sink of the application shows it. */
  def register(env: SparkEnv, name: String, registry: MetricRegistry): Unit =
    env.metricsSystem.registerSource(new Source {
      override val sourceName: String = name
      override val metricRegistry: MetricRegistry = registry
    })
}
