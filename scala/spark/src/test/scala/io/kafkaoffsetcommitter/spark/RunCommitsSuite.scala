package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.UUID

import org.scalatest.funsuite.AnyFunSuite

import io.kafkaoffsetcommitter.spark.fakes.{FakeCommitter, FakeCommitterFactory}
import io.kafkaoffsetcommitter.spark.fakes.FakeCommitter.Commit

class RunCommitsSuite extends AnyFunSuite {

  private val clusterA = Map("bootstrap.servers" -> "a:9092")
  private val clusterB = Map("bootstrap.servers" -> "b:9092")

  private class Fixture(refuse: Map[String, String] => Boolean = _ => false) {
    var nowNanos = 0L
    val factory = new FakeCommitterFactory(refuse)
    val run = new RunCommits(UUID.randomUUID(), UUID.randomUUID(), factory, () => nowNanos)
    def committer(params: Map[String, String]): FakeCommitter = factory.created.find(_.params == params).get
  }

  private def offsets(json: String) = KafkaOffsets.parse(json)

  test("one committer per cluster, shared by its groups") {
    val f = new Fixture
    f.run.commitBatch(0, Seq(
      CommitTarget(clusterA, "g1") -> offsets("""{"t":{"0":1}}"""),
      CommitTarget(clusterA, "g2") -> offsets("""{"u":{"0":2}}"""),
      CommitTarget(clusterB, "g1") -> offsets("""{"t":{"0":3}}""")))
    assert(f.factory.created.map(_.params) == Seq(clusterA, clusterB))
    assert(f.committer(clusterA).commits == Seq(Commit("g1", KafkaOffsets.parse("""{"t":{"0":1}}"""), 0), Commit("g2", KafkaOffsets.parse("""{"u":{"0":2}}"""), 0)))
    assert(f.committer(clusterB).commits == Seq(Commit("g1", KafkaOffsets.parse("""{"t":{"0":3}}"""), 0)))
  }

  test("offsets unchanged since the group's last commit are not committed again") {
    val f = new Fixture
    val target = CommitTarget(clusterA, "g")
    f.run.commitBatch(0, Seq(target -> offsets("""{"t":{"0":1,"1":2}}""")))
    f.run.commitBatch(1, Seq(target -> offsets("""{"t":{"1":2,"0":1}}""")))
    f.run.commitBatch(2, Seq(target -> offsets("""{"t":{"0":5,"1":2}}""")))
    assert(f.committer(clusterA).commits.map(_.batchId) == Seq(0, 2))
  }

  test("a failed commit is tried again with the next batch") {
    val f = new Fixture
    val target = CommitTarget(clusterA, "g")
    f.run.commitBatch(0, Seq(target -> offsets("""{"t":{"0":1}}""")))
    f.committer(clusterA).failNextCommit = true
    f.run.commitBatch(1, Seq(target -> offsets("""{"t":{"0":2}}""")))
    f.run.commitBatch(2, Seq(target -> offsets("""{"t":{"0":2}}""")))
    assert(f.committer(clusterA).commits.map(_.batchId) == Seq(0, 2))
  }

  test("a cluster whose committer cannot be created is skipped, without retrying each batch") {
    var attempts = 0
    val f = new Fixture(params => { attempts += 1; params == clusterB })
    for (batch <- 0L to 2L)
      f.run.commitBatch(batch, Seq(
        CommitTarget(clusterB, "g") -> offsets(s"""{"t":{"0":$batch}}"""),
        CommitTarget(clusterA, "g") -> offsets(s"""{"t":{"0":$batch}}""")))
    assert(attempts == 2)
    assert(f.committer(clusterA).commits.map(_.batchId) == Seq(0, 1, 2))
  }

  test("flushing shares one deadline across committers; closing releases them") {
    val f = new Fixture
    f.run.commitBatch(0, Seq(
      CommitTarget(clusterA, "g") -> offsets("""{"t":{"0":1}}"""),
      CommitTarget(clusterB, "g") -> offsets("""{"t":{"0":1}}""")))
    f.nowNanos = 1000
    assert(f.run.flush(deadlineNanos = 5000))
    assert(f.committer(clusterA).flushTimeouts == Seq(Duration.ofNanos(4000)))
    f.nowNanos = 9000
    assert(f.run.flushAndClose(deadlineNanos = 5000))
    assert(f.committer(clusterA).closeTimeout.contains(Duration.ZERO))
    assert(f.committer(clusterB).closeTimeout.contains(Duration.ZERO))
    f.run.commitBatch(1, Seq.empty)
    assert(f.run.flush(deadlineNanos = 0))
  }

  test("flushing reports a committer that did not confirm, and still flushes the others") {
    val unconfirmed = new FakeCommitter(clusterA, flushResult = false)
    val confirmed = new FakeCommitter(clusterB)
    val run = new RunCommits(UUID.randomUUID(), UUID.randomUUID(),
      params => if (params == clusterA) unconfirmed else confirmed, () => 0L)
    run.commitBatch(0, Seq(
      CommitTarget(clusterA, "g") -> offsets("""{"t":{"0":1}}"""),
      CommitTarget(clusterB, "g") -> offsets("""{"t":{"0":1}}""")))
    assert(!run.flushAndClose(deadlineNanos = 10))
    assert(confirmed.closeTimeout.contains(Duration.ofNanos(10)))
  }
}
