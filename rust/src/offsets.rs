//! Spark's Kafka end-offset JSON and the metadata string stored with a commit.
//!
//! Spark renders a batch's end offsets as `{"topic":{"0":123,"1":456}}`: topic -> partition
//! number (as a string) -> next offset to read, which is exactly what a group commit stores.
//! The parser is hand-written for this one shape: a generic JSON map would silently keep only
//! the last of two duplicate keys, and a duplicate here means the input is corrupt.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

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

/// Why an offsets JSON or a metadata string was refused; the message names the part at fault.
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
/// partitions.
pub fn parse_end_offsets(json: &str) -> Result<Vec<PartitionOffset>, OffsetsError> {
    let mut parser = Parser { text: json, pos: 0 };
    let mut offsets = Vec::new();
    let mut seen_topics = HashSet::new();

    parser.expect_object_start("the end offsets")?;
    let mut more_topics = !parser.try_object_end();
    while more_topics {
        let topic_at = parser.pos;
        let topic = parser.string()?;
        check_topic_name(&topic)?;
        if !seen_topics.insert(topic.clone()) {
            return Err(OffsetsError(format!("topic {} appears twice (byte {topic_at})", quoted(&topic))));
        }
        parser.expect_byte(b':')?;
        parser.expect_object_start(&format!("topic {}", quoted(&topic)))?;
        let first_of_topic = offsets.len();
        let mut more_partitions = !parser.try_object_end();
        while more_partitions {
            let key = parser.string()?;
            let partition = partition_number(&topic, &key)?;
            parser.expect_byte(b':')?;
            let offset = parser.offset(&topic, partition)?;
            offsets.push(PartitionOffset { topic: topic.clone(), partition, offset });
            more_partitions = parser.comma_or_object_end()?;
        }
        check_unique_partitions(&topic, &mut offsets[first_of_topic..])?;
        more_topics = parser.comma_or_object_end()?;
    }
    parser.expect_end()?;

    offsets.sort_unstable();
    Ok(offsets)
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

/// Renders offsets in Spark's shape, topics and partitions in ascending order so that equal
/// inputs render equally. A later entry for the same partition replaces an earlier one, as a
/// map insert would.
pub fn offsets_to_json(offsets: &[PartitionOffset]) -> String {
    let mut by_topic: BTreeMap<&str, BTreeMap<i32, i64>> = BTreeMap::new();
    for entry in offsets {
        by_topic.entry(&entry.topic).or_default().insert(entry.partition, entry.offset);
    }
    let mut json = String::from("{");
    for (topic_index, (topic, partitions)) in by_topic.iter().enumerate() {
        if topic_index > 0 {
            json.push(',');
        }
        push_json_string(&mut json, topic);
        json.push_str(":{");
        for (partition_index, (partition, offset)) in partitions.iter().enumerate() {
            if partition_index > 0 {
                json.push(',');
            }
            json.push_str(&format!("\"{partition}\":{offset}"));
        }
        json.push('}');
    }
    json.push('}');
    json
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
/// broker, so it can only come from a corrupted offsets string.
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

/// Accepts only the form Spark writes (`0`, `17`): with one spelling per number, a duplicate
/// partition is always a duplicate key and rendering gives back the same text.
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

/// `partitions` holds one topic's entries; sorting them lets neighbours reveal a duplicate.
fn check_unique_partitions(topic: &str, partitions: &mut [PartitionOffset]) -> Result<(), OffsetsError> {
    partitions.sort_unstable_by_key(|entry| entry.partition);
    match partitions.windows(2).find(|pair| pair[0].partition == pair[1].partition) {
        Some(pair) => {
            Err(OffsetsError(format!("partition {} of topic {} appears twice", pair[0].partition, quoted(topic))))
        }
        None => Ok(()),
    }
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A cursor over the input for the fixed shape above. Positions in messages are byte offsets.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.pos).copied()
    }

    fn syntax_error(&self, expected: &str) -> OffsetsError {
        match self.bytes().get(self.pos) {
            None => OffsetsError(format!("the JSON ends early, expected {expected}")),
            Some(_) => OffsetsError(format!("invalid JSON at byte {}: expected {expected}", self.pos)),
        }
    }

    fn expect_byte(&mut self, wanted: u8) -> Result<(), OffsetsError> {
        if self.peek() == Some(wanted) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax_error(&format!("`{}`", char::from(wanted))))
        }
    }

    fn expect_object_start(&mut self, what: &str) -> Result<(), OffsetsError> {
        let next = self.peek();
        if next == Some(b'{') {
            self.pos += 1;
            return Ok(());
        }
        match next.and_then(value_kind) {
            Some(kind) => Err(OffsetsError(format!("{what} must be a JSON object, found {kind}"))),
            None => Err(self.syntax_error(&format!("a JSON object for {what}"))),
        }
    }

    /// Consumes `}` if it comes next (an empty object).
    fn try_object_end(&mut self) -> bool {
        let at_end = self.peek() == Some(b'}');
        if at_end {
            self.pos += 1;
        }
        at_end
    }

    /// After a member: true when another member follows, false when the object closed.
    fn comma_or_object_end(&mut self) -> Result<bool, OffsetsError> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b'}') => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.syntax_error("`,` or `}`")),
        }
    }

    fn expect_end(&mut self) -> Result<(), OffsetsError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(OffsetsError(format!("unexpected content after the JSON object at byte {}", self.pos))),
        }
    }

    /// A JSON string, escapes resolved.
    fn string(&mut self) -> Result<String, OffsetsError> {
        if self.peek() != Some(b'"') {
            return Err(self.syntax_error("a JSON string"));
        }
        self.pos += 1;
        let mut value = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let plain_len = rest
                .bytes()
                .position(|b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or_else(|| OffsetsError("the JSON ends inside a string".to_string()))?;
            value.push_str(&rest[..plain_len]);
            self.pos += plain_len;
            match self.bytes()[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(value);
                }
                b'\\' => {
                    self.pos += 1;
                    value.push(self.escape()?);
                }
                _ => return Err(self.syntax_error("no raw control character inside a string")),
            }
        }
    }

    /// The character of an escape sequence; `pos` is just past the backslash.
    fn escape(&mut self) -> Result<char, OffsetsError> {
        let Some(&letter) = self.bytes().get(self.pos) else {
            return Err(self.syntax_error("an escape sequence"));
        };
        let simple = match letter {
            b'"' => Some('"'),
            b'\\' => Some('\\'),
            b'/' => Some('/'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            _ => None,
        };
        if let Some(c) = simple {
            self.pos += 1;
            return Ok(c);
        }
        if letter != b'u' {
            return Err(self.syntax_error("a valid escape sequence"));
        }
        self.pos += 1;
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            // A high surrogate must be followed by `\u` and a low surrogate (UTF-16 pair).
            if !self.text[self.pos..].starts_with("\\u") {
                return Err(self.syntax_error("the low half of a UTF-16 surrogate pair"));
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.syntax_error("the low half of a UTF-16 surrogate pair"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.syntax_error("a Unicode scalar value"))
    }

    fn hex4(&mut self) -> Result<u32, OffsetsError> {
        let digits = self.text.get(self.pos..self.pos + 4).unwrap_or("");
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.syntax_error("four hex digits"));
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.syntax_error("four hex digits"))
    }

    /// An offset: a JSON integer from 0 to `i64::MAX`.
    fn offset(&mut self, topic: &str, partition: i32) -> Result<i64, OffsetsError> {
        let at_fault = || format!("offset of topic {} partition {partition}", quoted(topic));
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {}
            Some(byte) => {
                let found = value_kind(byte).unwrap_or("invalid JSON");
                return Err(OffsetsError(format!("{} must be an integer, found {found}", at_fault())));
            }
            None => return Err(self.syntax_error("an offset")),
        }
        let number = self.number_token()?;
        let fractional = number.contains(['.', 'e', 'E']);
        if fractional {
            return Err(OffsetsError(format!("{} must be an integer, found {}", at_fault(), quoted(number))));
        }
        if number.starts_with('-') {
            return Err(OffsetsError(format!(
                "{} is {}: end offsets are positions in the log and never negative (-1 and -2 \
                 mean latest/earliest only in starting offsets)",
                at_fault(),
                quoted(number)
            )));
        }
        number.parse::<i64>().map_err(|_| {
            OffsetsError(format!(
                "{} is {}, larger than the largest Kafka offset {}",
                at_fault(),
                quoted(number),
                i64::MAX
            ))
        })
    }

    /// A JSON number token (RFC 8259 grammar), returned as text.
    fn number_token(&mut self) -> Result<&str, OffsetsError> {
        let start = self.pos;
        let text = self.text;
        let bytes = text.as_bytes();
        let digits_from = |mut at: usize| {
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            at
        };
        let mut at = start;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => at = digits_from(at),
            _ => {
                self.pos = at;
                return Err(self.syntax_error("a digit"));
            }
        }
        if bytes.get(at) == Some(&b'.') {
            let after_point = digits_from(at + 1);
            if after_point == at + 1 {
                self.pos = after_point;
                return Err(self.syntax_error("a digit after the decimal point"));
            }
            at = after_point;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let after_exponent = digits_from(at);
            if after_exponent == at {
                self.pos = at;
                return Err(self.syntax_error("a digit in the exponent"));
            }
            at = after_exponent;
        }
        self.pos = at;
        Ok(&text[start..at])
    }
}

