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

  /**
   * Parses Spark's Kafka end-offset JSON with the same rules as the native core's parser
   * (rust/src/offsets.rs `parse_end_offsets`), so that what the listener accepts the core accepts
   * too: an object of topic objects; Kafka-legal topic names; partition keys written as plain
   * non-negative decimal `Int`s; offsets that are JSON integers from 0 to `Long.MaxValue`; no topic
   * or partition twice; JSON whitespace only. Anything else throws one IllegalArgumentException whose
   * message starts with "invalid offsets:" and names the part at fault.
   */
  def parse(json: String): KafkaOffsets = new Parser(json).offsets()

  private val MaxTopicNameChars = 249
  private val MaxQuotedChars = 60

  private def quoted(text: String): String =
    if (text.codePointCount(0, text.length) <= MaxQuotedChars) s"`$text`"
    else s"`${text.substring(0, text.offsetByCodePoints(0, MaxQuotedChars))}...`"

  private def invalid(reason: String): Nothing = throw new IllegalArgumentException(s"invalid offsets: $reason")

  // Kafka's Topic.validate: a name breaking these rules cannot exist on a broker.
  private def checkTopicName(topic: String): Unit = {
    if (topic.isEmpty) invalid("a topic name is empty")
    if (topic == "." || topic == "..") invalid(s"topic name ${quoted(topic)} is not allowed by Kafka")
    if (topic.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MaxTopicNameChars)
      invalid(s"topic name ${quoted(topic)} is longer than Kafka's limit of $MaxTopicNameChars characters")
    val legal = (c: Char) => (c < 128 && c.isLetterOrDigit) || c == '.' || c == '_' || c == '-'
    if (!topic.forall(legal))
      invalid(s"topic name ${quoted(topic)} has characters Kafka does not allow (only ASCII letters, digits, " +
        "`.`, `_` and `-`)")
  }

  // Only the form Spark writes ("0", "17"): one spelling per number, so a duplicate partition is a duplicate key.
  private def partitionNumber(topic: String, key: String): Int = {
    def atFault = s"partition key ${quoted(key)} of topic ${quoted(topic)}"
    val isDigits = (text: String) => text.nonEmpty && text.forall(c => c >= '0' && c <= '9')
    if (key.startsWith("-") && isDigits(key.substring(1))) invalid(s"$atFault is negative")
    if (!isDigits(key) || (key != "0" && key.startsWith("0")))
      invalid(s"$atFault is not a plain decimal partition number")
    try key.toInt
    catch { case _: NumberFormatException => invalid(s"$atFault exceeds the largest partition number ${Int.MaxValue}") }
  }

  private final class Parser(text: String) {
    private var pos = 0

    def offsets(): KafkaOffsets = {
      val byTopic = Map.newBuilder[String, Map[Int, Long]]
      val seenTopics = scala.collection.mutable.HashSet[String]()
      expectObjectStart("the end offsets")
      var moreTopics = !tryObjectEnd()
      while (moreTopics) {
        val topicAt = pos
        val topic = string()
        checkTopicName(topic)
        if (!seenTopics.add(topic)) invalid(s"topic ${quoted(topic)} appears twice (position $topicAt)")
        expectChar(':')
        expectObjectStart(s"topic ${quoted(topic)}")
        val partitions = scala.collection.mutable.LinkedHashMap[Int, Long]()
        var morePartitions = !tryObjectEnd()
        while (morePartitions) {
          val partition = partitionNumber(topic, string())
          expectChar(':')
          val value = offset(topic, partition)
          if (partitions.contains(partition)) invalid(s"partition $partition of topic ${quoted(topic)} appears twice")
          partitions(partition) = value
          morePartitions = commaOrObjectEnd()
        }
        // A topic without partitions contributes nothing, as in the core.
        if (partitions.nonEmpty) byTopic += topic -> partitions.toMap
        moreTopics = commaOrObjectEnd()
      }
      expectEnd()
      KafkaOffsets(byTopic.result())
    }

    private def skipWhitespace(): Unit =
      while (pos < text.length && (text.charAt(pos) match { case ' ' | '\t' | '\n' | '\r' => true; case _ => false }))
        pos += 1

    private def peek(): Option[Char] = {
      skipWhitespace()
      if (pos < text.length) Some(text.charAt(pos)) else None
    }

    private def syntaxError(expected: String): Nothing =
      if (pos >= text.length) invalid(s"the JSON ends early, expected $expected")
      else invalid(s"invalid JSON at position $pos: expected $expected")

    private def expectChar(wanted: Char): Unit =
      if (peek().contains(wanted)) pos += 1 else syntaxError(s"`$wanted`")

    private def expectObjectStart(what: String): Unit = peek() match {
      case Some('{') => pos += 1
      case next => next.flatMap(valueKind) match {
        case Some(kind) => invalid(s"$what must be a JSON object, found $kind")
        case None => syntaxError(s"a JSON object for $what")
      }
    }

    private def tryObjectEnd(): Boolean = {
      val atEnd = peek().contains('}')
      if (atEnd) pos += 1
      atEnd
    }

    private def commaOrObjectEnd(): Boolean = peek() match {
      case Some(',') => pos += 1; true
      case Some('}') => pos += 1; false
      case _ => syntaxError("`,` or `}`")
    }

    private def expectEnd(): Unit =
      if (peek().isDefined) invalid(s"unexpected content after the JSON object at position $pos")

    private def string(): String = {
      if (!peek().contains('"')) syntaxError("a JSON string")
      pos += 1
      val out = new java.lang.StringBuilder
      while (true) {
        if (pos >= text.length) invalid("the JSON ends inside a string")
        text.charAt(pos) match {
          case '"' =>
            pos += 1
            return out.toString
          case '\\' =>
            pos += 1
            out.appendCodePoint(escape())
          case c if c < ' ' => syntaxError("no raw control character inside a string")
          case c =>
            out.append(c)
            pos += 1
        }
      }
      throw new IllegalStateException("unreachable")
    }

    // The code point of an escape sequence; `pos` is just past the backslash.
    private def escape(): Int = {
      if (pos >= text.length) syntaxError("an escape sequence")
      val simple = text.charAt(pos) match {
        case '"' => '"'.toInt
        case '\\' => '\\'.toInt
        case '/' => '/'.toInt
        case 'b' => '\b'.toInt
        case 'f' => '\f'.toInt
        case 'n' => '\n'.toInt
        case 'r' => '\r'.toInt
        case 't' => '\t'.toInt
        case 'u' => -1
        case _ => syntaxError("a valid escape sequence")
      }
      pos += 1
      if (simple >= 0) simple
      else {
        val first = hex4()
        if (first >= 0xD800 && first < 0xDC00) {
          // A high surrogate must be followed by `\u` and a low surrogate (a UTF-16 pair).
          if (!text.startsWith("\\u", pos)) syntaxError("the low half of a UTF-16 surrogate pair")
          pos += 2
          val second = hex4()
          if (second < 0xDC00 || second >= 0xE000) syntaxError("the low half of a UTF-16 surrogate pair")
          0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else if (first >= 0xDC00 && first < 0xE000) syntaxError("a Unicode scalar value")
        else first
      }
    }

    private def hex4(): Int = {
      val digits = if (pos + 4 <= text.length) text.substring(pos, pos + 4) else ""
      if (digits.length != 4 || !digits.forall(c => Character.digit(c, 16) >= 0 && c < 128)) syntaxError("four hex digits")
      pos += 4
      Integer.parseInt(digits, 16)
    }

    // An offset: a JSON integer from 0 to Long.MaxValue.
    private def offset(topic: String, partition: Int): Long = {
      def atFault = s"offset of topic ${quoted(topic)} partition $partition"
      peek() match {
        case Some(c) if c == '-' || (c >= '0' && c <= '9') =>
        case Some(c) => invalid(s"$atFault must be an integer, found ${valueKind(c).getOrElse("invalid JSON")}")
        case None => syntaxError("an offset")
      }
      val number = numberToken()
      if (number.exists(c => c == '.' || c == 'e' || c == 'E')) invalid(s"$atFault must be an integer, found ${quoted(number)}")
      if (number.startsWith("-"))
        invalid(s"$atFault is ${quoted(number)}: end offsets are positions in the log and never negative " +
          "(-1 and -2 mean latest/earliest only in starting offsets)")
      try number.toLong
      catch {
        case _: NumberFormatException =>
          invalid(s"$atFault is ${quoted(number)}, larger than the largest Kafka offset ${Long.MaxValue}")
      }
    }

    // A JSON number token (RFC 8259 grammar), as text.
    private def numberToken(): String = {
      val start = pos
      def isDigit(at: Int) = at < text.length && text.charAt(at) >= '0' && text.charAt(at) <= '9'
      def digitsFrom(from: Int): Int = { var at = from; while (isDigit(at)) at += 1; at }
      var at = start
      if (at < text.length && text.charAt(at) == '-') at += 1
      if (at < text.length && text.charAt(at) == '0') at += 1
      else if (isDigit(at)) at = digitsFrom(at)
      else { pos = at; syntaxError("a digit") }
      if (at < text.length && text.charAt(at) == '.') {
        val afterPoint = digitsFrom(at + 1)
        if (afterPoint == at + 1) { pos = afterPoint; syntaxError("a digit after the decimal point") }
        at = afterPoint
      }
      if (at < text.length && (text.charAt(at) == 'e' || text.charAt(at) == 'E')) {
        at += 1
        if (at < text.length && (text.charAt(at) == '+' || text.charAt(at) == '-')) at += 1
        val afterExponent = digitsFrom(at)
        if (afterExponent == at) { pos = at; syntaxError("a digit in the exponent") }
        at = afterExponent
      }
      pos = at
      text.substring(start, at)
    }

    private def valueKind(c: Char): Option[String] = c match {
      case '"' => Some("a string")
      case '[' => Some("an array")
      case '{' => Some("an object")
      case 't' | 'f' => Some("a boolean")
      case 'n' => Some("null")
      case c if c == '-' || (c >= '0' && c <= '9') => Some("a number")
      case _ => None
    }
  }
}
