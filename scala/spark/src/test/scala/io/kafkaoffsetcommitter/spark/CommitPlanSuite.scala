package io.kafkaoffsetcommitter.spark

import java.util.UUID

import scala.collection.mutable

import org.scalatest.funsuite.AnyFunSuite

import io.kafkaoffsetcommitter.EngineSettings

class CommitPlanSuite extends AnyFunSuite {

  private val clusterA = Map("bootstrap.servers" -> "a:9092")
  private val clusterB = Map("bootstrap.servers" -> "b:9092")
  private val queryId = UUID.fromString("00000000-0000-0000-0000-00000000000a")

  private def kafka(description: String, params: Map[String, String], group: String) =
    BoundSource(description, Some(CommitTarget(params, group)))

  private def noGrouping(source: SourceEnd, e: IllegalArgumentException): Unit = fail(s"unexpected: $e")

  test("distinct sources keep the first occurrence of each, in order, equal sources counting as one (Spark's sources.distinct)") {
    final case class Source(name: String)
    val (a, b, c, alsoA) = (Source("a"), Source("b"), Source("c"), Source("a"))
    // A self-union repeats `a`; `alsoA` is another object, but equal to `a`: Spark's progress lists it once.
    val distinct = CommitPlan.distinctSources(Seq(a, b, a, c, b, alsoA))
    assert(distinct.length == 3)
    assert(distinct.zip(Seq(a, b, c)).forall { case (found, expected) => found eq expected })
    // Exactly what Spark does to build the progress entries.
    assert(distinct == Seq(a, b, a, c, b, alsoA).distinct)
  }

  test("lag at a batch's end is the progress event's latest offset minus its end offset, per group and partition") {
    val bound = Vector(kafka("k1", clusterA, "g"), kafka("k2", clusterA, "g"), kafka("k3", clusterB, "h"),
      BoundSource("memory", None))
    val sources = Vector(
      SourceEnd("k1", """{"t":{"0":10,"1":20}}""", """{"t":{"0":15,"1":20}}"""),
      // A second source of the same group on t-0 is further behind: the group's lag is the larger one.
      SourceEnd("k2", """{"t":{"0":8},"u":{"0":1}}""", """{"t":{"0":15},"u":{"0":4}}"""),
      // No latest offset reported: no lag, rather than a guess.
      SourceEnd("k3", """{"v":{"0":3}}""", null),
      SourceEnd("memory", "0", "5"))
    assert(CommitPlan.groupLags(bound, sources) ==
      Map("g" -> Map(("t", 0) -> 7L, ("t", 1) -> 0L, ("u", 0) -> 3L)))
  }

  test("alignment needs the same count and matching descriptions where offsets would be committed") {
    val bound = Vector(kafka("KafkaV2[Subscribe[t]]", clusterA, "g"), BoundSource("MemoryStream[value]", None))
    assert(CommitPlan.isAligned(bound, Vector(SourceEnd("KafkaV2[Subscribe[t]]", null), SourceEnd("changed", null))))
    assert(!CommitPlan.isAligned(bound, Vector(SourceEnd("KafkaV2[Subscribe[u]]", null), SourceEnd("MemoryStream[value]", null))))
    assert(!CommitPlan.isAligned(bound, Vector(SourceEnd("KafkaV2[Subscribe[t]]", null))))
    assert(!CommitPlan.isAligned(Vector.empty, Vector(SourceEnd("KafkaV2[Subscribe[t]]", null))))
  }

  test("sources of one cluster and group are merged into one commit; other groups and clusters stay apart") {
    val bound = Vector(
      kafka("s1", clusterA, "g1"),
      BoundSource("not kafka", None),
      kafka("s2", clusterA, "g2"),
      kafka("s3", clusterA, "g1"),
      kafka("s4", clusterB, "g1"))
    val ends = Vector(
      SourceEnd("s1", """{"t1":{"0":5}}"""),
      SourceEnd("not kafka", "42"),
      SourceEnd("s2", """{"t2":{"0":6}}"""),
      SourceEnd("s3", """{"t3":{"0":7,"1":8}}"""),
      SourceEnd("s4", """{"t1":{"0":9}}"""))
    assert(CommitPlan.groupCommits(bound, ends)(noGrouping) == Vector(
      CommitTarget(clusterA, "g1") -> KafkaOffsets(Map("t1" -> Map(0 -> 5L), "t3" -> Map(0 -> 7L, 1 -> 8L))),
      CommitTarget(clusterA, "g2") -> KafkaOffsets(Map("t2" -> Map(0 -> 6L))),
      CommitTarget(clusterB, "g1") -> KafkaOffsets(Map("t1" -> Map(0 -> 9L)))))
  }

