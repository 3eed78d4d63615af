package io.kafkaoffsetcommitter.spark

import org.scalatest.funsuite.AnyFunSuite

class KafkaOffsetsSuite extends AnyFunSuite {

  test("parses Spark's offset JSON, whatever the spacing and key order") {
    val offsets = KafkaOffsets.parse(" { \"b\" : { \"1\" : 7, \"0\":5 },\r\n\t\"a\":{\"2\":0} } ")
    assert(offsets == KafkaOffsets(Map("a" -> Map(2 -> 0L), "b" -> Map(0 -> 5L, 1 -> 7L))))
  }

  test("hands the core the same offsets as Java maps") {
    val offsets = KafkaOffsets(Map("t2" -> Map(10 -> 3L, 2 -> 4L), "t1" -> Map(0 -> 12345678901L)))
    val typed = offsets.toJava
    assert(typed.keySet == new java.util.HashSet(java.util.Arrays.asList("t1", "t2")))
    assert(typed.get("t1").get(0) == 12345678901L && typed.get("t1").size == 1)
    assert(typed.get("t2").get(10) == 3L && typed.get("t2").get(2) == 4L && typed.get("t2").size == 2)
  }

  test("unescapes topic names") {
    // Kafka allows only [a-zA-Z0-9._-] in names; escapes may still spell them.
    assert(KafkaOffsets.parse("{\"a.b_c-D9\":{\"0\":1}}") == KafkaOffsets(Map("a.b_c-D9" -> Map(0 -> 1L))))
    assert(KafkaOffsets.parse("{\"t\\u0031\":{\"0\":1}}") == KafkaOffsets(Map("t1" -> Map(0 -> 1L))))
  }

  test("an empty object or topic has no offsets") {
    assert(KafkaOffsets.parse("{}").isEmpty)
    assert(KafkaOffsets.parse("""{"t":{}}""") == KafkaOffsets(Map.empty))
    assert(!KafkaOffsets.parse("""{"t":{"0":0}}""").isEmpty)
  }

  test("merging keeps every partition and the smaller offset of a partition read twice") {
    val a = KafkaOffsets(Map("t" -> Map(0 -> 10L, 1 -> 20L), "u" -> Map(0 -> 1L)))
    val b = KafkaOffsets(Map("t" -> Map(1 -> 15L, 2 -> 30L), "v" -> Map(0 -> 2L)))
    assert(a.merge(b) == KafkaOffsets(Map(
      "t" -> Map(0 -> 10L, 1 -> 15L, 2 -> 30L), "u" -> Map(0 -> 1L), "v" -> Map(0 -> 2L))))
    assert(a.merge(b) == b.merge(a))
  }

  test("rejects anything that is not Kafka offset JSON") {
    for (bad <- Seq("", "null", "[]", """{"t":1}""", """{"t":{"x":1}}""", """{"t":{"0":"1"}}""",
        """{"t":{"0":1}""", """{"t":{"0":1}} x""", """{"t":{"0":1.5}}""", """{"t":{"0":}}"""))
      intercept[IllegalArgumentException](KafkaOffsets.parse(bad))
  }

  private def refusal(json: String): String = {
    val error = intercept[IllegalArgumentException](KafkaOffsets.parse(json))
    assert(error.getMessage.startsWith("invalid offsets: "), error.getMessage)
    error.getMessage
  }

  // The same inputs and verdicts as rust/src/offsets.rs (its unit tests), which the core applies to the same JSON.
  test("refuses negative offsets, as the core does") {
    val message = refusal("""{"t":{"0":-1}}""")
    assert(message.contains("offset of topic `t` partition 0 is `-1`") && message.contains("never negative"), message)
    assert(refusal("""{"t":{"0":-2}}""").contains("never negative"))
    assert(refusal("""{"t":{"-1":1}}""").contains("partition key `-1` of topic `t` is negative"))
  }

  test("refuses duplicate topics and duplicate partitions, as the core does") {
    assert(refusal("""{"t":{"0":1},"u":{"0":1},"t":{"1":2}}""").contains("topic `t` appears twice"))
    assert(refusal("""{"t":{"1":1,"0":3,"1":2}}""").contains("partition 1 of topic `t` appears twice"))
  }

  test("accepts and refuses what the core accepts and refuses") {
    assert(KafkaOffsets.parse(s"""{"t":{"${Int.MaxValue}":${Long.MaxValue},"0":0}}""") ==
      KafkaOffsets(Map("t" -> Map(0 -> 0L, Int.MaxValue -> Long.MaxValue))))
    assert(KafkaOffsets.parse("{\"a\\u002eb\":{\"0\":1}}") == KafkaOffsets(Map("a.b" -> Map(0 -> 1L))))
    assert(KafkaOffsets.parse(s"""{"${"t" * 249}":{"0":1}}""").byTopic.keySet == Set("t" * 249))
    val refused = Seq(
      "[]", "null", "\"x\"", "", "   ", "x", """{"t":5}""", """{"t":[1]}""", """{"t":null}""",
      """{"t":{"x":1}}""", """{"t":{"":1}}""", """{"t":{"01":1}}""", """{"t":{"+1":1}}""", """{"t":{" 1":1}}""",
      """{"t":{"1.0":1}}""", """{"t":{"2147483648":1}}""",
      """{"t":{"3":1.5}}""", """{"t":{"0":1e3}}""", """{"t":{"0":1.0}}""", """{"t":{"0":"5"}}""", """{"t":{"0":null}}""",
      """{"t":{"0":true}}""", """{"t":{"0":{}}}""", """{"t":{"0":01}}""", """{"t":{"0":-}}""", """{"t":{"0":1.}}""",
      """{"t":{"0":1e}}""", """{"t":{"0":9223372036854775808}}""",
      """{"":{"0":1}}""", """{"..":{"0":1}}""", """{"a b":{"0":1}}""", s"""{"${"t" * 250}":{"0":1}}""",
      """{"t":{"0":1}""", """{"t":{"0":1},}""", """{"t":{"0":1,}}""", """{"t" {"0":1}}""", """{"t":{"0":1}} x""",
      """{"t":{"0":1}}{}""", """{'t':{"0":1}}""", """{"t""", "{\"t\n\":{}}", "{\"\\x\":{}}", "{\"\\u12\":{}}",
      "{\"\\ud800\":{}}", "{\"\\ud800\\u0041\":{}}", "{\"\\udc00\":{}}", "{\"t\":{\"0\":1}}\u00a0",
      "{\"t\":{\"0\":1}}\u000b")
    for (json <- refused) refusal(json)
    assert(refusal("9" * 100000).length < 300)
    assert(refusal(s"""{"t":{"0":${"9" * 100000}}}""").length < 300)
  }
}
