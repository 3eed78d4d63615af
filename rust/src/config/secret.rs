//! Secret values: what Java types `PASSWORD`, kept out of Debug, Display and cluster keys.

use std::fmt;

/// What a secret value reads as wherever it would show.
const REDACTED: &str = "[redacted]";

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
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
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

/// The librdkafka settings whose values are secret: what the translation hands over as
/// [`Secret`] (passwords, private keys, and the certificates Java types `PASSWORD`), plus the
/// secret-valued settings of librdkafka's own (marked sensitive in its `rdkafka_conf.c`) that
/// the translation never produces but a client may still be given. Paths to key files are not
/// secret; the files are.
const LIBRDKAFKA_SECRET_SETTINGS: [&str; 9] = [
    "sasl.password",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.client.credentials.client.secret",
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "sasl.oauthbearer.assertion.private.key.pem",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl_key",
];

/// Certificates: not secret to librdkafka, but Java types them `PASSWORD`, so they are kept
/// out of every message too.
const LIBRDKAFKA_CERTIFICATE_SETTINGS: [&str; 2] = ["ssl.ca.pem", "ssl.certificate.pem"];

/// Whether a librdkafka setting holds a secret (the one definition the translation and the
/// client's error messages share). librdkafka's names are lower case and exact.
pub fn is_secret_librdkafka_setting(key: &str) -> bool {
    LIBRDKAFKA_SECRET_SETTINGS.contains(&key) || LIBRDKAFKA_CERTIFICATE_SETTINGS.contains(&key)
}

/// The secret values among a client's librdkafka settings, to scrub from any text librdkafka
/// produces about that client (its refusals, its log lines): librdkafka's messages are written
/// for operators and some echo the value they refuse.
#[derive(Clone, Default)]
pub struct SecretValues {
    /// Longest first, so that a value containing another is replaced as a whole.
    values: Vec<String>,
}

impl SecretValues {
    pub fn of(settings: &[(String, String)]) -> Self {
        let mut values: Vec<String> = settings
            .iter()
            .filter(|(key, _)| is_secret_librdkafka_setting(key))
            // librdkafka left-trims string values before using (and echoing) them.
            .flat_map(|(_, value)| [value.as_str(), value.trim_start(), value.trim()])
            .filter(|value| !value.is_empty())
            .map(str::to_string)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        SecretValues { values }
    }

    /// `text` with every occurrence of a secret value replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        self.values.iter().fold(text.to_string(), |text, value| text.replace(value.as_str(), REDACTED))
    }
}

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValues({} redacted)", self.values.len())
    }
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

    #[test]
    fn secret_values_are_scrubbed_from_librdkafka_text() {
        let settings = [
            ("sasl.password".to_string(), format!("  {SECRET} ")),
            ("ssl.key.pem".to_string(), format!("KEY-{SECRET}")),
            ("sasl.username".to_string(), "alice".to_string()),
            ("ssl.key.password".to_string(), String::new()),
        ];
        let secrets = SecretValues::of(&settings);
        let text = format!("bad key KEY-{SECRET}; user alice; password \"{SECRET} \" or \"  {SECRET} \"");
        assert_eq!(secrets.scrub(&text), "bad key [redacted]; user alice; password \"[redacted]\" or \"[redacted]\"");
        assert!(!format!("{secrets:?}").contains(SECRET));
        assert_eq!(SecretValues::default().scrub(&text), text);
    }

    #[test]
    fn every_secret_a_translation_produces_is_a_secret_librdkafka_setting() {
        let key_pem = format!("-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----");
        let jaas = plain_jaas(SECRET);
        let pem_login = [
            ("bootstrap.servers", "b:1"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", jaas.as_str()),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.certificates", "ca"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.key", &key_pem),
            ("ssl.keystore.certificate.chain", "chain"),
            ("ssl.key.password", SECRET),
        ];
        let pkcs12 = [
            ("bootstrap.servers", "b:1"),
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.location", "/k.p12"),
            ("ssl.keystore.password", SECRET),
        ];
        let mut secret_keys = Vec::new();
        for settings in [&pem_login[..], &pkcs12[..]] {
            let t = translated(settings);
            for (key, _) in t.client.iter() {
                let held_as_secret = matches!(t.client.get(key), Some(ConfigValue::Secret(_)));
                assert_eq!(held_as_secret, is_secret_librdkafka_setting(key), "{key}");
                if held_as_secret {
                    secret_keys.push(key.to_string());
                }
            }
        }
        let expected = [
            "sasl.password",
            "ssl.ca.pem",
            "ssl.certificate.pem",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl.keystore.password",
        ];
        assert_eq!(secret_keys, expected);
    }
}
