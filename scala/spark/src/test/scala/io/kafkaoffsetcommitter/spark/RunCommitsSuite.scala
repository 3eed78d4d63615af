package io.kafkaoffsetcommitter.spark

import java.time.Duration
import java.util.UUID
import java.util.concurrent.CountDownLatch

import org.scalatest.funsuite.AnyFunSuite

import io.kafkaoffsetcommitter.spark.fakes.{FakeCommitter, FakeCommitterFactory}
import io.kafkaoffsetcommitter.spark.fakes.FakeCommitter.Commit

class RunCommitsSuite extends AnyFunSuite {

  // Generous: bounds waits for liveness on a loaded machine; no test measures time.
  private val Patience = Duration.ofSeconds(60)

  private val clusterA = Map("bootstrap.servers" -> "a:9092")
  private val clusterB = Map("bootstrap.servers" -> "b:9092")

  /**
   * Runs on a real worker, whose open pool creates the committers; deadlines use the test's clock.
   * Commits are submitted to the worker thread, as the listener does.
   */
  private class Fixture(val factory: FakeCommitterFactory = new FakeCommitterFactory()) {
    @volatile var nowNanos = 0L
    val worker = new CommitWorker(capacity = 10, () => System.nanoTime())
    def newRun(newCommitter: Map[String, String] => Committer = factory): RunCommits =
      new RunCommits(UUID.randomUUID(), UUID.randomUUID(), newCommitter, worker, () => nowNanos)
    val run: RunCommits = newRun()

    def commit(batchId: Long, commits: (CommitTarget, KafkaOffsets)*): Unit = commitTo(run, batchId, commits: _*)

    def commitTo(into: RunCommits, batchId: Long, commits: (CommitTarget, KafkaOffsets)*): Unit =
      assert(worker.submitLifecycle(new Runnable { def run(): Unit = into.commitBatch(batchId, commits) }))

    /** The worker has run everything submitted, and every open has ended and handed over what waited. */
    def settled(): Unit = assert(worker.awaitProcessed(Patience) && worker.awaitOpens(Patience) &&
      worker.awaitProcessed(Patience))

    def committer(params: Map[String, String]): FakeCommitter = factory.created.find(_.params == params).get
  }

  private def offsets(json: String) = KafkaOffsets.parse(json)

  /** Waits (bounded, for liveness only) until `condition` holds. */
  private def eventually(condition: => Boolean): Unit = {
    val deadline = System.nanoTime() + Patience.toNanos
    while (!condition && System.nanoTime() - deadline < 0) Thread.sleep(5)
    assert(condition)
  }

  test("an open committer takes a target's end offsets unparsed; the parsed batch after it commits nothing again") {
    val f = new Fixture
    val target = CommitTarget(clusterA, "g")
    f.commit(0, target -> offsets("""{"t":{"0":1}}"""))
    f.settled()
    // One batch as the listener runs it: unparsed first, then the parsed offsets with what was taken.
    def batch(batchId: Long, json: String, targets: CommitTarget*): Map[CommitTarget, Boolean] = {
      val taken = new java.util.concurrent.CompletableFuture[Map[CommitTarget, Boolean]]()
      assert(f.worker.submitLifecycle(new Runnable {
        def run(): Unit = {
          val handedOver = f.run.commitUnparsed(batchId, targets.map(_ -> json))
          val parsed = scala.util.Try(offsets(json)).toOption.toSeq.flatMap(o => targets.map(_ -> o))
          f.run.commitBatch(batchId, parsed, handedOver)
          taken.complete(handedOver)
        }
      }))
      taken.get()
    }
    val committer = f.committer(clusterA)
    val second = """{"t":{"0":2}}"""
    assert(batch(1, second, target) == Map(target -> true))
    assert(committer.unparsedGroups == Seq("g") && committer.commits.last == Commit("g", offsets(second), 1))
    assert(batch(2, second, target) == Map(target -> true), "unchanged: taken, nothing handed over")
    f.commit(3, target -> offsets(second))
    f.settled()
    assert(committer.commits.size == 2 && committer.unparsedGroups == Seq("g"),
      "recorded as committed: neither path commits the same offsets again")
    assert(batch(4, "not offsets", target).isEmpty, "unparsable: left to the parse, which reports it")
    committer.failNextCommit()
    val third = """{"t":{"0":3}}"""
    assert(batch(5, third, target) == Map(target -> false), "a failed commit is taken (and logged), not tried twice")
    assert(committer.commits.size == 2)
    assert(batch(6, third, target) == Map(target -> true) && committer.commits.last == Commit("g", offsets(third), 6),
      "tried again with the next batch")
    val unopened = CommitTarget(clusterB, "h")
    assert(batch(7, third, unopened).isEmpty, "a committer not open yet: left to commitBatch, which opens it")
    f.settled()
    assert(f.committer(clusterB).commits == Seq(Commit("h", offsets(third), 7)))
  }

