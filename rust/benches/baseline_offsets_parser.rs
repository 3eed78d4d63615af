//! PRE-CHANGE BASELINE, kept only for `parser_speed` in `engine.rs`: the hand-written end-offset
//! parser as `rust/src/offsets.rs` had it before the serde visitor replaced it (issue 9). Not used
//! by the crate; do not fix or extend it, so the comparison stays with what was replaced.

use std::collections::HashSet;
use std::fmt;

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
