//! Java Kafka client settings -> librdkafka settings for the commit client.
//!
//! Users hand us the settings they give Spark's Kafka source, i.e. Java client settings.
//! librdkafka refuses unknown keys, and several keys share a name but not a meaning, so every
//! key is either translated, dropped with a reason (logged once by the engine), or refused when
//! it is a security setting we cannot honour: silently connecting with weaker security than the
//! user asked for is worse than failing.
//!
//! The commit client is an admin-type handle (AlterConsumerGroupOffsets), so only settings valid
//! for every client type are produced: consumer-only librdkafka keys would only draw warnings.
//!
//! Setting names are case-insensitive (Spark lower-cases them for DSv2 sources) and values are
//! trimmed, as Java's `ConfigDef` does. Settings prefixed `committer.` configure the engine.
//!
//! [`translate`] runs the steps in order, one module each, each taking the settings it consumes
//! out of the normalised input (`normalize`): `protocol`, `connection`, `numeric`, `engine`,
//! then `tls` and `sasl` (with `jaas` and `oauth`) when the protocol uses them; whatever is
//! left goes to `dropped`. `client` holds the result for librdkafka and the cluster identity;
//! `secret` keeps secret values out of every output.
//!
//! No other module of the crate is used here: the fuzz target includes this folder by path.

use std::fmt;

mod client;
mod connection;
mod dropped;
mod engine;
mod jaas;
mod normalize;
mod numeric;
mod oauth;
mod protocol;
mod sasl;
mod secret;
#[cfg(test)]
mod test_support;
mod tls;

pub use client::ClientSettings;
use engine::ExecutorPreference;
pub use engine::{keys as engine_keys, EngineSettings};
use sasl::Sasl;
pub use secret::{is_secret_librdkafka_setting, is_secret_setting, ConfigValue, Secret, SecretValues};

use normalize::JavaSettings;
use protocol::SecurityProtocol;

/// The outcome of [`translate`].
#[derive(Debug)]
pub struct Translated {
    pub client: ClientSettings,
    pub engine: EngineSettings,
    /// Settings not passed to librdkafka as given (left out, or moved into librdkafka's range),
    /// with the reason; sorted by key. Meant for one log line each. Empty for the JVM executor,
    /// which gets the Java settings as they are.
    pub dropped: Vec<(String, &'static str)>,
    pub executor: ExecutorChoice,
}

/// Who runs the cluster's commit requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Executor {
    /// librdkafka, in the helper process, with the translated client settings.
    Native,
    /// Kafka's Java client in the JVM, built by the Java side from the original settings, which
    /// librdkafka cannot honour. `settings` is their fingerprint (they hold credentials), so that
    /// committers with different logins never share one executor.
    Jvm { settings: String },
}

/// The executor and why: one log line per cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorChoice {
    pub executor: Executor,
    pub reason: String,
}

impl ExecutorChoice {
    fn jvm(java: &[(String, String)], reason: String) -> Self {
        let mut sorted: Vec<String> = java.iter().map(|(key, value)| format!("{key}={value}\n")).collect();
        sorted.sort();
        ExecutorChoice { executor: Executor::Jvm { settings: Secret::new(sorted.concat()).fingerprint() }, reason }
    }
}

/// A setting that cannot be honoured. Never carries a secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid Kafka setting `{}`: {}", self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError { key: key.to_string(), reason: reason.into() }
}

