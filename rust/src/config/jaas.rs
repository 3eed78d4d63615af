//! `sasl.jaas.config` read like Java's `JaasConfig`: exactly one entry
//! `LoginModuleClass flag name=value ... ;`. Errors give a position, never input text, since
//! the whole value is secret.

use std::collections::BTreeMap;
use std::fmt;

/// One login module entry; the control flag is checked and then irrelevant.
pub(super) struct Entry {
    pub(super) module: String,
    /// A repeated option keeps its last value, as in Java.
    pub(super) options: BTreeMap<String, String>,
}

/// Option values hold passwords: only their names are shown.
impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("module", &self.module)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct JaasError {
    /// 1-based character position; `None` at the end of the text.
    position: Option<usize>,
    problem: &'static str,
}

impl JaasError {
    /// A problem at the 1-based character `position`.
    fn at(position: usize, problem: &'static str) -> Self {
        JaasError { position: Some(position), problem }
    }
}

impl fmt::Display for JaasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(position) => write!(f, "malformed JAAS configuration at character {position}: {}", self.problem),
            None => write!(f, "malformed JAAS configuration at its end: {}", self.problem),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// A bare word or a quoted string: Java treats both as text.
    Text(String),
    Semicolon,
    Equals,
    /// A character that is neither text nor punctuation (C1 control characters).
    Other,
}

const FLAGS: [&str; 4] = ["required", "requisite", "sufficient", "optional"];

pub(super) fn parse(text: &str) -> Result<Entry, JaasError> {
    let mut tokens = Tokenizer { chars: text.chars().collect(), at: 0 };
    let module = match tokens.expect("no login module entry")? {
        (_, Token::Text(module)) => module,
        (at, _) => return Err(JaasError::at(at, "expected a login module class name")),
    };
    match tokens.expect("the control flag is missing")? {
        (_, Token::Text(flag)) if FLAGS.iter().any(|known| flag.eq_ignore_ascii_case(known)) => {}
        (at, _) => {
            return Err(JaasError::at(at, "the control flag must be required, requisite, sufficient or optional"))
        }
    }

    const NO_EQUALS: &str = "expected `=` after an option name";
    const NO_VALUE: &str = "an option has no value";
    let mut options = BTreeMap::new();
    loop {
        let name = match tokens.expect("the entry is not terminated by `;`")? {
            (_, Token::Semicolon) => break,
            (_, Token::Text(name)) => name,
            (at, _) => return Err(JaasError::at(at, "expected an option name or `;`")),
        };
        match tokens.expect(NO_EQUALS)? {
            (_, Token::Equals) => {}
            (at, _) => return Err(JaasError::at(at, NO_EQUALS)),
        }
        match tokens.expect(NO_VALUE)? {
            (_, Token::Text(value)) => {
                options.insert(name, value);
            }
            (at, _) => return Err(JaasError::at(at, NO_VALUE)),
        }
    }
    if let Some((at, _)) = tokens.next()? {
        return Err(JaasError::at(at, "only one login module entry is allowed"));
    }
    Ok(Entry { module, options })
}

/// Java's `StreamTokenizer` as `JaasConfig` sets it up: characters up to space are
/// whitespace, `/` starts a comment (`//`, `/* */`, or alone to the end of the line), `"`
/// and `'` quote with backslash escapes, `;` and `=` are punctuation, C1 controls are
/// ordinary characters, everything else is a word character.
struct Tokenizer {
    chars: Vec<char>,
    at: usize,
}

