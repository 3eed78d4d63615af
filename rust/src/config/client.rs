//! The librdkafka settings produced for the commit client, and the cluster identity they give.

use std::collections::BTreeMap;
use std::fmt;

use super::connection::{BOOTSTRAP_SERVERS, CLIENT_ID, DNS_LOOKUP};
use super::protocol::SecurityProtocol;
use super::secret::{is_secret_librdkafka_setting, ConfigValue, Secret};

/// librdkafka settings for the commit client, ordered by key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    entries: BTreeMap<&'static str, ConfigValue>,
}

impl ClientSettings {
    /// Every setting with its clear value, for building librdkafka's configuration.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(key, value)| (*key, value.expose()))
    }

    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.entries.get(key)
    }

    /// Identifies the cluster and the credentials used on it, so that committers opened with
    /// equivalent settings share one client. Only settings that decide where we connect and who
    /// we are count (bootstrap servers, client id, DNS lookup, security); tuning settings such as
    /// timeouts or buffer sizes do not, so they come from the settings that opened the client.
    /// Secrets appear as fingerprints only.
    pub fn cluster_key(&self) -> String {
        let identity: serde_json::Map<String, serde_json::Value> = self
            .entries
            .iter()
            .filter(|(key, _)| is_identity_key(key))
            .map(|(key, value)| {
                let shown = match value {
                    ConfigValue::Secret(secret) => secret.fingerprint(),
                    ConfigValue::Plain(servers) if *key == BOOTSTRAP_SERVERS => normalised_server_list(servers),
                    ConfigValue::Plain(plain) => plain.clone(),
                };
                (key.to_string(), serde_json::Value::String(shown))
            })
            .collect();
        serde_json::Value::Object(identity).to_string()
    }

    fn set(&mut self, key: &'static str, value: ConfigValue) {
        self.entries.insert(key, value);
    }

    pub(super) fn set_plain(&mut self, key: &'static str, value: impl Into<String>) {
        // A secret setting held as plain would show in Debug and in the cluster key.
        debug_assert!(!is_secret_librdkafka_setting(key), "{key} is secret");
        self.set(key, ConfigValue::Plain(value.into()));
    }

    pub(super) fn set_secret(&mut self, key: &'static str, secret: Secret) {
        // The client scrubs only the values of settings that definition names.
        debug_assert!(is_secret_librdkafka_setting(key), "{key} is not a secret librdkafka setting");
        self.set(key, ConfigValue::Secret(secret));
    }
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

fn is_identity_key(key: &str) -> bool {
    matches!(key, BOOTSTRAP_SERVERS | CLIENT_ID | DNS_LOOKUP | SecurityProtocol::KEY)
        || key.starts_with("ssl.")
        || key.starts_with("sasl.")
        || key.starts_with("enable.sasl.")
}

/// Host names are case-insensitive and the list order does not change the cluster.
fn normalised_server_list(servers: &str) -> String {
    let mut list: Vec<String> = servers.split(',').map(str::to_ascii_lowercase).collect();
    list.sort();
    list.dedup();
    list.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::engine_keys;
    use crate::config::test_support::{plain_jaas, sasl_ssl, translated, Pairs, SECRET};

    fn key(pairs: &[(&str, &str)]) -> String {
        translated(pairs).client.cluster_key()
    }

    #[test]
    fn cluster_key_ignores_order_spark_additions_and_engine_settings() {
        let jaas = plain_jaas(SECRET);
        let base = key(&[
            ("bootstrap.servers", "b1:9092,b2:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", &jaas),
        ]);
        let spark_executor = key(&[
            ("sasl.jaas.config", &jaas),
            ("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer"),
            ("sasl.mechanism", "plain"),
            ("group.id", "spark-kafka-source-1-executor"),
            ("auto.offset.reset", "none"),
            ("enable.auto.commit", "false"),
            ("receive.buffer.bytes", "65536"),
            ("security.protocol", "sasl_ssl"),
            ("Bootstrap.Servers", "B2:9092, b1:9092"),
            ("consumer.commit.groupid", "g"),
            (engine_keys::KEEPALIVE_INTERVAL, "5000"),
            ("request.timeout.ms", "20000"),
        ]);
        assert_eq!(base, spark_executor);
        assert!(!base.contains(SECRET));
        assert!(base.contains("fnv1a64:"), "{base}");
    }

    #[test]
    fn cluster_key_tells_clusters_and_credentials_apart() {
        let jaas_a = plain_jaas("password-a");
        let jaas_b = plain_jaas("password-b");
        let plain = [("bootstrap.servers", "a:1")];
        // (label, settings, other settings, whether both name the same client)
        let cases: [(&str, Pairs, Pairs, bool); 6] = [
            ("another password", sasl_ssl("PLAIN", &jaas_a), sasl_ssl("PLAIN", &jaas_b), false),
            ("another mechanism", sasl_ssl("PLAIN", &jaas_a), sasl_ssl("SCRAM-SHA-256", &jaas_a), false),
            ("another broker", plain.to_vec(), vec![("bootstrap.servers", "b:1")], false),
            (
                "another security protocol",
                plain.to_vec(),
                vec![("bootstrap.servers", "a:1"), ("security.protocol", "SSL")],
                false,
            ),
            ("another client id", plain.to_vec(), vec![("bootstrap.servers", "a:1"), ("client.id", "other")], false),
            (
                "PLAINTEXT spelled out",
                plain.to_vec(),
                vec![("bootstrap.servers", "a:1"), ("security.protocol", "PLAINTEXT")],
                true,
            ),
        ];
        for (label, settings, other, same) in cases {
            let (key, other_key) = (key(&settings), key(&other));
            assert_eq!(key == other_key, same, "{label}: {key} vs {other_key}");
        }
    }

    #[test]
    fn server_lists_compare_without_case_order_or_repeats() {
        assert_eq!(normalised_server_list("B:1,a:2,b:1"), "a:2,b:1");
    }
}