/// Names the JSON value that starts with `byte`, for "found ..." messages.
fn value_kind(byte: u8) -> Option<&'static str> {
    match byte {
        b'"' => Some("a string"),
        b'[' => Some("an array"),
        b'{' => Some("an object"),
        b't' | b'f' => Some("a boolean"),
        b'n' => Some("null"),
        b'-' | b'0'..=b'9' => Some("a number"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
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
    fn parses_spark_offsets_sorted_by_topic_then_partition() {
        let parsed = parse_end_offsets(r#"{"b":{"1":456,"0":123},"a":{"10":7,"2":9}}"#).unwrap();
        assert_eq!(parsed, vec![offset("a", 2, 9), offset("a", 10, 7), offset("b", 0, 123), offset("b", 1, 456)]);
    }

    #[test]
    fn empty_object_is_no_offsets() {
        assert_eq!(parse_end_offsets("{}").unwrap(), vec![]);
        assert_eq!(parse_end_offsets(" \n{ \t}\r\n").unwrap(), vec![]);
    }

    #[test]
    fn topic_without_partitions_contributes_nothing() {
        assert_eq!(parse_end_offsets(r#"{"t":{}}"#).unwrap(), vec![]);
    }

    #[test]
    fn accepts_whitespace_everywhere_json_allows_it() {
        let parsed = parse_end_offsets(" {\n \"t\" :\t{ \"0\" : 5 ,\r\n\"1\":6 } } ").unwrap();
        assert_eq!(parsed, vec![offset("t", 0, 5), offset("t", 1, 6)]);
    }

    #[test]
    fn accepts_extreme_values() {
        let json = format!(r#"{{"t":{{"{}":{},"0":0}}}}"#, i32::MAX, i64::MAX);
        assert_eq!(parse_end_offsets(&json).unwrap(), vec![offset("t", 0, 0), offset("t", i32::MAX, i64::MAX)]);
    }

    #[test]
    fn accepts_escaped_topic_names() {
        assert_eq!(parse_end_offsets(r#"{"a\u002eb":{"0":1}}"#).unwrap(), vec![offset("a.b", 0, 1)]);
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

    #[test]
    fn rejects_non_objects() {
        assert!(parse_error("[]").contains("must be a JSON object, found an array"));
        assert!(parse_error("null").contains("found null"));
        assert!(parse_error(r#""x""#).contains("found a string"));
        assert!(parse_error("").contains("ends early"));
        assert!(parse_error("   ").contains("ends early"));
        assert!(parse_error("x").contains("byte 0"));
    }

    #[test]
    fn rejects_topic_values_that_are_not_objects() {
        let message = parse_error(r#"{"t":5}"#);
        assert!(message.contains("topic `t` must be a JSON object, found a number"), "{message}");
        assert!(parse_error(r#"{"t":[1]}"#).contains("found an array"));
        assert!(parse_error(r#"{"t":null}"#).contains("found null"));
    }

    #[test]
    fn rejects_bad_partition_keys() {
        let message = parse_error(r#"{"t":{"x":1}}"#);
        assert!(message.contains("partition key `x` of topic `t`"), "{message}");
        assert!(message.contains("not a plain decimal partition number"), "{message}");
        assert!(parse_error(r#"{"t":{"-1":1}}"#).contains("`-1` of topic `t` is negative"));
        assert!(parse_error(r#"{"t":{"":1}}"#).contains("not a plain decimal"));
        assert!(parse_error(r#"{"t":{"01":1}}"#).contains("not a plain decimal"));
        assert!(parse_error(r#"{"t":{"+1":1}}"#).contains("not a plain decimal"));
        assert!(parse_error(r#"{"t":{" 1":1}}"#).contains("not a plain decimal"));
        assert!(parse_error(r#"{"t":{"1.0":1}}"#).contains("not a plain decimal"));
        let too_big = parse_error(r#"{"t":{"2147483648":1}}"#);
        assert!(too_big.contains("exceeds the largest partition number 2147483647"), "{too_big}");
    }

    #[test]
    fn rejects_offsets_that_are_not_integers() {
        let message = parse_error(r#"{"t":{"3":1.5}}"#);
        assert!(message.contains("offset of topic `t` partition 3 must be an integer, found `1.5`"), "{message}");
        assert!(parse_error(r#"{"t":{"0":1e3}}"#).contains("found `1e3`"));
        assert!(parse_error(r#"{"t":{"0":1.0}}"#).contains("found `1.0`"));
        assert!(parse_error(r#"{"t":{"0":"5"}}"#).contains("found a string"));
        assert!(parse_error(r#"{"t":{"0":null}}"#).contains("found null"));
        assert!(parse_error(r#"{"t":{"0":true}}"#).contains("found a boolean"));
        assert!(parse_error(r#"{"t":{"0":{}}}"#).contains("found an object"));
        assert!(parse_error(r#"{"t":{"0":01}}"#).contains("expected `,` or `}`"));
        assert!(parse_error(r#"{"t":{"0":-}}"#).contains("expected a digit"));
        assert!(parse_error(r#"{"t":{"0":1.}}"#).contains("after the decimal point"));
        assert!(parse_error(r#"{"t":{"0":1e}}"#).contains("in the exponent"));
    }

    #[test]
    fn rejects_negative_offsets_explaining_why() {
        let message = parse_error(r#"{"t":{"0":-1}}"#);
        assert!(message.contains("offset of topic `t` partition 0 is `-1`"), "{message}");
        assert!(message.contains("never negative"), "{message}");
        assert!(message.contains("starting offsets"), "{message}");
        assert!(parse_error(r#"{"t":{"0":-2}}"#).contains("never negative"));
    }

    #[test]
    fn rejects_offsets_beyond_i64() {
        let message = parse_error(r#"{"t":{"0":9223372036854775808}}"#);
        assert!(message.contains("larger than the largest Kafka offset"), "{message}");
    }

    #[test]
    fn rejects_bad_topic_names() {
        assert!(parse_error(r#"{"":{"0":1}}"#).contains("a topic name is empty"));
        assert!(parse_error(r#"{"..":{"0":1}}"#).contains("not allowed by Kafka"));
        assert!(parse_error(r#"{"a b":{"0":1}}"#).contains("characters Kafka does not allow"));
        let long = "t".repeat(250);
        let message = parse_error(&format!(r#"{{"{long}":{{"0":1}}}}"#));
        assert!(message.contains("longer than Kafka's limit of 249"), "{message}");
        assert!(message.len() < 200, "long names are shortened in messages: {message}");
        assert!(parse_end_offsets(&format!(r#"{{"{}":{{"0":1}}}}"#, "t".repeat(249))).is_ok());
    }

    #[test]
    fn rejects_duplicate_topics_even_with_distinct_partitions() {
        let message = parse_error(r#"{"t":{"0":1},"u":{"0":1},"t":{"1":2}}"#);
        assert!(message.contains("topic `t` appears twice"), "{message}");
    }

    #[test]
    fn rejects_duplicate_partitions() {
        let message = parse_error(r#"{"t":{"1":1,"0":3,"1":2}}"#);
        assert!(message.contains("partition 1 of topic `t` appears twice"), "{message}");
    }

    #[test]
    fn rejects_malformed_json() {
        assert!(parse_error(r#"{"t":{"0":1}"#).contains("ends early"));
        assert!(parse_error(r#"{"t":{"0":1},}"#).contains("expected a JSON string"));
        assert!(parse_error(r#"{"t":{"0":1,}}"#).contains("expected a JSON string"));
        assert!(parse_error(r#"{"t" {"0":1}}"#).contains("expected `:`"));
        assert!(parse_error(r#"{"t":{"0":1}} x"#).contains("unexpected content after"));
        assert!(parse_error(r#"{"t":{"0":1}}{}"#).contains("unexpected content after"));
        assert!(parse_error(r#"{'t':{"0":1}}"#).contains("expected a JSON string"));
        assert!(parse_error(r#"{"t"#).contains("ends inside a string"));
        assert!(parse_error("{\"t\n\":{}}").contains("control character"));
        assert!(parse_error(r#"{"\x":{}}"#).contains("valid escape"));
        assert!(parse_error(r#"{"\u12":{}}"#).contains("four hex digits"));
        assert!(parse_error(r#"{"\ud800":{}}"#).contains("surrogate"));
        assert!(parse_error(r#"{"\ud800\u0041":{}}"#).contains("surrogate"));
        assert!(parse_error(r#"{"\udc00":{}}"#).contains("Unicode scalar"));
        assert!(parse_error("{\"t\":{\"0\":1}}\u{a0}").contains("unexpected content"));
    }

    #[test]
    fn error_messages_stay_short_for_huge_values() {
        let digits = "9".repeat(100_000);
        let message = parse_error(&format!(r#"{{"t":{{"0":{digits}}}}}"#));
        assert!(message.len() < 300, "{}", message.len());
    }

    #[test]
    fn renders_spark_shape_in_order() {
        let json = offsets_to_json(&[offset("b", 1, 456), offset("a", 10, 7), offset("b", 0, 123), offset("a", 2, 9)]);
        assert_eq!(json, r#"{"a":{"2":9,"10":7},"b":{"0":123,"1":456}}"#);
        assert_eq!(offsets_to_json(&[]), "{}");
    }

    #[test]
    fn rendering_keeps_the_last_entry_for_a_repeated_partition() {
        let json = offsets_to_json(&[offset("t", 0, 1), offset("t", 0, 2)]);
        assert_eq!(json, r#"{"t":{"0":2}}"#);
    }

    #[test]
    fn rendering_escapes_topic_names() {
        let json = offsets_to_json(&[offset("a\"b\\c\u{1}", 0, 1)]);
        assert_eq!(json, r#"{"a\"b\\c\u0001":{"0":1}}"#);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["a\"b\\c\u{1}"]["0"], 1);
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

    #[test]
    fn random_maps_render_and_parse_back_unchanged() {
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let mut offsets = random_offsets(&mut random);
            let shuffled = render_shuffled(&offsets, &mut random);
            offsets.sort();
            assert_eq!(parse_end_offsets(&shuffled).unwrap(), offsets, "{shuffled}");
            let canonical = offsets_to_json(&offsets);
            assert_eq!(parse_end_offsets(&canonical).unwrap(), offsets, "{canonical}");
            let value: serde_json::Value = serde_json::from_str(&canonical).unwrap();
            assert_eq!(value.as_object().unwrap().len(), {
                let mut topics: Vec<&str> = offsets.iter().map(|o| o.topic.as_str()).collect();
                topics.dedup();
                topics.len()
            });
        }
    }
}