impl Tokenizer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// The next token with its 1-based position; at the end, an error naming `problem`.
    fn expect(&mut self, problem: &'static str) -> Result<(usize, Token), JaasError> {
        self.next()?.ok_or(JaasError { position: None, problem })
    }

    /// The next token with its 1-based position, or `None` at the end.
    fn next(&mut self) -> Result<Option<(usize, Token)>, JaasError> {
        loop {
            let Some(c) = self.peek() else {
                return Ok(None);
            };
            let position = self.at + 1;
            match c {
                c if c <= ' ' => self.at += 1,
                '/' => self.skip_comment(),
                '"' | '\'' => return self.quoted(c, position).map(|text| Some((position, Token::Text(text)))),
                ';' => {
                    self.at += 1;
                    return Ok(Some((position, Token::Semicolon)));
                }
                '=' => {
                    self.at += 1;
                    return Ok(Some((position, Token::Equals)));
                }
                c if is_ordinary(c) => {
                    self.at += 1;
                    return Ok(Some((position, Token::Other)));
                }
                _ => {
                    let start = self.at;
                    while self.peek().is_some_and(is_word_char) {
                        self.at += 1;
                    }
                    let word = self.chars[start..self.at].iter().collect();
                    return Ok(Some((position, Token::Text(word))));
                }
            }
        }
    }

    /// `at` is on a `/`. An unterminated `/*` runs to the end, as in Java.
    fn skip_comment(&mut self) {
        self.at += 1;
        if self.peek() == Some('*') {
            self.at += 1;
            while self.at < self.chars.len() {
                if self.chars[self.at] == '*' && self.chars.get(self.at + 1) == Some(&'/') {
                    self.at += 2;
                    return;
                }
                self.at += 1;
            }
        } else {
            while self.peek().is_some_and(|c| c != '\n' && c != '\r') {
                self.at += 1;
            }
        }
    }

    /// A quoted string, escapes resolved as Java's `StreamTokenizer` does. Java silently ends
    /// an unterminated string at the line end; here that is an error, as it almost surely
    /// swallowed a closing quote by mistake.
    fn quoted(&mut self, quote: char, position: usize) -> Result<String, JaasError> {
        let unterminated = JaasError::at(position, "a quoted string is not closed on its line");
        self.at += 1;
        let mut text = String::new();
        loop {
            let c = self.peek().ok_or(unterminated)?;
            self.at += 1;
            match c {
                c if c == quote => return Ok(text),
                '\n' | '\r' => return Err(unterminated),
                '\\' => {
                    let escaped = self.peek().ok_or(unterminated)?;
                    self.at += 1;
                    text.push(match escaped {
                        '0'..='7' => self.octal_escape(escaped),
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'v' => '\u{b}',
                        other => other,
                    });
                }
                c => text.push(c),
            }
        }
    }

    /// Up to three octal digits, the third only after a first digit of at most 3 (so at
    /// most `\377`); `first` is already consumed.
    fn octal_escape(&mut self, first: char) -> char {
        let digit = |c: char| c.to_digit(8);
        let mut value = digit(first).unwrap_or_default();
        let max_digits = if first <= '3' { 3 } else { 2 };
        for _ in 1..max_digits {
            match self.peek().and_then(digit) {
                Some(next) => {
                    value = value * 8 + next;
                    self.at += 1;
                }
                None => break,
            }
        }
        char::from_u32(value).unwrap_or_default()
    }
}

/// C1 control characters: Java's tokenizer returns them as single ordinary tokens.
fn is_ordinary(c: char) -> bool {
    ('\u{81}'..='\u{9f}').contains(&c)
}

