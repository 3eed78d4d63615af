//! Spark's Kafka end-offset JSON and the metadata string stored with a commit.
//!
//! Spark renders a batch's end offsets as `{"topic":{"0":123,"1":456}}`: topic -> partition
//! number (as a string) -> next offset to read, which is exactly what a group commit stores.
//! serde_json reads the text; one visitor builds the list directly (no `serde_json::Value` tree)
//! and refuses duplicate keys, which a generic map would silently collapse into the last one:
//! a duplicate here means the input is corrupt. The same value checks serve callers that hand
//! in the list itself (`validate_offsets`).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::value::RawValue;

/// Brokers reject longer commit metadata with `OFFSET_METADATA_TOO_LARGE` under the default
/// `offset.metadata.max.bytes`.
pub const MAX_METADATA_BYTES: usize = 4096;

/// Kafka's limit on topic name length (`Topic.MAX_NAME_LENGTH`).
const MAX_TOPIC_NAME_CHARS: usize = 249;

/// Longest piece of input quoted back in an error message.
const MAX_QUOTED_CHARS: usize = 60;

/// The position to commit for one partition: the next offset a consumer of the group reads.
/// Field order makes the derived ordering (topic, partition, offset).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Why offsets or a metadata string were refused; the message names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetsError(pub String);

impl fmt::Display for OffsetsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid offsets: {}", self.0)
    }
}

impl std::error::Error for OffsetsError {}

/// Parses Spark's end-offset JSON into one entry per partition, sorted by (topic, partition).
///
/// Keys may come in any order; whitespace follows JSON. Refused: anything but an object of
/// topic objects, invalid topic names, partition keys that are not plain non-negative decimal
/// `i32` numbers, offsets that are not non-negative `i64` integers, and duplicate topics or
/// partitions. Messages give serde_json's line and column.
pub fn parse_end_offsets(json: &str) -> Result<Vec<PartitionOffset>, OffsetsError> {
    let mut offsets = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(json);
    Object { topic: None, offsets: &mut offsets }.deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(|e| {
        OffsetsError(format!("unexpected content after the JSON object at line {} column {}", e.line(), e.column()))
    })?;
    sort_refusing_duplicates(offsets)
}

/// The typed entry for callers that already hold the offsets (the JVM's arrays): the checks of
/// `parse_end_offsets` on each value (topic names, partition >= 0, offset >= 0), duplicate
/// (topic, partition) pairs refused, the result sorted by (topic, partition).
pub fn validate_offsets(offsets: Vec<PartitionOffset>) -> Result<Vec<PartitionOffset>, OffsetsError> {
    let offsets = sort_refusing_duplicates(offsets)?;
    let mut previous_topic = None;
    for entry in &offsets {
        if previous_topic != Some(&entry.topic) {
            check_topic_name(&entry.topic)?;
            previous_topic = Some(&entry.topic);
        }
        if entry.partition < 0 {
            return Err(OffsetsError(format!(
                "partition {} of topic {} is negative",
                entry.partition,
                quoted(&entry.topic)
            )));
        }
        check_offset(&entry.topic, entry.partition, entry.offset)?;
    }
    Ok(offsets)
}

/// A batch's end offsets, checked: what a commit takes, whether it came as Spark's JSON or as typed
/// data. Sorted by (topic, partition), each partition once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndOffsets(Vec<PartitionOffset>);

impl EndOffsets {
    pub fn into_vec(self) -> Vec<PartitionOffset> {
        self.0
    }
}

impl TryFrom<&str> for EndOffsets {
    type Error = OffsetsError;

    /// Spark's end-offset JSON (see [`parse_end_offsets`]).
    fn try_from(json: &str) -> Result<Self, OffsetsError> {
        parse_end_offsets(json).map(EndOffsets)
    }
}

impl TryFrom<&String> for EndOffsets {
    type Error = OffsetsError;

    fn try_from(json: &String) -> Result<Self, OffsetsError> {
        EndOffsets::try_from(json.as_str())
    }
}

impl TryFrom<Vec<PartitionOffset>> for EndOffsets {
    type Error = OffsetsError;

