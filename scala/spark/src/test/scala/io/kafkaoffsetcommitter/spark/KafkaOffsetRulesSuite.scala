package io.kafkaoffsetcommitter.spark

import java.io.File

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.scalatest.funsuite.AnyFunSuite

/**
 * The offset rules shared with the core: every case of `tests/fixtures/offset_rules.json` through the
 * listener's parser. The core's `rust/tests/offset_rules.rs` runs the same file through its own.
 */
class KafkaOffsetRulesSuite extends AnyFunSuite {

  private val FixturePath = "tests/fixtures/offset_rules.json"

  /** The repository root: the nearest folder above the test's working directory holding the fixture. */
  private def fixtureFile: File =
    Iterator.iterate(new File(".").getCanonicalFile)(_.getParentFile).takeWhile(_ != null)
      .map(new File(_, FixturePath))
      .find(_.isFile)
      .getOrElse(fail(s"no $FixturePath above ${new File(".").getCanonicalPath}"))

  // Without JavaConverters, which Scala 2.13 deprecates and 2.12 has no replacement for.
  private def scalaIterator[T](elements: java.util.Iterator[T]): Iterator[T] = new Iterator[T] {
    def hasNext: Boolean = elements.hasNext
    def next(): T = elements.next()
  }

  private def expectedOffsets(offsets: JsonNode): KafkaOffsets =
    KafkaOffsets(scalaIterator(offsets.fields).map { topic =>
      topic.getKey -> scalaIterator(topic.getValue.fields).map(partition => partition.getKey.toInt -> partition.getValue.longValue).toMap
    }.toMap)

  test("the listener parses every shared case as the fixture says") {
    val cases = scalaIterator(new ObjectMapper().readTree(fixtureFile).get("cases").elements).toList
    val failures = cases.flatMap { rule =>
      val name = rule.get("name").textValue
      val input = rule.get("input").textValue
      val parsed = try Right(KafkaOffsets.parse(input)) catch { case e: IllegalArgumentException => Left(e.getMessage) }
      (rule.get("outcome").textValue, parsed) match {
        case ("accepted", Right(got)) if got == expectedOffsets(rule.get("offsets")) => None
        case ("accepted", other) => Some(s"$name: expected ${expectedOffsets(rule.get("offsets"))}, got $other")
        case ("refused", Right(got)) => Some(s"$name: expected a refusal, parsed $got")
        case ("refused", Left(message)) if !message.startsWith("invalid offsets: ") => Some(s"$name: `$message`")
        case ("refused", Left(message)) =>
          Option(rule.get("reason")).map(_.textValue).filterNot(message.contains(_)).map(r => s"$name: `$message` lacks `$r`")
        case (other, _) => Some(s"$name: unknown outcome `$other`")
      }
    }
    val outcomes = cases.map(_.get("outcome").textValue)
    assert(outcomes.count(_ == "accepted") >= 10 && outcomes.count(_ == "refused") >= 50, "the fixture lost its cases")
    assert(failures.isEmpty, s"${failures.size} of ${cases.size} cases disagree:\n${failures.mkString("\n")}")
  }
}