  test("one committer per cluster, shared by its groups") {
    val f = new Fixture
    f.commit(0,
      CommitTarget(clusterA, "g1") -> offsets("""{"t":{"0":1}}"""),
      CommitTarget(clusterA, "g2") -> offsets("""{"u":{"0":2}}"""),
      CommitTarget(clusterB, "g1") -> offsets("""{"t":{"0":3}}"""))
    f.settled()
    assert(f.factory.created.map(_.params).toSet == Set(clusterA, clusterB) && f.factory.attempts.size == 2)
    assert(f.committer(clusterA).commits == Seq(Commit("g1", offsets("""{"t":{"0":1}}"""), 0), Commit("g2", offsets("""{"u":{"0":2}}"""), 0)))
    assert(f.committer(clusterB).commits == Seq(Commit("g1", offsets("""{"t":{"0":3}}"""), 0)))
  }

  test("a committer whose groups all moved to other settings (a renewed token) is released; one still used is not") {
    val f = new Fixture
    val renewed = clusterA + ("sasl.jaas.config" -> "the renewed token")
    f.commit(0, CommitTarget(clusterA, "g1") -> offsets("""{"t":{"0":1}}"""),
      CommitTarget(clusterB, "g2") -> offsets("""{"t":{"0":1}}"""))
    f.settled()
    f.commit(1, CommitTarget(renewed, "g1") -> offsets("""{"t":{"0":2}}"""),
      CommitTarget(clusterB, "g2") -> offsets("""{"t":{"0":2}}"""))
    f.settled()
    assert(f.committer(clusterA).closeTimeout.contains(Duration.ZERO), "the superseded committer is released")
    assert(f.committer(clusterB).closeTimeout.isEmpty)
    assert(f.committer(renewed).commits == Seq(Commit("g1", offsets("""{"t":{"0":2}}"""), 1)))
    // A batch that leaves a source out (no end offset yet) releases nothing.
    f.commit(2, CommitTarget(renewed, "g1") -> offsets("""{"t":{"0":3}}"""))
    f.settled()
    assert(f.committer(clusterB).closeTimeout.isEmpty)
  }

  test("offsets unchanged since the group's last commit are not committed again") {
    val f = new Fixture
    val target = CommitTarget(clusterA, "g")
    f.commit(0, target -> offsets("""{"t":{"0":1,"1":2}}"""))
    f.settled()
    f.commit(1, target -> offsets("""{"t":{"1":2,"0":1}}"""))
    f.commit(2, target -> offsets("""{"t":{"0":5,"1":2}}"""))
    f.settled()
    assert(f.committer(clusterA).commits.map(_.batchId) == Seq(0, 2))
  }

  test("a failed commit is tried again with the next batch") {
    val f = new Fixture
    val target = CommitTarget(clusterA, "g")
    f.commit(0, target -> offsets("""{"t":{"0":1}}"""))
    f.settled()
    f.committer(clusterA).failNextCommit()
    f.commit(1, target -> offsets("""{"t":{"0":2}}"""))
    f.commit(2, target -> offsets("""{"t":{"0":2}}"""))
    f.settled()
    assert(f.committer(clusterA).commits.map(_.batchId) == Seq(0, 2))
  }

  test("a cluster whose committer cannot be created is skipped, without retrying each batch") {
    val f = new Fixture(new FakeCommitterFactory(refuse = _ == clusterB))
    for (batch <- 0L to 2L) {
      f.commit(batch,
        CommitTarget(clusterB, "g") -> offsets(s"""{"t":{"0":$batch}}"""),
        CommitTarget(clusterA, "g") -> offsets(s"""{"t":{"0":$batch}}"""))
      f.settled()
    }
    assert(f.factory.attempts.count(_ == clusterB) == 1)
    assert(f.committer(clusterA).commits.map(_.batchId) == Seq(0, 1, 2))
    assert(f.run.flush(deadlineNanos = 0), "a cluster that cannot be reached has nothing to confirm (its failure was logged)")
  }

  test("a refused setting names the commit-only settings as the way out, never a value") {
    val params = clusterA + ("sasl.jaas.config" -> "password=hunter2")
    val (queryId, runId) = (UUID.randomUUID(), UUID.randomUUID())
    val refused = RunCommits.cannotOpen(queryId, runId, params, new io.kafkaoffsetcommitter.InvalidConfigException("no"))
    assert(refused.contains("a:9092") && refused.contains(KafkaOffsetCommitterListener.KafkaSettingsPrefix + "<key>") &&
      refused.contains(KafkaOffsetCommitterListener.ClustersPrefix + "<id>.kafka.<key>"), refused)
    val unreachable = RunCommits.cannotOpen(queryId, runId, params, new IllegalStateException("no helper"))
    assert(!unreachable.contains(KafkaOffsetCommitterListener.KafkaSettingsPrefix), unreachable)
    assert(!(refused + unreachable).contains("hunter2"))
  }

