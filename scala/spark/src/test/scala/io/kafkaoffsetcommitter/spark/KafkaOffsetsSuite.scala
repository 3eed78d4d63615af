package io.kafkaoffsetcommitter.spark

import org.scalatest.funsuite.AnyFunSuite

class KafkaOffsetsSuite extends AnyFunSuite {

  test("parses Spark's offset JSON, whatever the spacing and key order") {
    val offsets = KafkaOffsets.parse(""" { "b" : { "1" : 7, "0":5 }, "a":{"2":-1} } """)
    assert(offsets == KafkaOffsets(Map("a" -> Map(2 -> -1L), "b" -> Map(0 -> 5L, 1 -> 7L))))
  }

  test("renders topics and partitions sorted, so equal offsets give equal JSON") {
    val offsets = KafkaOffsets(Map("t2" -> Map(10 -> 3L, 2 -> 4L), "t1" -> Map(0 -> 12345678901L)))
    assert(offsets.toJson == """{"t1":{"0":12345678901},"t2":{"2":4,"10":3}}""")
    assert(KafkaOffsets.parse(offsets.toJson) == offsets)
  }

  test("escapes and unescapes topic names") {
    val offsets = KafkaOffsets(Map("we\"ird\\topic\u0001" -> Map(0 -> 1L)))
    assert(KafkaOffsets.parse(offsets.toJson) == offsets)
    assert(KafkaOffsets.parse("{\"t\\u0031\":{\"0\":1}}") == KafkaOffsets(Map("t1" -> Map(0 -> 1L))))
  }

  test("an empty object or topic has no offsets") {
    assert(KafkaOffsets.parse("{}").isEmpty)
    assert(KafkaOffsets.parse("""{"t":{}}""").isEmpty)
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
}
