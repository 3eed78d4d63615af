//! The user's settings as Java reads them: names case-insensitive, values trimmed, empty values
//! unset, repeats that disagree refused.

use std::collections::BTreeMap;

use super::secret::{is_secret_setting, ConfigValue, Secret};
use super::tls::HOSTNAME_CHECK;
use super::{invalid, ConfigError};

/// Why a setting with an empty value is left out.
pub(super) const EMPTY_VALUE: &str = "empty value; treated as not set";

/// The user's settings, names normalised; translation takes out what it consumes and the rest
/// is dropped or refused at the end.
pub(super) struct JavaSettings {
    values: BTreeMap<String, ConfigValue>,
}

impl JavaSettings {
    pub(super) fn new(
        java: &[(String, String)],
        dropped: &mut Vec<(String, &'static str)>,
    ) -> Result<Self, ConfigError> {
        let mut values: BTreeMap<String, ConfigValue> = BTreeMap::new();
        for (raw_key, raw_value) in java {
            let key = raw_key.trim().to_ascii_lowercase();
            if key.is_empty() {
                return Err(invalid(raw_key, "a setting has a blank name"));
            }
            // librdkafka takes C strings, which cannot hold a NUL; say so here, by setting name.
            if key.contains('\0') || raw_value.contains('\0') {
                return Err(invalid(&key, "contains a NUL character"));
            }
            let value = raw_value.trim().to_string();
            // An empty endpoint identification algorithm is how Java turns hostname checks off.
            if value.is_empty() && key != HOSTNAME_CHECK {
                dropped.push((key, EMPTY_VALUE));
                continue;
            }
            let value = if is_secret_setting(&key) {
                ConfigValue::Secret(Secret::new(value))
            } else {
                ConfigValue::Plain(value)
            };
            match values.get(&key) {
                Some(earlier) if *earlier != value => {
                    return Err(invalid(
                        &key,
                        "set more than once with different values (setting names are \
                         case-insensitive)",
                    ));
                }
                Some(_) => {}
                None => {
                    values.insert(key, value);
                }
            }
        }
        Ok(JavaSettings { values })
    }

    pub(super) fn take(&mut self, key: &str) -> Option<String> {
        self.values.remove(key).map(|value| value.expose().to_string())
    }

    pub(super) fn take_secret(&mut self, key: &str) -> Option<Secret> {
        self.values.remove(key).map(ConfigValue::into_secret)
    }

    pub(super) fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let keys: Vec<String> = self.values.keys().filter(|key| key.starts_with(prefix)).cloned().collect();
        keys.into_iter().filter_map(|key| self.take(&key).map(|value| (key, value))).collect()
    }

    /// The names no translation step took, in key order.
    pub(super) fn into_remaining(self) -> impl Iterator<Item = String> {
        self.values.into_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::EMPTY_VALUE;
    use crate::config::dropped::COMMIT_GROUP;
    use crate::config::test_support::{
        assert_refusals, dropped_reason, translated, value, with_bootstrap, Reason::Contains, Reason::Is, SECRET,
    };

    #[test]
    fn setting_names_are_case_insensitive_and_values_trimmed() {
        let t = translated(&[
            ("Bootstrap.Servers", " broker:9092 "),
            ("SECURITY.PROTOCOL", "ssl"),
            ("Request.Timeout.Ms", " 20000 "),
            ("  client.id  ", "Mixed-Case-Id"),
            ("GROUP.ID", "ignored"),
        ]);
        assert_eq!(value(&t, "bootstrap.servers"), Some("broker:9092"));
        assert_eq!(value(&t, "security.protocol"), Some("ssl"));
        assert_eq!(value(&t, "socket.timeout.ms"), Some("20000"));
        assert_eq!(value(&t, "client.id"), Some("Mixed-Case-Id"), "values keep their case");
        assert_eq!(dropped_reason(&t, "group.id"), Some(COMMIT_GROUP));
    }

    #[test]
    fn a_setting_repeated_with_another_case_must_agree() {
        let t = translated(&[("bootstrap.servers", "b:1"), ("BOOTSTRAP.SERVERS", "b:1")]);
        assert_eq!(value(&t, "bootstrap.servers"), Some("b:1"));
    }

    #[test]
    fn unusable_settings_are_refused() {
        #[rustfmt::skip]
        let rows = [
            ("an empty name", with_bootstrap(&[("", "x")]), "", Is("a setting has a blank name")),
            ("a blank name", with_bootstrap(&[(" \t", "x")]), " \t", Is("a setting has a blank name")),
            ("a NUL in a value", with_bootstrap(&[("ssl.key.password", "pa\0ss")]), "ssl.key.password", Is("contains a NUL character")),
            ("a NUL in a name", with_bootstrap(&[("client.id\0", "x")]), "client.id\0", Is("contains a NUL character")),
            ("repeated with another value", vec![("bootstrap.servers", "b:1"), ("Bootstrap.Servers", "c:1")], "bootstrap.servers", Contains("more than once")),
            ("a repeated secret, without echoing it", vec![("bootstrap.servers", "b:1"), ("ssl.key.password", SECRET), ("SSL.KEY.PASSWORD", "other")], "ssl.key.password", Contains("more than once")),
        ];
        assert_refusals(&rows);
    }

    #[test]
    fn empty_values_count_as_not_set() {
        let t = translated(&with_bootstrap(&[("client.id", ""), ("security.protocol", "  ")]));
        assert_eq!(value(&t, "client.id"), None);
        assert_eq!(value(&t, "security.protocol"), Some("plaintext"));
        assert_eq!(dropped_reason(&t, "client.id"), Some(EMPTY_VALUE));
        assert_eq!(dropped_reason(&t, "security.protocol"), Some(EMPTY_VALUE));
    }
}
