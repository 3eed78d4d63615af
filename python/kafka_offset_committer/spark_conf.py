"""Puts the listener on a SparkSession: the jar this wheel carries for the installed Spark's Scala version, and the
listener class in spark.sql.streaming.streamingQueryListeners, each appended to what the builder already holds."""

import glob
import os
import re
from importlib import resources
from pathlib import Path
from typing import Optional

LISTENER_CLASS = "io.kafkaoffsetcommitter.spark.KafkaOffsetCommitterListener"
JARS_KEY = "spark.jars"
LISTENERS_KEY = "spark.sql.streaming.streamingQueryListeners"
SCALA_VERSIONS = ("2.12", "2.13")

_SCALA_LIBRARY = re.compile(r"scala-library-(2\.1[23])\.")


class ScalaVersionUnknown(RuntimeError):
    """Neither the Spark installation nor the caller says which Scala binary version Spark was built for."""


def _spark_jars_folders():
    """Where the Spark that pyspark starts keeps its jars: $SPARK_HOME/jars when set (pyspark then runs that
    Spark), else the jars inside the pyspark package."""
    spark_home = os.environ.get("SPARK_HOME")
    if spark_home:
        yield Path(spark_home) / "jars"
    try:
        import pyspark
    except ImportError:
        return
    yield Path(pyspark.__file__).resolve().parent / "jars"


def spark_scala_version() -> str:
    """The Scala binary version of the Spark pyspark starts: read from its scala-library jar, else from pyspark's
    release (3.x is built for 2.12, 4.x for 2.13)."""
    for folder in _spark_jars_folders():
        for jar in sorted(glob.glob(str(folder / "scala-library-*.jar"))):
            found = _SCALA_LIBRARY.search(os.path.basename(jar))
            if found:
                return found.group(1)
    try:
        import pyspark
    except ImportError:
        raise ScalaVersionUnknown("pyspark is not installed and SPARK_HOME holds no scala-library jar: pass "
                                  "scala_version='2.12' (Spark 3.5) or '2.13' (Spark 4)") from None
    major = pyspark.__version__.split(".", 1)[0]
    if major == "3":
        return "2.12"
    if major == "4":
        return "2.13"
    raise ScalaVersionUnknown(f"pyspark {pyspark.__version__} is neither Spark 3 nor 4: pass scala_version")


def jar_path(scala_version: Optional[str] = None) -> str:
    """The listener jar this package carries (for `spark-submit --jars`), for the given Scala binary version or
    the installed Spark's. Each jar holds the native core for linux-x86_64 and linux-aarch64."""
    scala_version = scala_version or spark_scala_version()
    if scala_version not in SCALA_VERSIONS:
        raise ValueError(f"scala_version must be one of {', '.join(SCALA_VERSIONS)}, not {scala_version!r}")
    folder = resources.files(__package__) / "jars"
    names = [entry.name for entry in folder.iterdir()] if folder.is_dir() else []
    matching = sorted(name for name in names
                      if name.startswith(f"kafka-offset-committer-spark_{scala_version}-") and name.endswith(".jar"))
    if len(matching) != 1:
        raise FileNotFoundError(f"expected one listener jar for Scala {scala_version} in {folder}, found "
                                f"{matching or 'none'}: this is not an installed wheel of kafka_offset_committer "
                                f"(build one with build/wheel.sh)")
    return str(Path(str(folder)) / matching[0])


def _appended(existing: Optional[str], item: str) -> str:
    """A comma-separated list with `item` at its end, unless it already holds it."""
    items = [part.strip() for part in (existing or "").split(",") if part.strip()]
    if item not in items:
        items.append(item)
    return ",".join(items)


def configure(builder, scala_version: Optional[str] = None):
    """Adds the listener to a SparkSession builder and returns the builder:

        spark = kafka_offset_committer.configure(SparkSession.builder.appName("etl")).getOrCreate()

    spark.jars gets this package's listener jar (for the installed Spark's Scala version unless `scala_version`
    names one), spark.sql.streaming.streamingQueryListeners the listener class, each appended to a value the
    builder already holds. Call it before getOrCreate(): a running session keeps the jars it started with. Then name
    a group on each Kafka source with .option("kafka.consumer.commit.groupid", "...")."""
    # The builder keeps what .config() was given in _options (pyspark 3.5 and 4.x); reading it is the only way to
    # append rather than replace.
    options = getattr(builder, "_options", {})
    builder.config(JARS_KEY, _appended(options.get(JARS_KEY), jar_path(scala_version)))
    builder.config(LISTENERS_KEY, _appended(options.get(LISTENERS_KEY), LISTENER_CLASS))
    return builder