  test("a committer slow to open holds up no other query's commits; the latest offsets that waited reach it once open") {
    val clusterAMayOpen = new CountDownLatch(1)
    val f = new Fixture(new FakeCommitterFactory(holdUntil = params => Some(clusterAMayOpen).filter(_ => params == clusterA)))
    val otherQuery = f.newRun()
    val target = CommitTarget(clusterA, "g")
    f.commit(0, target -> offsets("""{"t":{"0":1}}"""), CommitTarget(clusterA, "h") -> offsets("""{"u":{"0":7}}"""))
    f.commitTo(otherQuery, 0, CommitTarget(clusterB, "g") -> offsets("""{"t":{"0":1}}"""))
    f.commit(1, target -> offsets("""{"t":{"0":2}}"""))
    f.commitTo(otherQuery, 1, CommitTarget(clusterB, "g") -> offsets("""{"t":{"0":2}}"""))
    // The worker is free although cluster A's open has not returned, and cluster B's committer opens
    // and takes the other query's latest batch.
    assert(f.worker.awaitProcessed(Patience))
    eventually(f.factory.created.exists(c => c.params == clusterB && c.commits.lastOption.exists(_.batchId == 1)))
    assert(f.factory.created.map(_.params) == Seq(clusterB), "cluster A's committer is still opening")
    clusterAMayOpen.countDown()
    f.settled()
    assert(f.committer(clusterA).commits.toSet == Set(
      Commit("g", offsets("""{"t":{"0":2}}"""), 1), Commit("h", offsets("""{"u":{"0":7}}"""), 0)))
    f.commit(2, target -> offsets("""{"t":{"0":3}}"""))
    f.settled()
    assert(f.committer(clusterA).commits.last == Commit("g", offsets("""{"t":{"0":3}}"""), 2), "once open, commits go straight to it")
  }

  test("a flush waits for a committer still opening up to its deadline; a close releases what opens after it") {
    val clusterAMayOpen = new CountDownLatch(1)
    val f = new Fixture(new FakeCommitterFactory(holdUntil = params => Some(clusterAMayOpen).filter(_ => params == clusterA)))
    f.commit(0, CommitTarget(clusterA, "g") -> offsets("""{"t":{"0":1}}"""), CommitTarget(clusterB, "g") -> offsets("""{"t":{"0":1}}"""))
    eventually(f.factory.created.exists(c => c.params == clusterB && c.commits.nonEmpty))
    assert(f.worker.awaitProcessed(Patience))
    f.nowNanos = 100
    assert(!f.run.flush(deadlineNanos = 100), "nothing of cluster A is confirmed while its committer opens")
    assert(!f.run.flushAndClose(deadlineNanos = 100))
    assert(f.committer(clusterB).closeTimeout.contains(Duration.ZERO))
    clusterAMayOpen.countDown()
    f.settled()
    val late = f.committer(clusterA)
    assert(late.commits == Seq(Commit("g", offsets("""{"t":{"0":1}}"""), 0)), "the offsets that waited are handed over")
    assert(late.closeTimeout.contains(Duration.ZERO), "and the committer released at once")
  }

  test("a flush hands a committer that opened in time what waited for it, then flushes it") {
    val clusterAMayOpen = new CountDownLatch(1)
    val f = new Fixture(new FakeCommitterFactory(holdUntil = params => Some(clusterAMayOpen).filter(_ => params == clusterA)))
    f.commit(0, CommitTarget(clusterA, "g") -> offsets("""{"t":{"0":1}}"""))
    assert(f.worker.awaitProcessed(Patience))
    clusterAMayOpen.countDown()
    // On this thread (the worker's hand-over may still be queued): the flush takes the committer over itself.
    assert(f.run.flush(deadlineNanos = Long.MaxValue))
    assert(f.committer(clusterA).commits == Seq(Commit("g", offsets("""{"t":{"0":1}}"""), 0)))
    assert(f.committer(clusterA).flushTimeouts.size == 1)
    f.settled()
    assert(f.committer(clusterA).commits.size == 1, "the worker's later hand-over finds nothing left to hand over")
  }

  test("flushing shares one deadline across committers; closing releases them") {
    val f = new Fixture
    f.commit(0, CommitTarget(clusterA, "g") -> offsets("""{"t":{"0":1}}"""), CommitTarget(clusterB, "g") -> offsets("""{"t":{"0":1}}"""))
    f.settled()
    f.nowNanos = 1000
    assert(f.run.flush(deadlineNanos = 5000))
    assert(f.committer(clusterA).flushTimeouts == Seq(Duration.ofNanos(4000)))
    f.nowNanos = 9000
    assert(f.run.flushAndClose(deadlineNanos = 5000))
    assert(f.committer(clusterA).closeTimeout.contains(Duration.ZERO))
    assert(f.committer(clusterB).closeTimeout.contains(Duration.ZERO))
  }

  test("flushing reports a committer that did not confirm, and still flushes the others") {
    val unconfirmed = new FakeCommitter(clusterA, flushResult = false)
    val confirmed = new FakeCommitter(clusterB)
    val f = new Fixture
    val run = f.newRun(params => if (params == clusterA) unconfirmed else confirmed)
    f.commitTo(run, 0, CommitTarget(clusterA, "g") -> offsets("""{"t":{"0":1}}"""), CommitTarget(clusterB, "g") -> offsets("""{"t":{"0":1}}"""))
    f.settled()
    assert(!run.flushAndClose(deadlineNanos = 10))
    assert(confirmed.closeTimeout.contains(Duration.ofNanos(10)))
  }
}
