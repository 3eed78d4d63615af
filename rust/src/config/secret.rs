//! Secret values: what Java types `PASSWORD`, kept out of Debug, Display and cluster keys.

use std::fmt;

/// A value that must never be printed: passwords, keys, the JAAS configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The clear value, only for handing to librdkafka.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A stable digest that tells two secrets apart without showing them (FNV-1a, 64 bits).
    /// Not a cryptographic hash: it identifies clients, it does not protect a weak password
    /// against guessing, so cluster keys should not be published.
    pub(super) fn fingerprint(&self) -> String {
        const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let hash = self.0.bytes().fold(OFFSET_BASIS, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME));
        format!("fnv1a64:{hash:016x}")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One setting's value; secrets print as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Plain(String),
    Secret(Secret),
}

impl ConfigValue {
    pub fn expose(&self) -> &str {
        match self {
            ConfigValue::Plain(value) => value,
            ConfigValue::Secret(secret) => secret.expose(),
        }
    }

    pub(super) fn into_secret(self) -> Secret {
        match self {
            ConfigValue::Plain(value) => Secret(value),
            ConfigValue::Secret(secret) => secret,
        }
    }
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Plain(value) => fmt::Debug::fmt(value, f),
            ConfigValue::Secret(secret) => fmt::Debug::fmt(secret, f),
        }
    }
}

/// The settings Java's clients type as `PASSWORD`, in lower case.
const SECRET_SETTINGS: [&str; 7] = [
    "sasl.jaas.config",
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
];

/// Whether a Java setting holds a secret: the settings Java's clients type as `PASSWORD`.
/// Names compare case-insensitively, as everywhere here.
pub fn is_secret_setting(key: &str) -> bool {
    let key = key.trim().to_ascii_lowercase();
    SECRET_SETTINGS.contains(&key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{plain_jaas, sasl_ssl, translated, SECRET};

    #[test]
    fn secrets_are_masked_in_debug_and_display() {
        let secret = Secret::new(SECRET);
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), SECRET);
        assert_eq!(format!("{:?}", ConfigValue::Secret(secret)), "[redacted]");
        assert_eq!(format!("{:?}", ConfigValue::Plain("shown".into())), "\"shown\"");
        let t = translated(&sasl_ssl("PLAIN", &plain_jaas(SECRET)));
        let debug = format!("{:?}", t.client);
        assert!(debug.contains("\"sasl.password\": [redacted]"), "{debug}");
        assert!(debug.contains("\"sasl.username\": \"alice\""), "{debug}");
    }

    #[test]
    fn a_secret_value_exposes_itself_only_on_request() {
        let value = ConfigValue::Plain(SECRET.into());
        assert_eq!(value.expose(), SECRET);
        let secret = value.into_secret();
        assert_eq!(secret.expose(), SECRET);
        assert_eq!(ConfigValue::Secret(secret).into_secret().expose(), SECRET);
    }

    #[test]
    fn java_password_settings_are_secret() {
        // (setting, whether Java types it PASSWORD)
        let cases = [
            ("sasl.jaas.config", true),
            ("SSL.KEY.PASSWORD", true),
            ("ssl.keystore.password", true),
            ("ssl.keystore.key", true),
            ("ssl.keystore.certificate.chain", true),
            ("ssl.truststore.password", true),
            ("ssl.truststore.certificates", true),
            (" Ssl.Truststore.Password ", true),
            ("ssl.keystore.location", false),
            ("bootstrap.servers", false),
        ];
        for (key, secret) in cases {
            assert_eq!(is_secret_setting(key), secret, "{key}");
        }
    }

    #[test]
    fn fingerprints_are_stable_fnv1a() {
        // Reference values of FNV-1a 64.
        let cases = [
            ("", "fnv1a64:cbf29ce484222325"),
            ("a", "fnv1a64:af63dc4c8601ec8c"),
            ("foobar", "fnv1a64:85944171f73967e8"),
        ];
        for (clear, fingerprint) in cases {
            assert_eq!(Secret::new(clear).fingerprint(), fingerprint, "{clear:?}");
        }
    }
}
