package io.kafkaoffsetcommitter.spark

import org.scalatest.funsuite.AnyFunSuite

class KafkaOffsetsSuite extends AnyFunSuite {

  test("hands the core the same offsets as Java maps") {
    val offsets = KafkaOffsets(Map("t2" -> Map(10 -> 3L, 2 -> 4L), "t1" -> Map(0 -> 12345678901L)))
    val typed = offsets.toJava
    assert(typed.keySet == new java.util.HashSet(java.util.Arrays.asList("t1", "t2")))
    assert(typed.get("t1").get(0) == 12345678901L && typed.get("t1").size == 1)
    assert(typed.get("t2").get(10) == 3L && typed.get("t2").get(2) == 4L && typed.get("t2").size == 2)
  }

  test("merging keeps every partition and the smaller offset of a partition read twice") {
    val a = KafkaOffsets(Map("t" -> Map(0 -> 10L, 1 -> 20L), "u" -> Map(0 -> 1L)))
    val b = KafkaOffsets(Map("t" -> Map(1 -> 15L, 2 -> 30L), "v" -> Map(0 -> 2L)))
    assert(a.merge(b) == KafkaOffsets(Map(
      "t" -> Map(0 -> 10L, 1 -> 15L, 2 -> 30L), "u" -> Map(0 -> 1L), "v" -> Map(0 -> 2L))))
    assert(a.merge(b) == b.merge(a))
  }

  private def refusal(json: String): String = {
    val error = intercept[IllegalArgumentException](KafkaOffsets.parse(json))
    assert(error.getMessage.startsWith("invalid offsets: "), error.getMessage)
    error.getMessage
  }

  // What the shared fixture (KafkaOffsetRulesSuite) does not hold: a refusal of a huge input is one short line.
  test("a refusal names the part at fault in a short message, however long the input") {
    assert(refusal("9" * 100000).length < 300)
    assert(refusal(s"""{"t":{"0":${"9" * 100000}}}""").length < 300)
    assert(refusal(s"""{"${"t" * 250}":{"0":1}}""").length < 300)
  }
}