/// Translates Java Kafka client settings into librdkafka settings plus engine settings.
pub fn translate(java: &[(String, String)]) -> Result<Translated, ConfigError> {
    let mut dropped = Vec::new();
    let mut input = JavaSettings::new(java, &mut dropped)?;
    let mut out = Output { client: ClientSettings::default(), dropped };

    let protocol = SecurityProtocol::take(&mut input)?;
    out.client.set_plain(SecurityProtocol::KEY, protocol.librdkafka_name());
    connection::translate(&mut input, &mut out)?;
    numeric::translate(&mut input, &mut out)?;
    let (engine, preference) = engine::take(&mut input, &mut out)?;
    let security = security(protocol, &mut input, &mut out);
    let executor = match (preference, security) {
        (ExecutorPreference::Jvm, _) => ExecutorChoice::jvm(java, format!("`{}` is `jvm`", engine_keys::EXECUTOR)),
        (_, Err(refused)) => return Err(refused),
        (ExecutorPreference::Auto, Ok(Sasl::NeedsJvm { key, why })) => {
            ExecutorChoice::jvm(java, format!("`{key}`: {why}"))
        }
        (ExecutorPreference::Native, Ok(Sasl::NeedsJvm { key, why })) => {
            return Err(invalid(
                key,
                format!("{why}; only the JVM executor can, and `{}` is `native`", engine_keys::EXECUTOR),
            ))
        }
        (preference, Ok(Sasl::Native)) => ExecutorChoice {
            executor: Executor::Native,
            reason: if preference == ExecutorPreference::Native {
                format!("`{}` is `native`", engine_keys::EXECUTOR)
            } else {
                "librdkafka can make these settings' connection and login".to_string()
            },
        },
    };
    if executor.executor != Executor::Native {
        // Kafka's Java client reads every setting itself, as the source's client does.
        return Ok(Translated { client: out.client, engine, dropped: Vec::new(), executor });
    }
    for key in input.into_remaining() {
        let reason = dropped::leftover_reason(&key, protocol).map_err(|reason| invalid(&key, reason))?;
        out.dropped.push((key, reason));
    }

    // Broker-closed idle connections are routine for a client that commits once per batch.
    out.client.set_plain("log.connection.close", "false");
    // The commit client must never create a topic as a side effect (librdkafka's producer
    // default is true).
    out.client.set_plain("allow.auto.create.topics", "false");

    out.dropped.sort();
    Ok(Translated { client: out.client, engine, dropped: out.dropped, executor })
}

/// TLS and SASL into librdkafka settings, or why only the JVM can make the login.
fn security(protocol: SecurityProtocol, input: &mut JavaSettings, out: &mut Output) -> Result<Sasl, ConfigError> {
    if protocol.uses_tls() {
        tls::translate(input, out)?;
    }
    if protocol.uses_sasl() {
        return sasl::translate(input, out);
    }
    Ok(Sasl::Native)
}

/// What the translation steps produce: the client's settings, and what they left out.
struct Output {
    client: ClientSettings,
    dropped: Vec<(String, &'static str)>,
}

impl Output {
    fn leave_out(&mut self, key: &str, reason: &'static str) {
        self.dropped.push((key.to_string(), reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::{assert_no_secret, plain_jaas, sasl_ssl, settings, translated, with_bootstrap, SECRET};

    #[test]
    fn minimal_settings_get_the_fixed_commit_client_settings() {
        let t = translated(&[("bootstrap.servers", "b1:9092,b2:9093")]);
        let all: Vec<(&str, &str)> = t.client.iter().collect();
        assert_eq!(
            all,
            vec![
                ("allow.auto.create.topics", "false"),
                ("bootstrap.servers", "b1:9092,b2:9093"),
                ("log.connection.close", "false"),
                ("security.protocol", "plaintext"),
            ]
        );
        assert_eq!(t.engine, EngineSettings::default());
        assert!(t.dropped.is_empty());
    }

    #[test]
    fn secrets_never_show_in_any_outcome() {
        let key_pem = format!("KEY{SECRET}");
        // (what is given, JAAS text)
        let logins = [
            ("a PLAIN login", plain_jaas(SECRET)),
            ("a secret login module name", format!("{SECRET} required;")),
            ("a secret control flag", format!("M {SECRET};")),
            ("a secret option name", format!("M required {SECRET};")),
            ("an unterminated entry", format!("M required a={SECRET}")),
        ];
        let mut cases: Vec<(&str, Vec<(&str, &str)>)> =
            logins.iter().map(|(label, jaas)| (*label, sasl_ssl("PLAIN", jaas))).collect();
        cases.extend([
            (
                "a PEM key without its chain",
                with_bootstrap(&[
                    ("security.protocol", "SSL"),
                    ("ssl.keystore.type", "PEM"),
                    ("ssl.keystore.key", &key_pem),
                ]),
            ),
            (
                "a PEM key in a JKS keystore",
                with_bootstrap(&[
                    ("security.protocol", "SSL"),
                    ("ssl.keystore.type", "JKS"),
                    ("ssl.keystore.key", &key_pem),
                    ("ssl.keystore.certificate.chain", "c"),
                ]),
            ),
            (
                "secrets without TLS or SASL",
                with_bootstrap(&[("ssl.keystore.password", SECRET), ("sasl.jaas.config", SECRET)]),
            ),
            ("a secret with no bootstrap servers", vec![("bootstrap.servers", ""), ("ssl.key.password", SECRET)]),
        ]);
        for (label, pairs) in cases {
            assert_no_secret(label, &translate(&settings(&pairs)));
        }
    }

    const KERBEROS_JAAS: &str = "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true \
                                 keyTab=\"/etc/k.keytab\" principal=\"spark@EXAMPLE.COM\";";

    fn gssapi<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut all = with_bootstrap(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "GSSAPI"),
            ("sasl.jaas.config", KERBEROS_JAAS),
            ("sasl.kerberos.service.name", "kafka"),
        ]);
        all.extend_from_slice(more);
        all
    }

