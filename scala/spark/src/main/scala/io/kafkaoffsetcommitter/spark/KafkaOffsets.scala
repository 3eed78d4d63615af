package io.kafkaoffsetcommitter.spark

/**
 * Next offsets to read, per topic and partition: the content of a Kafka source's end offset JSON
 * (`{"topic":{"0":12,"1":34}}`). Kept parsed so that several sources' offsets can be merged into
 * one commit and compared with the last commit whatever the key order of Spark's JSON.
 */
private[spark] final case class KafkaOffsets(byTopic: Map[String, Map[Int, Long]]) {

  def isEmpty: Boolean = byTopic.forall(_._2.isEmpty)

  /**
   * Both sources' offsets. A partition read by both (two source objects on one topic committing to
   * one group) gets the smaller offset: only records both have processed count as committed.
   */
  def merge(other: KafkaOffsets): KafkaOffsets =
    KafkaOffsets(other.byTopic.foldLeft(byTopic) { case (merged, (topic, partitions)) =>
      val mergedPartitions = partitions.foldLeft(merged.getOrElse(topic, Map.empty[Int, Long])) {
        case (acc, (partition, offset)) => acc.updated(partition, acc.get(partition).fold(offset)(math.min(_, offset)))
      }
      merged.updated(topic, mergedPartitions)
    })

  /** Spark's JSON layout, topics and partitions sorted. */
  def toJson: String =
    byTopic.toSeq.sortBy(_._1).map { case (topic, partitions) =>
      partitions.toSeq.sortBy(_._1).map { case (p, offset) => s""""$p":$offset""" }.mkString(quote(topic) + ":{", ",", "}")
    }.mkString("{", ",", "}")

  private def quote(s: String): String = {
    val out = new StringBuilder("\"")
    s.foreach {
      case '"' => out.append("\\\"")
      case '\\' => out.append("\\\\")
      case c if c < ' ' => out.append(f"\\u${c.toInt}%04x")
      case c => out.append(c)
    }
    out.append('"').toString
  }
}

private[spark] object KafkaOffsets {

  /** Parses Spark's Kafka offset JSON; throws IllegalArgumentException on anything else. */
  def parse(json: String): KafkaOffsets = new Parser(json).offsets()

  private final class Parser(text: String) {
    private var pos = 0

    def offsets(): KafkaOffsets = {
      val byTopic = objectOf(() => objectOf(() => number()))
        .map { case (topic, partitions) => topic -> partitions.map { case (p, o) => partitionNumber(p) -> o } }
      skipWhitespace()
      if (pos != text.length) fail("trailing characters")
      KafkaOffsets(byTopic)
    }

    private def objectOf[V](value: () => V): Map[String, V] = {
      expect('{')
      val entries = Map.newBuilder[String, V]
      if (!consume('}')) {
        var more = true
        while (more) {
          val key = string()
          expect(':')
          entries += key -> value()
          more = consume(',')
        }
        expect('}')
      }
      entries.result()
    }

    private def string(): String = {
      expect('"')
      val out = new StringBuilder
      while (peek != '"') {
        val c = next()
        if (c != '\\') out.append(c)
        else next() match {
          case 'u' =>
            if (pos + 4 > text.length) fail("short \\u escape")
            out.append(Integer.parseInt(text.substring(pos, pos + 4), 16).toChar)
            pos += 4
          case 'n' => out.append('\n')
          case 't' => out.append('\t')
          case 'r' => out.append('\r')
          case 'b' => out.append('\b')
          case 'f' => out.append('\f')
          case other => out.append(other) // \" \\ \/
        }
      }
      pos += 1
      out.toString
    }

    private def number(): Long = {
      skipWhitespace()
      val start = pos
      if (pos < text.length && text.charAt(pos) == '-') pos += 1
      while (pos < text.length && text.charAt(pos).isDigit) pos += 1
      try text.substring(start, pos).toLong
      catch { case _: NumberFormatException => fail("expected an offset") }
    }

    private def partitionNumber(key: String): Int =
      try key.toInt
      catch { case _: NumberFormatException => fail(s"partition '$key' is not a number") }

    private def expect(c: Char): Unit = if (!consume(c)) fail(s"expected '$c'")

    private def consume(c: Char): Boolean = {
      skipWhitespace()
      val found = pos < text.length && text.charAt(pos) == c
      if (found) pos += 1
      found
    }

    private def peek: Char = if (pos < text.length) text.charAt(pos) else fail("unexpected end")

    private def next(): Char = { val c = peek; pos += 1; c }

    private def skipWhitespace(): Unit = while (pos < text.length && text.charAt(pos).isWhitespace) pos += 1

    private def fail(reason: String): Nothing =
      throw new IllegalArgumentException(s"not a Kafka offset JSON ($reason at $pos): ${text.take(200)}")
  }
}
