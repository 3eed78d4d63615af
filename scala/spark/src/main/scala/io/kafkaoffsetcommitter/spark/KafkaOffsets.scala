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

  /** The typed form the core takes: topic -> partition -> offset, as Java maps. */
  def toJava: java.util.Map[String, java.util.Map[Integer, java.lang.Long]] = {
    val topics = new java.util.HashMap[String, java.util.Map[Integer, java.lang.Long]]()
    byTopic.foreach { case (topic, partitions) =>
      val javaPartitions = new java.util.HashMap[Integer, java.lang.Long]()
      partitions.foreach { case (partition, offset) => javaPartitions.put(partition, offset) }
      topics.put(topic, javaPartitions)
    }
    topics
  }
}

private[spark] object KafkaOffsets {

  /**
   * Parses Spark's Kafka end-offset JSON with the same rules as the native core's parser
   * (rust/src/offsets.rs `parse_end_offsets`; both suites run tests/fixtures/offset_rules.json), so
   * that what the listener accepts the core accepts too: an object of topic objects; Kafka-legal topic names; partition keys written as plain
   * non-negative decimal `Int`s; offsets that are JSON integers from 0 to `Long.MaxValue`; no topic
   * or partition twice; JSON whitespace only. Anything else throws one IllegalArgumentException whose
   * message starts with "invalid offsets:" and names the part at fault.
   */
  def parse(json: String): KafkaOffsets = read(json)

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

  // Spark's own Jackson, streaming (no tree), with duplicate keys refused: a map would silently keep
  // the last of two, and a duplicate here means the input is corrupt.
  private val JsonFactory = new com.fasterxml.jackson.core.JsonFactory()
    .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)

  private def read(json: String): KafkaOffsets = {
    import com.fasterxml.jackson.core.{JsonParser, JsonProcessingException, JsonToken}
    def kind(token: JsonToken): String = Option(token).fold("the end of the input") {
      case JsonToken.START_ARRAY => "an array"
      case JsonToken.START_OBJECT => "an object"
      case JsonToken.VALUE_STRING => "a string"
      case JsonToken.VALUE_NUMBER_INT | JsonToken.VALUE_NUMBER_FLOAT => "a number"
      case JsonToken.VALUE_TRUE | JsonToken.VALUE_FALSE => "a boolean"
      case JsonToken.VALUE_NULL => "null"
      case other => other.asString
    }
    def expectObject(parser: JsonParser, what: String): Unit = {
      val token = parser.nextToken()
      if (token != JsonToken.START_OBJECT) invalid(s"$what must be a JSON object, found ${kind(token)}")
    }
    def offset(parser: JsonParser, topic: String, partition: Int): Long = {
      val atFault = s"the offset of topic ${quoted(topic)} partition $partition"
      parser.nextToken() match {
        case JsonToken.VALUE_NUMBER_INT =>
          val text = parser.getText
          if (text.startsWith("-"))
            invalid(s"$atFault is ${quoted(text)}: end offsets are positions in the log and never negative")
          if (parser.getNumberType == JsonParser.NumberType.BIG_INTEGER)
            invalid(s"$atFault is ${quoted(text)}, larger than the largest Kafka offset ${Long.MaxValue}")
          parser.getLongValue
        case JsonToken.VALUE_NUMBER_FLOAT => invalid(s"$atFault must be an integer, found ${quoted(parser.getText)}")
        case other => invalid(s"$atFault must be an integer, found ${kind(other)}")
      }
    }
    val parser = JsonFactory.createParser(json)
    try {
      val byTopic = Map.newBuilder[String, Map[Int, Long]]
      expectObject(parser, "the end offsets")
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        val topic = parser.getCurrentName
        checkTopicName(topic)
        expectObject(parser, s"topic ${quoted(topic)}")
        val partitions = Map.newBuilder[Int, Long]
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          val partition = partitionNumber(topic, parser.getCurrentName)
          partitions += partition -> offset(parser, topic, partition)
        }
        val topicOffsets = partitions.result()
        // A topic without partitions contributes nothing, as in the core.
        if (topicOffsets.nonEmpty) byTopic += topic -> topicOffsets
      }
      if (parser.nextToken() != null) invalid("unexpected content after the JSON object")
      KafkaOffsets(byTopic.result())
    } catch {
      case e: JsonProcessingException =>
        // Jackson's message quotes the input; keep only its first line (the reason), shortened.
        val reason = Option(e.getOriginalMessage).getOrElse("malformed").linesIterator.toSeq.headOption.getOrElse("")
        val duplicate = "Duplicate field '(.*)'".r.findFirstMatchIn(reason).map(_.group(1))
        duplicate match {
          case Some(name) if parser.getParsingContext.getParent != null && parser.getParsingContext.getParent.inRoot =>
            invalid(s"topic ${quoted(name)} appears twice")
          case Some(name) => invalid(s"partition $name of topic ${quoted(parser.getParsingContext.getParent.getCurrentName)} appears twice")
          case None => invalid(s"invalid JSON: ${reason.take(MaxQuotedChars * 2)}")
        }
    } finally parser.close()
  }
}