    /// Typed offsets, held to the same rules (see [`validate_offsets`]).
    fn try_from(offsets: Vec<PartitionOffset>) -> Result<Self, OffsetsError> {
        validate_offsets(offsets).map(EndOffsets)
    }
}

/// Refuses commit metadata that brokers with the default limit would refuse.
///
/// Brokers count UTF-16 code units; UTF-8 bytes are never fewer, so counting bytes never lets
/// through a string the broker refuses (it may refuse some non-ASCII strings the broker takes).
pub fn validate_metadata(metadata: &str) -> Result<(), OffsetsError> {
    if metadata.len() > MAX_METADATA_BYTES {
        return Err(OffsetsError(format!(
            "commit metadata is {} bytes; Kafka brokers accept at most {MAX_METADATA_BYTES} \
             (offset.metadata.max.bytes)",
            metadata.len()
        )));
    }
    Ok(())
}

/// Quotes user input for an error message, shortened so a huge input cannot flood a log line.
fn quoted(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        format!("`{text}`")
    } else {
        let head: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        format!("`{head}...`")
    }
}

/// Kafka's own topic name rules (`Topic.validate`): a name that breaks them cannot exist on a
/// broker, so it can only come from corrupted offsets.
fn check_topic_name(topic: &str) -> Result<(), OffsetsError> {
    if topic.is_empty() {
        return Err(OffsetsError("a topic name is empty".to_string()));
    }
    if topic == "." || topic == ".." {
        return Err(OffsetsError(format!("topic name {} is not allowed by Kafka", quoted(topic))));
    }
    if topic.len() > MAX_TOPIC_NAME_CHARS {
        return Err(OffsetsError(format!(
            "topic name {} is longer than Kafka's limit of {MAX_TOPIC_NAME_CHARS} characters",
            quoted(topic)
        )));
    }
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if !topic.chars().all(legal) {
        return Err(OffsetsError(format!(
            "topic name {} has characters Kafka does not allow (only ASCII letters, digits, \
             `.`, `_` and `-`)",
            quoted(topic)
        )));
    }
    Ok(())
}

fn check_offset(topic: &str, partition: i32, offset: i64) -> Result<(), OffsetsError> {
    if offset < 0 {
        return Err(negative_offset(topic, partition, &offset.to_string()));
    }
    Ok(())
}

/// `shown` is the offset as the caller wrote it (JSON text may be below `i64::MIN`).
fn negative_offset(topic: &str, partition: i32, shown: &str) -> OffsetsError {
    OffsetsError(format!(
        "offset of topic {} partition {partition} is {}: end offsets are positions in the log and \
         never negative (-1 and -2 mean latest/earliest only in starting offsets)",
        quoted(topic),
        quoted(shown)
    ))
}

/// Sorts by (topic, partition, offset), so that equal (topic, partition) pairs become neighbours.
fn sort_refusing_duplicates(mut offsets: Vec<PartitionOffset>) -> Result<Vec<PartitionOffset>, OffsetsError> {
    offsets.sort_unstable();
    match offsets.windows(2).find(|pair| pair[0].partition == pair[1].partition && pair[0].topic == pair[1].topic) {
        Some(pair) => Err(OffsetsError(format!(
            "partition {} of topic {} appears twice",
            pair[0].partition,
            quoted(&pair[0].topic)
        ))),
        None => Ok(offsets),
    }
}

/// Accepts only the form Spark writes (`0`, `17`): with one spelling per number, a duplicate
/// partition is always a duplicate key.
fn partition_number(topic: &str, key: &str) -> Result<i32, OffsetsError> {
    let at_fault = || format!("partition key {} of topic {}", quoted(key), quoted(topic));
    if let Some(magnitude) = key.strip_prefix('-') {
        if !magnitude.is_empty() && magnitude.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OffsetsError(format!("{} is negative", at_fault())));
        }
    }
    let canonical = !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) && (key == "0" || !key.starts_with('0'));
    if !canonical {
        return Err(OffsetsError(format!("{} is not a plain decimal partition number", at_fault())));
    }
    key.parse::<i32>()
        .map_err(|_| OffsetsError(format!("{} exceeds the largest partition number {}", at_fault(), i32::MAX)))
}

