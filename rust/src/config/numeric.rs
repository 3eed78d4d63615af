//! Java integer settings with a librdkafka counterpart of the same meaning: one table row each.

use super::normalize::JavaSettings;
use super::{invalid, ConfigError, Output};

/// Why a numeric setting was moved into librdkafka's range.
pub(super) const CLAMPED: &str = "outside the range librdkafka accepts; the nearest accepted value is used";

/// A Java integer setting with a librdkafka counterpart of the same meaning.
struct NumericSetting {
    java: &'static str,
    librdkafka: &'static str,
    /// librdkafka's accepted range; other values are moved to the nearest bound.
    min: i64,
    max: i64,
    /// Java's "-1 means use the default" spelling, where librdkafka spells it differently.
    minus_one_means: Option<i64>,
}

const fn numeric(java: &'static str, librdkafka: &'static str, min: i64, max: i64) -> NumericSetting {
    NumericSetting { java, librdkafka, min, max, minus_one_means: None }
}

impl NumericSetting {
    const fn minus_one_means(self, meaning: i64) -> NumericSetting {
        NumericSetting { minus_one_means: Some(meaning), ..self }
    }
}

const I32_MAX: i64 = i32::MAX as i64;

#[rustfmt::skip]
const NUMERIC_SETTINGS: &[NumericSetting] = &[
    // Java: -1 disables idle closing; librdkafka: 0 does.
    numeric("connections.max.idle.ms", "connections.max.idle.ms", 0, I32_MAX).minus_one_means(0),
    numeric("reconnect.backoff.ms", "reconnect.backoff.ms", 0, 3_600_000),
    numeric("reconnect.backoff.max.ms", "reconnect.backoff.max.ms", 0, 3_600_000),
    numeric("retry.backoff.ms", "retry.backoff.ms", 1, 300_000),
    numeric("retry.backoff.max.ms", "retry.backoff.max.ms", 1, 300_000),
    numeric("socket.connection.setup.timeout.ms", "socket.connection.setup.timeout.ms", 1000, I32_MAX),
    // librdkafka's own `request.timeout.ms` is producer-only; its network timeout is this one.
    numeric("request.timeout.ms", "socket.timeout.ms", 10, 300_000),
    // librdkafka's `metadata.max.age.ms` is a cache age; the refresh period is this one.
    numeric("metadata.max.age.ms", "topic.metadata.refresh.interval.ms", 0, 3_600_000),
    // Java: -1 means the OS default; librdkafka: 0 does.
    numeric("send.buffer.bytes", "socket.send.buffer.bytes", 0, 100_000_000).minus_one_means(0),
    numeric("receive.buffer.bytes", "socket.receive.buffer.bytes", 0, 100_000_000).minus_one_means(0),
];

/// Network tuning: each setting of the table, parsed and moved into librdkafka's range.
pub(super) fn translate(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    for setting in NUMERIC_SETTINGS {
        let Some(value) = input.take(setting.java) else {
            continue;
        };
        let number: i64 = value.parse().map_err(|_| invalid(setting.java, format!("`{value}` is not an integer")))?;
        let translated = match setting.minus_one_means {
            Some(meaning) if number == -1 => meaning,
            _ => {
                let clamped = number.clamp(setting.min, setting.max);
                if clamped != number {
                    out.leave_out(setting.java, CLAMPED);
                }
                clamped
            }
        };
        out.client.set_plain(setting.librdkafka, translated.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::CLAMPED;
    use crate::config::test_support::{
        assert_refusals, translated, value, with_bootstrap, Reason::Contains, Reason::Is,
    };

    #[test]
    fn numeric_settings_keep_their_meaning() {
        // (Java setting, given, librdkafka setting, sent, whether it was clamped)
        #[rustfmt::skip]
        let cases = [
            ("connections.max.idle.ms", "540000", "connections.max.idle.ms", "540000", false),
            ("reconnect.backoff.ms", "50", "reconnect.backoff.ms", "50", false),
            ("reconnect.backoff.max.ms", "1000", "reconnect.backoff.max.ms", "1000", false),
            ("retry.backoff.ms", "100", "retry.backoff.ms", "100", false),
            ("retry.backoff.max.ms", "1000", "retry.backoff.max.ms", "1000", false),
            ("socket.connection.setup.timeout.ms", "10000", "socket.connection.setup.timeout.ms", "10000", false),
            // Renamed: librdkafka's own key of the Java name means something else.
            ("request.timeout.ms", "30000", "socket.timeout.ms", "30000", false),
            ("request.timeout.ms", " 20000 ", "socket.timeout.ms", "20000", false),
            ("metadata.max.age.ms", "300000", "topic.metadata.refresh.interval.ms", "300000", false),
            ("send.buffer.bytes", "131072", "socket.send.buffer.bytes", "131072", false),
            ("receive.buffer.bytes", "65536", "socket.receive.buffer.bytes", "65536", false),
            // Java's -1 is librdkafka's 0.
            ("send.buffer.bytes", "-1", "socket.send.buffer.bytes", "0", false),
            ("receive.buffer.bytes", "-1", "socket.receive.buffer.bytes", "0", false),
            ("connections.max.idle.ms", "-1", "connections.max.idle.ms", "0", false),
            // Outside librdkafka's range.
            ("request.timeout.ms", "305000", "socket.timeout.ms", "300000", true),
            ("retry.backoff.ms", "0", "retry.backoff.ms", "1", true),
            ("socket.connection.setup.timeout.ms", "10", "socket.connection.setup.timeout.ms", "1000", true),
            ("send.buffer.bytes", "-5", "socket.send.buffer.bytes", "0", true),
        ];
        for (java, given, librdkafka, sent, clamped) in cases {
            let row = format!("{java}={given}");
            let t = translated(&with_bootstrap(&[(java, given)]));
            assert_eq!(value(&t, librdkafka), Some(sent), "{row}");
            if java != librdkafka {
                assert_eq!(value(&t, java), None, "{row}: librdkafka's key differs");
            }
            let expected = if clamped { vec![(java.to_string(), CLAMPED)] } else { vec![] };
            assert_eq!(t.dropped, expected, "{row}");
        }
    }

    #[test]
    fn numeric_settings_must_be_integers() {
        #[rustfmt::skip]
        let rows = [
            ("a unit", with_bootstrap(&[("request.timeout.ms", "30s")]), "request.timeout.ms", Is("`30s` is not an integer")),
            ("a fraction", with_bootstrap(&[("send.buffer.bytes", "1.5")]), "send.buffer.bytes", Contains("not an integer")),
        ];
        assert_refusals(&rows);
    }
}
