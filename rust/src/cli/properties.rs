//! Java `.properties` files (what `--command-config` names, as Kafka's own tools read it): `key=value`,
//! `key: value` or `key value` lines, `#`/`!` comments, a trailing backslash continuing the value on
//! the next line (how a `sasl.jaas.config` is usually split), and Java's escapes.

/// The file's settings in file order; a key given twice keeps its last value, as Java's does.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut settings: Vec<(String, String)> = Vec::new();
    for (line_number, logical) in logical_lines(text) {
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).map_err(|e| format!("line {line_number}: {e}"))?;
        let value = unescape(value).map_err(|e| format!("line {line_number}: {e}"))?;
        settings.retain(|(existing, _)| *existing != key);
        settings.push((key, value));
    }
    Ok(settings)
}

/// Lines with continuations joined (the next line's leading blanks dropped), comments and blank
/// lines left out; each with the number of the line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start_matches([' ', '\t', '\u{c}']);
        let continued = match current.take() {
            Some((start, mut joined)) => {
                joined.push_str(trimmed);
                (start, joined)
            }
            None if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') => continue,
            None => (index + 1, trimmed.to_string()),
        };
        let (start, mut joined) = continued;
        if ends_with_odd_backslashes(&joined) {
            joined.pop();
            current = Some((start, joined));
        } else {
            lines.push((start, joined));
        }
    }
    if let Some(last) = current {
        lines.push(last);
    }
    lines
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// The key ends at the first unescaped `=`, `:` or blank; blanks around that separator are no part
/// of either side.
fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => index += 1,
        }
    }
    let key_end = index.min(bytes.len());
    let mut rest = line[key_end..].trim_start_matches([' ', '\t', '\u{c}']);
    if let Some(after) = rest.strip_prefix(['=', ':']) {
        rest = after.trim_start_matches([' ', '\t', '\u{c}']);
    }
    (&line[..key_end], rest)
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .ok_or("a malformed \\u escape (four hex digits expected)")?;
                out.push(char::from_u32(code).ok_or("a \\u escape that is no character")?);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let text = "# a comment\n! another\n\nsecurity.protocol=SASL_SSL\n  sasl.mechanism : PLAIN\nclient.id my client\nempty=\n";
        assert_eq!(
            pairs(text),
            owned(&[
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "PLAIN"),
                ("client.id", "my client"),
                ("empty", ""),
            ])
        );
    }

    #[test]
    fn a_jaas_config_split_over_lines_is_one_value() {
        let text = "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n    username=\"alice\" \\\n    password=\"alice-secret\";\nnext=1\n";
        assert_eq!(
            pairs(text),
            owned(&[
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"alice-secret\";"
                ),
                ("next", "1"),
            ])
        );
    }

    #[test]
    fn escapes_and_an_escaped_trailing_backslash() {
        let text = "path=C:\\\\dir\\\\\nkey\\=with\\:sep=a\\tb\\u0041\n";
        assert_eq!(pairs(text), owned(&[("path", "C:\\dir\\"), ("key=with:sep", "a\tbA")]));
    }

    #[test]
    fn the_last_of_a_repeated_key_wins() {
        assert_eq!(pairs("a=1\nb=2\na=3\n"), owned(&[("b", "2"), ("a", "3")]));
    }

    #[test]
    fn a_malformed_unicode_escape_names_its_line() {
        let error = parse("ok=1\nbad=\\u12\n").unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
    }
}