/// An offset from its JSON text (one valid JSON value, as serde_json checked it): an integer
/// from 0 to `i64::MAX`, written without fraction or exponent.
fn offset_number(topic: &str, partition: i32, text: &str) -> Result<i64, OffsetsError> {
    let at_fault = || format!("offset of topic {} partition {partition}", quoted(topic));
    let kind = text.bytes().next().map_or("nothing", value_kind);
    if kind != "a number" {
        return Err(OffsetsError(format!("{} must be an integer, found {kind}", at_fault())));
    }
    if text.contains(['.', 'e', 'E']) {
        return Err(OffsetsError(format!("{} must be an integer, found {}", at_fault(), quoted(text))));
    }
    if text.starts_with('-') {
        return Err(negative_offset(topic, partition, text));
    }
    text.parse::<i64>().map_err(|_| {
        OffsetsError(format!("{} is {}, larger than the largest Kafka offset {}", at_fault(), quoted(text), i64::MAX))
    })
}

/// Names the JSON value that starts with `byte`, for "found ..." messages.
fn value_kind(byte: u8) -> &'static str {
    match byte {
        b'"' => "a string",
        b'[' => "an array",
        b'{' => "an object",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

/// serde_json's errors as ours: the visitor's own (data) messages unchanged, serde_json's
/// syntax messages marked as such; every one ends with the line and column.
fn json_error(error: serde_json::Error) -> OffsetsError {
    match error.classify() {
        Category::Data => OffsetsError(error.to_string()),
        Category::Eof => OffsetsError(format!("the JSON ends early ({error})")),
        Category::Syntax | Category::Io => OffsetsError(format!("invalid JSON: {error}")),
    }
}

fn refuse<E: de::Error>(error: OffsetsError) -> E {
    E::custom(error.0)
}

/// A JSON object: the whole input (`topic` is `None`, members are topics) or one topic's
/// partitions (members are partition -> offset). Entries go straight into `offsets`.
struct Object<'a> {
    topic: Option<&'a str>,
    offsets: &'a mut Vec<PartitionOffset>,
}

impl Object<'_> {
    fn not_an_object<E: de::Error>(&self, found: &str) -> Result<(), E> {
        let what = match self.topic {
            None => "the end offsets".to_string(),
            Some(topic) => format!("topic {}", quoted(topic)),
        };
        Err(refuse(OffsetsError(format!("{what} must be a JSON object, found {found}"))))
    }
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // `any`, not `map`: other kinds reach the visitor, which names them in its message.
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.topic {
            None => {
                let mut topics = HashSet::new();
                while let Some(topic) = map.next_key::<String>()? {
                    check_topic_name(&topic).map_err(refuse)?;
                    if !topics.insert(topic.clone()) {
                        return Err(refuse(OffsetsError(format!("topic {} appears twice", quoted(&topic)))));
                    }
                    map.next_value_seed(Object { topic: Some(&topic), offsets: &mut *self.offsets })?;
                }
            }
            Some(topic) => {
                while let Some(partition) = map.next_key_seed(PartitionKey { topic })? {
                    let text: &RawValue = map.next_value()?;
                    let offset = offset_number(topic, partition, text.get()).map_err(refuse)?;
                    self.offsets.push(PartitionOffset { topic: topic.to_string(), partition, offset });
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object("an array")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }
}

/// A partition key of `topic`, read as a borrowed string where the JSON has no escapes.
struct PartitionKey<'a> {
    topic: &'a str,
}