fn is_word_char(c: char) -> bool {
    c > ' ' && !matches!(c, ';' | '=' | '/' | '"' | '\'') && !is_ordinary(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sasl::JAAS_KEY;
    use crate::config::test_support::{assert_refusals, sasl_ssl, Reason::Contains, SECRET};

    /// Expected options: (name, value).
    type Options<'a> = &'a [(&'a str, &'a str)];

    fn entry(text: &str) -> Entry {
        match parse(text) {
            Ok(entry) => entry,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn malformed_jaas_is_reported_by_position_without_its_text() {
        let module = "org.apache.kafka.common.security.plain.PlainLoginModule";
        // (what is wrong, JAAS text, what the reason says)
        #[rustfmt::skip]
        let cases = [
            ("no `;`", format!("{module} required username=\"u\" password=\"{SECRET}\""), "at its end: the entry is not terminated by `;`"),
            ("an unknown flag", format!("{module} mandatory password=\"{SECRET}\";"), "at character 57: the control flag must be required"),
            ("an open quote", format!("{module} required password=\"{SECRET}"), "a quoted string is not closed"),
            ("no `=`", format!("{module} required password \"{SECRET}\";"), "expected `=` after an option name"),
            ("no value", format!("{module} required password=;{SECRET}"), "an option has no value"),
            ("no option name", format!("{module} required = \"{SECRET}\";"), "expected an option name"),
            ("two entries", format!("{module} required password=\"{SECRET}\"; Other required;"), "only one login module entry"),
            ("no flag", format!("\"{SECRET}\""), "the control flag is missing"),
            ("no module", format!("; {SECRET}"), "expected a login module class name"),
            ("only comments", "   // nothing\n /* at all */".to_string(), "no login module entry"),
        ];
        let rows: Vec<_> = cases
            .iter()
            .map(|(label, jaas, reason)| (*label, sasl_ssl("PLAIN", jaas), JAAS_KEY, Contains(reason)))
            .collect();
        assert_refusals(&rows);
    }

    #[test]
    fn jaas_entries_are_read_like_java() {
        // (what is shown, JAAS text, login module, options)
        let cases: [(&str, &str, &str, Options); 10] = [
            (
                "quotes and escapes",
                r#"M required a="x\"y" b='single' c="tab\there" d="\101\0619\477" e="back\\slash" f='say "hi"' g="\q";"#,
                "M",
                &[
                    ("a", "x\"y"),
                    ("b", "single"),
                    ("c", "tab\there"),
                    // Octal escapes: \101=A, \061 then 9, \47 then 7.
                    ("d", "A19'7"),
                    ("e", "back\\slash"),
                    ("f", "say \"hi\""),
                    ("g", "q"),
                ],
            ),
            (
                "words, comments and flag case; a lone `/` comments out the rest of its line",
                "/* leading */ org.Mod REQUIRED // flag\n user_name=al-ice$1 /\n   ssl.key=a.b:c*d ;  // trailing\n/* end",
                "org.Mod",
                &[("ssl.key", "a.b:c*d"), ("user_name", "al-ice$1")],
            ),
            ("flag optional", "M optional;", "M", &[]),
            ("flag Sufficient", "M Sufficient;", "M", &[]),
            ("flag requisite", "M requisite;", "M", &[]),
            ("a quoted flag is text", "M 'required';", "M", &[]),
            ("a quoted module is text", "\"M\" required;", "M", &[]),
            (
                "a repeated option keeps the last value",
                "M required a=1 a=2;",
                "M",
                &[("a", "2")],
            ),
            (
                "non-ASCII text outside C1",
                "M required a=é\u{a0}ü;",
                "M",
                &[("a", "é\u{a0}ü")],
            ),
            (
                "escaped quotes and line ends",
                r#"M required a='it\'s' b="l1\nl2";"#,
                "M",
                &[("a", "it's"), ("b", "l1\nl2")],
            ),
        ];
        for (label, text, module, options) in cases {
            let entry = entry(text);
            assert_eq!(entry.module, module, "{label}");
            let expected: BTreeMap<String, String> =
                options.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
            assert_eq!(entry.options, expected, "{label}");
        }
    }

    #[test]
    fn jaas_errors_give_the_position() {
        const BAD_FLAG: &str = "the control flag must be required, requisite, sufficient or optional";
        // (what is wrong, JAAS text, where, what)
        let cases = [
            (
                "a quoted string spanning lines",
                "M required a=\"x\ny\";",
                "at character 14",
                "a quoted string is not closed on its line",
            ),
            ("a C1 control character is not text", "M required a=\u{85};", "at character 14", "an option has no value"),
            ("an unknown flag", "M sometimes;", "at character 3", BAD_FLAG),
            ("punctuation as the flag", "M ;", "at character 3", BAD_FLAG),
            ("no flag", "M", "at its end", "the control flag is missing"),
        ];
        for (label, text, place, problem) in cases {
            match parse(text) {
                Ok(entry) => panic!("{label}: parsed as {entry:?}"),
                Err(e) => {
                    assert_eq!(e.to_string(), format!("malformed JAAS configuration {place}: {problem}"), "{label}")
                }
            }
        }
    }

    #[test]
    fn jaas_entry_debug_hides_option_values() {
        let entry = entry(&format!("M required username=u password=\"{SECRET}\";"));
        assert_eq!(format!("{entry:?}"), r#"Entry { module: "M", options: ["password", "username"] }"#);
    }
}