    #[test]
    fn kerberos_settings_select_the_jvm_executor_and_drop_nothing() {
        let t = translated(&gssapi(&[]));
        assert!(matches!(t.executor.executor, Executor::Jvm { .. }), "{t:?}");
        assert!(t.executor.reason.contains("Kerberos (GSSAPI)"), "{}", t.executor.reason);
        assert!(t.dropped.is_empty(), "{:?}", t.dropped);
    }

    #[test]
    fn librdkafka_logins_stay_native_unless_the_jvm_is_forced() {
        let jaas = plain_jaas(SECRET);
        let auto = translated(&sasl_ssl("PLAIN", &jaas));
        assert_eq!(auto.executor.executor, Executor::Native);
        let mut forced = sasl_ssl("PLAIN", &jaas);
        forced.push((engine_keys::EXECUTOR, "JVM"));
        let result = translate(&settings(&forced));
        let t = result.as_ref().unwrap();
        assert!(matches!(t.executor.executor, Executor::Jvm { .. }), "{t:?}");
        assert_eq!(t.executor.reason, "`committer.executor` is `jvm`");
        assert_no_secret("the JVM forced", &result);
    }

    #[test]
    fn forcing_native_for_a_login_only_the_jvm_makes_says_why() {
        let refused = translate(&settings(&gssapi(&[(engine_keys::EXECUTOR, "native")]))).unwrap_err();
        assert_eq!(refused.key, "sasl.mechanism");
        assert!(refused.reason.contains("Kerberos (GSSAPI)"), "{refused}");
        assert!(
            refused.reason.ends_with("only the JVM executor can, and `committer.executor` is `native`"),
            "{refused}"
        );
    }

    #[test]
    fn jvm_executors_are_shared_only_by_identical_settings() {
        let executor = |pairs: &[(&str, &str)]| translated(pairs).executor.executor;
        let token = |password: &str| {
            format!(
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"id\" \
                 password=\"{password}\" tokenauth=true;"
            )
        };
        let (one, other) = (token(SECRET), token("another"));
        assert_eq!(executor(&sasl_ssl("SCRAM-SHA-512", &one)), executor(&sasl_ssl("SCRAM-SHA-512", &one)));
        assert_ne!(executor(&sasl_ssl("SCRAM-SHA-512", &one)), executor(&sasl_ssl("SCRAM-SHA-512", &other)));
        assert_no_secret("a delegation token", &translate(&settings(&sasl_ssl("SCRAM-SHA-512", &one))));
    }

    #[test]
    fn config_error_display_names_the_key() {
        let e = ConfigError { key: "k".into(), reason: "why".into() };
        assert_eq!(e.to_string(), "invalid Kafka setting `k`: why");
    }
}