impl<'de> DeserializeSeed<'de> for PartitionKey<'_> {
    type Value = i32;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<i32, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for PartitionKey<'_> {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a partition number as a JSON string")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<i32, E> {
        partition_number(self.topic, key).map_err(refuse)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn offset(topic: &str, partition: i32, offset: i64) -> PartitionOffset {
        PartitionOffset { topic: topic.to_string(), partition, offset }
    }

    fn parse_error(json: &str) -> String {
        match parse_end_offsets(json) {
            Ok(parsed) => panic!("expected an error for {json}, parsed {parsed:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepted_end_offsets() {
        let extreme = format!(r#"{{"t":{{"{}":{},"0":0}}}}"#, i32::MAX, i64::MAX);
        let longest_topic = "t".repeat(249);
        let longest_topic_json = format!(r#"{{"{longest_topic}":{{"0":1}}}}"#);
        #[rustfmt::skip]
        let rows: Vec<(&str, &str, Vec<PartitionOffset>)> = vec![
            ("sorted by topic, then partition", r#"{"b":{"1":456,"0":123},"a":{"10":7,"2":9}}"#,
                vec![offset("a", 2, 9), offset("a", 10, 7), offset("b", 0, 123), offset("b", 1, 456)]),
            ("empty object", "{}", vec![]),
            ("empty object in whitespace", " \n{ \t}\r\n", vec![]),
            ("topic without partitions", r#"{"t":{}}"#, vec![]),
            ("whitespace everywhere JSON allows it", " {\n \"t\" :\t{ \"0\" : 5 ,\r\n\"1\":6 } } ",
                vec![offset("t", 0, 5), offset("t", 1, 6)]),
            ("largest partition and offset", &extreme, vec![offset("t", 0, 0), offset("t", i32::MAX, i64::MAX)]),
            ("escaped topic name", r#"{"a\u002eb":{"0":1}}"#, vec![offset("a.b", 0, 1)]),
            ("escaped partition key", r#"{"t":{"\u0031":1}}"#, vec![offset("t", 1, 1)]),
            ("249-character topic name", &longest_topic_json, vec![offset(&longest_topic, 0, 1)]),
            ("same partition in two topics", r#"{"t":{"0":1},"u":{"0":2}}"#,
                vec![offset("t", 0, 1), offset("u", 0, 2)]),
        ];
        for (label, json, expected) in rows {
            assert_eq!(parse_end_offsets(json).as_ref(), Ok(&expected), "{label}: {json}");
        }
    }

    #[test]
    fn parses_thousands_of_partitions() {
        let partitions: Vec<String> = (0..5000).rev().map(|p| format!("\"{p}\":{}", p * 3)).collect();
        let json = format!(r#"{{"big":{{{}}},"small":{{"0":1}}}}"#, partitions.join(","));
        let parsed = parse_end_offsets(&json).unwrap();
        assert_eq!(parsed.len(), 5001);
        assert_eq!(parsed[0], offset("big", 0, 0));
        assert_eq!(parsed[4999], offset("big", 4999, 14997));
        assert_eq!(parsed[5000], offset("small", 0, 1));
    }

    /// Each row: label, input, fragments the message must contain. Syntax errors carry
    /// serde_json's wording and its line and column.
    #[test]
    fn refused_end_offsets() {
        let long_topic = format!(r#"{{"{}":{{"0":1}}}}"#, "t".repeat(250));
        #[rustfmt::skip]
        let rows: Vec<(&str, &str, &[&str])> = vec![
            // Not an object of topic objects.
            ("array", "[]", &["the end offsets must be a JSON object, found an array"]),
            ("null", "null", &["found null"]),
            ("string", r#""x""#, &["found a string"]),
            ("number", "5", &["found a number"]),
            ("empty input", "", &["ends early"]),
            ("only whitespace", "   ", &["ends early"]),
            ("not JSON", "x", &["invalid JSON", "line 1 column 1"]),
            ("topic is a number", r#"{"t":5}"#, &["topic `t` must be a JSON object, found a number"]),
            ("topic is an array", r#"{"t":[1]}"#, &["topic `t` must be a JSON object, found an array"]),
            ("topic is null", r#"{"t":null}"#, &["topic `t` must be a JSON object, found null"]),
            // Partition keys.
            ("letter key", r#"{"t":{"x":1}}"#,
                &["partition key `x` of topic `t`", "not a plain decimal partition number"]),
            ("negative key", r#"{"t":{"-1":1}}"#, &["partition key `-1` of topic `t` is negative"]),
            ("empty key", r#"{"t":{"":1}}"#, &["not a plain decimal"]),
            ("leading zero key", r#"{"t":{"01":1}}"#, &["partition key `01`", "not a plain decimal"]),
            ("plus sign key", r#"{"t":{"+1":1}}"#, &["not a plain decimal"]),
            ("space in key", r#"{"t":{" 1":1}}"#, &["not a plain decimal"]),
            ("fraction key", r#"{"t":{"1.0":1}}"#, &["not a plain decimal"]),
            ("key beyond i32", r#"{"t":{"2147483648":1}}"#, &["exceeds the largest partition number 2147483647"]),
            // Offsets.
            ("fraction", r#"{"t":{"3":1.5}}"#, &["offset of topic `t` partition 3 must be an integer, found `1.5`"]),
            ("exponent", r#"{"t":{"0":1e3}}"#, &["found `1e3`"]),
            ("zero fraction", r#"{"t":{"0":1.0}}"#, &["found `1.0`"]),
            ("string offset", r#"{"t":{"0":"5"}}"#, &["must be an integer, found a string"]),
            ("null offset", r#"{"t":{"0":null}}"#, &["found null"]),
            ("boolean offset", r#"{"t":{"0":true}}"#, &["found a boolean"]),
            ("object offset", r#"{"t":{"0":{}}}"#, &["found an object"]),
            ("array offset", r#"{"t":{"0":[1]}}"#, &["found an array"]),
            ("leading zero offset", r#"{"t":{"0":01}}"#, &["invalid JSON", "invalid number"]),
            ("sign only", r#"{"t":{"0":-}}"#, &["invalid JSON", "invalid number"]),
            ("no digit after point", r#"{"t":{"0":1.}}"#, &["invalid JSON", "invalid number"]),
            ("no digit in exponent", r#"{"t":{"0":1e}}"#, &["invalid JSON", "invalid number"]),
            ("offset -1", r#"{"t":{"0":-1}}"#,
                &["offset of topic `t` partition 0 is `-1`", "never negative", "starting offsets"]),
            ("offset -2", r#"{"t":{"0":-2}}"#, &["never negative"]),
            ("offset -0", r#"{"t":{"0":-0}}"#, &["is `-0`", "never negative"]),
            ("offset below i64", r#"{"t":{"0":-9223372036854775809}}"#, &["never negative"]),
            ("offset beyond i64", r#"{"t":{"0":9223372036854775808}}"#, &["larger than the largest Kafka offset"]),
            // Topic names.
            ("empty topic name", r#"{"":{"0":1}}"#, &["a topic name is empty"]),
            ("topic `..`", r#"{"..":{"0":1}}"#, &["topic name `..` is not allowed by Kafka"]),
            ("topic `.`", r#"{".":{"0":1}}"#, &["not allowed by Kafka"]),
            ("space in topic", r#"{"a b":{"0":1}}"#, &["characters Kafka does not allow"]),
            ("bad topic without partitions", r#"{"a b":{}}"#, &["characters Kafka does not allow"]),
            ("250-character topic", &long_topic, &["longer than Kafka's limit of 249"]),
            // Duplicates.
            ("duplicate topic", r#"{"t":{"0":1},"u":{"0":1},"t":{"1":2}}"#, &["topic `t` appears twice"]),
            ("duplicate partition", r#"{"t":{"1":1,"0":3,"1":2}}"#, &["partition 1 of topic `t` appears twice"]),
            // Malformed JSON.
            ("unclosed object", r#"{"t":{"0":1}"#, &["ends early"]),
            ("trailing comma of topics", r#"{"t":{"0":1},}"#, &["invalid JSON", "trailing comma"]),
            ("trailing comma of partitions", r#"{"t":{"0":1,}}"#, &["invalid JSON", "trailing comma"]),
            ("missing colon", r#"{"t" {"0":1}}"#, &["expected `:`"]),
            ("content after", r#"{"t":{"0":1}} x"#, &["unexpected content after the JSON object at line 1 column"]),
            ("second object", r#"{"t":{"0":1}}{}"#, &["unexpected content after"]),
            ("non-ASCII space after", "{\"t\":{\"0\":1}}\u{a0}", &["unexpected content"]),
            ("single quotes", r#"{'t':{"0":1}}"#, &["invalid JSON", "key must be a string"]),
            ("input ends inside a string", r#"{"t"#, &["ends early", "EOF while parsing a string"]),
            ("raw control character", "{\"t\n\":{}}", &["control character"]),
            ("unknown escape", r#"{"\x":{}}"#, &["invalid escape"]),
            ("short unicode escape", r#"{"\u12":{}}"#, &["invalid escape"]),
            ("lone high surrogate", r#"{"\ud800":{}}"#, &["invalid JSON", "unexpected end of hex escape"]),
            ("high surrogate, then no low one", r#"{"\ud800\u0041":{}}"#, &["surrogate"]),
            ("lone low surrogate", r#"{"\udc00":{}}"#, &["surrogate"]),
        ];
        let mut failures = Vec::new();
        for (label, json, fragments) in rows {
            let message = parse_error(json);
            if let Some(missing) = fragments.iter().find(|fragment| !message.contains(*fragment)) {
                failures.push(format!("{label}: {json}: `{message}` lacks `{missing}`"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn error_messages_stay_short_for_huge_values() {
        let digits = "9".repeat(100_000);
        let message = parse_error(&format!(r#"{{"t":{{"0":{digits}}}}}"#));
        assert!(message.len() < 300, "{}", message.len());
        let long_topic = parse_error(&format!(r#"{{"{}":{{"0":1}}}}"#, "t".repeat(250)));
        assert!(long_topic.len() < 200, "long names are shortened in messages: {long_topic}");
    }

    /// Label, input, then the sorted result or a fragment of the error message.
    type ValidationRow<'a> = (&'a str, Vec<PartitionOffset>, Result<Vec<PartitionOffset>, &'a str>);

    #[test]
    fn validated_offsets() {
        let long = "t".repeat(250);
        #[rustfmt::skip]
        let rows: Vec<ValidationRow> = vec![
            ("empty list", vec![], Ok(vec![])),
            ("sorted by topic, then partition",
                vec![offset("b", 1, 4), offset("a", 10, 7), offset("b", 0, 1), offset("a", 2, 9)],
                Ok(vec![offset("a", 2, 9), offset("a", 10, 7), offset("b", 0, 1), offset("b", 1, 4)])),
            ("largest and smallest values", vec![offset("t", i32::MAX, i64::MAX), offset("t", 0, 0)],
                Ok(vec![offset("t", 0, 0), offset("t", i32::MAX, i64::MAX)])),
            ("same partition in two topics", vec![offset("u", 0, 1), offset("t", 0, 1)],
                Ok(vec![offset("t", 0, 1), offset("u", 0, 1)])),
            ("duplicate partition", vec![offset("t", 1, 1), offset("t", 0, 1), offset("t", 1, 1)],
                Err("partition 1 of topic `t` appears twice")),
            ("duplicate partition, other offset", vec![offset("t", 1, 2), offset("t", 1, 1)],
                Err("partition 1 of topic `t` appears twice")),
            ("negative partition", vec![offset("t", -1, 1)], Err("partition -1 of topic `t` is negative")),
            ("negative offset", vec![offset("t", 0, -1)], Err("offset of topic `t` partition 0 is `-1`: end offsets")),
            ("smallest offset", vec![offset("t", 0, i64::MIN)], Err("never negative")),
            ("empty topic name", vec![offset("", 0, 1)], Err("a topic name is empty")),
            ("topic `..`", vec![offset("..", 0, 1)], Err("topic name `..` is not allowed by Kafka")),
            ("space in topic", vec![offset("a b", 0, 1)], Err("characters Kafka does not allow")),
            ("250-character topic", vec![offset(&long, 0, 1)], Err("longer than Kafka's limit of 249")),
            ("bad second topic", vec![offset("ok", 0, 1), offset("not/ok", 0, 1)], Err("topic name `not/ok`")),
        ];
        for (label, input, expected) in rows {
            match (validate_offsets(input), expected) {
                (Ok(got), Ok(wanted)) => assert_eq!(got, wanted, "{label}"),
                (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{label}: {e}"),
                (got, wanted) => panic!("{label}: got {got:?}, wanted {wanted:?}"),
            }
        }
    }

    #[test]
    fn metadata_up_to_the_broker_default_limit_is_accepted() {
        assert!(validate_metadata("").is_ok());
        assert!(validate_metadata(&"m".repeat(MAX_METADATA_BYTES)).is_ok());
        let message = validate_metadata(&"m".repeat(MAX_METADATA_BYTES + 1)).unwrap_err().to_string();
        assert!(message.contains("4097 bytes"), "{message}");
        assert!(message.contains("offset.metadata.max.bytes"), "{message}");
    }

    #[test]
    fn metadata_length_counts_utf8_bytes() {
        // 2048 two-byte characters fill the limit exactly; one more byte goes over it.
        let full = "é".repeat(MAX_METADATA_BYTES / 2);
        assert!(validate_metadata(&full).is_ok());
        assert!(validate_metadata(&format!("{full}x")).is_err());
    }

    /// xorshift64*: deterministic pseudo-random numbers without a dependency.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }

        fn whitespace(&mut self) -> &'static str {
            [" ", "", "\n", "\t ", "\r\n", ""][self.below(6) as usize]
        }
    }

    fn random_offsets(random: &mut Random) -> Vec<PartitionOffset> {
        const TOPIC_CHARS: &[u8] = b"abcXYZ019._-";
        let mut offsets = Vec::new();
        for _ in 0..random.below(6) {
            let name_len = 1 + random.below(12) as usize;
            let topic: String = (0..name_len)
                .map(|_| char::from(TOPIC_CHARS[random.below(TOPIC_CHARS.len() as u64) as usize]))
                .collect();
            if topic == "." || topic == ".." || offsets.iter().any(|o: &PartitionOffset| o.topic == topic) {
                continue;
            }
            let mut partitions = HashSet::new();
            for _ in 0..1 + random.below(20) {
                let partition = match random.below(4) {
                    0 => i32::MAX - random.below(3) as i32,
                    _ => random.below(64) as i32,
                };
                let offset = match random.below(4) {
                    0 => i64::MAX - random.below(3) as i64,
                    1 => 0,
                    _ => (random.next() >> random.below(64)) as i64 & i64::MAX,
                };
                if partitions.insert(partition) {
                    offsets.push(PartitionOffset { topic: topic.clone(), partition, offset });
                }
            }
        }
        offsets
    }

    /// Renders in the given entry order with random whitespace, the way another JSON writer
    /// (Spark's json4s over hash maps) may order keys.
    fn render_shuffled(offsets: &[PartitionOffset], random: &mut Random) -> String {
        let mut topics: Vec<&str> = offsets.iter().map(|o| o.topic.as_str()).collect();
        topics.dedup();
        let mut json = format!("{}{{", random.whitespace());
        for (index, topic) in topics.iter().enumerate() {
            let members: Vec<String> = offsets
                .iter()
                .filter(|o| o.topic == *topic)
                .map(|o| {
                    format!(
                        "{}\"{}\"{}:{}{}",
                        random.whitespace(),
                        o.partition,
                        random.whitespace(),
                        random.whitespace(),
                        o.offset
                    )
                })
                .collect();
            if index > 0 {
                json.push(',');
            }
            json.push_str(&format!(
                "{}\"{topic}\":{}{{{}}}",
                random.whitespace(),
                random.whitespace(),
                members.join(",")
            ));
        }
        json.push_str(&format!("{}}}{}", random.whitespace(), random.whitespace()));
        json
    }

    /// Spark's shape from a serializer, topics and partitions in ascending order.
    fn render_sorted(offsets: &[PartitionOffset]) -> String {
        let mut by_topic: BTreeMap<&str, BTreeMap<i32, i64>> = BTreeMap::new();
        for entry in offsets {
            by_topic.entry(&entry.topic).or_default().insert(entry.partition, entry.offset);
        }
        serde_json::to_string(&by_topic).unwrap()
    }

    #[test]
    fn random_maps_render_and_parse_back_unchanged() {
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let mut offsets = random_offsets(&mut random);
            let shuffled = render_shuffled(&offsets, &mut random);
            let validated = validate_offsets(offsets.clone());
            offsets.sort();
            assert_eq!(parse_end_offsets(&shuffled).unwrap(), offsets, "{shuffled}");
            assert_eq!(validated.as_ref(), Ok(&offsets), "the typed entry agrees: {shuffled}");
            let canonical = render_sorted(&offsets);
            assert_eq!(parse_end_offsets(&canonical).unwrap(), offsets, "{canonical}");
        }
    }
}