  test("a target fed by one source gets its end offsets unparsed; merged, missing and empty ones are left to the parse") {
    val bound = Vector(
      kafka("s1", clusterA, "g1"),
      BoundSource("not kafka", None),
      kafka("s2", clusterA, "g2"),
      kafka("s3", clusterA, "g1"),
      kafka("s4", clusterB, "g1"),
      kafka("s5", clusterA, "g5"),
      kafka("s6", clusterA, "g6"),
      kafka("s7", clusterA, "g7"))
    val ends = Vector(
      SourceEnd("s1", """{"t1":{"0":5}}"""),
      SourceEnd("not kafka", "42"),
      SourceEnd("s2", """{ "t2" : { "0" : 6 } }"""),
      SourceEnd("s3", """{"t3":{"0":7,"1":8}}"""),
      SourceEnd("s4", """{"t1":{"0":9}}"""),
      SourceEnd("s5", null),
      SourceEnd("s6", "{}"),
      SourceEnd("s7", """{"t":{},"u":{}}"""))
    assert(CommitPlan.unmergedSources(bound, ends) == Vector(
      CommitTarget(clusterA, "g2") -> """{ "t2" : { "0" : 6 } }""",
      CommitTarget(clusterB, "g1") -> """{"t1":{"0":9}}"""))
  }

  test("sources without end offsets, with empty ones or with unparsable ones commit nothing") {
    val unparsable = mutable.Buffer[String]()
    val bound = Vector(kafka("s1", clusterA, "g1"), kafka("s2", clusterA, "g2"), kafka("s3", clusterA, "g3"))
    val ends = Vector(SourceEnd("s1", null), SourceEnd("s2", "{}"), SourceEnd("s3", "not json"))
    assert(CommitPlan.groupCommits(bound, ends)((source, _) => unparsable += source.description).isEmpty)
    assert(unparsable == Seq("s3"))
  }

  test("the commit group comes from the source option, in any case, and empty means none") {
    assert(CommitPlan.groupFromSourceOption(Map(CommitPlan.CommitGroupParam -> "g")) == Some("g"))
    assert(CommitPlan.groupFromSourceOption(Map("Consumer.Commit.GroupId" -> "G-1")) == Some("G-1"))
    assert(CommitPlan.groupFromSourceOption(Map(CommitPlan.CommitGroupParam -> "")) == None)
    assert(CommitPlan.groupFromSourceOption(Map("group.id" -> "spark-kafka-source-x")) == None)
  }

  test("the group template fills in the query name and id, and needs a name only if it uses one") {
    assert(CommitPlan.groupFromTemplate("spark-{queryName}", Some("orders"), queryId) == Some("spark-orders"))
    assert(CommitPlan.groupFromTemplate("spark-{queryName}", None, queryId) == None)
    assert(CommitPlan.groupFromTemplate("q-{queryId}", None, queryId) == Some(s"q-$queryId"))
  }

  test("commit params drop consumer-only settings and the group option, lower-case keys and add engine settings") {
    val sourceParams = Map(
      "bootstrap.servers" -> "a:9092",
      "Security.Protocol" -> "SASL_SSL",
      "sasl.jaas.config" -> "secret Value",
      "group.id" -> "spark-kafka-source-1-executor",
      "key.deserializer" -> "org.apache.kafka.common.serialization.ByteArrayDeserializer",
      "value.deserializer" -> "org.apache.kafka.common.serialization.ByteArrayDeserializer",
      "auto.offset.reset" -> "none",
      "enable.auto.commit" -> "false",
      "max.poll.records" -> "1",
      "Consumer.Commit.GroupId" -> "g")
    assert(CommitPlan.commitParams(sourceParams, CommitClientSettings(), Map(EngineSettings.KEEPALIVE_INTERVAL_MS -> "1000")) == Map(
      "bootstrap.servers" -> "a:9092",
      "security.protocol" -> "SASL_SSL",
      "sasl.jaas.config" -> "secret Value",
      EngineSettings.KEEPALIVE_INTERVAL_MS -> "1000"))
  }

  test("the commit client's own settings go over the source's: every cluster's, then the matching cluster's") {
    val source = Map("bootstrap.servers" -> "B1:9092, b2:9092", "sasl.jaas.config" -> "source login", "Group.Id" -> "g")
    val settings = CommitClientSettings(
      everyCluster = Map("sasl.jaas.config" -> "team login", "sasl.mechanism" -> "SCRAM-SHA-512"),
      byCluster = Seq(
        Set("b2:9092") -> Map("sasl.mechanism" -> "PLAIN"),
        Set("other:9092") -> Map("sasl.jaas.config" -> "not this cluster's")))
    assert(CommitPlan.commitParams(source, settings, Map.empty) == Map(
      "bootstrap.servers" -> "B1:9092, b2:9092",
      "sasl.jaas.config" -> "team login",
      "sasl.mechanism" -> "PLAIN"))
    assert(CommitPlan.commitParams(Map("bootstrap.servers" -> "x:1"), settings, Map.empty)("sasl.mechanism") ==
      "SCRAM-SHA-512")
  }

  test("commit client settings never show their values") {
    val shown = CommitClientSettings(Map("sasl.jaas.config" -> "password=hunter2"),
      Seq(Set("a:1") -> Map("ssl.key.password" -> "hunter3"))).toString
    assert(shown.contains("sasl.jaas.config") && shown.contains("ssl.key.password"), shown)
    assert(!shown.contains("hunter"), shown)
  }
}
