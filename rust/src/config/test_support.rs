//! Helpers shared by the config modules' tests: building settings, and checking table rows,
//! each row labelled so that a failing row names itself.

use super::{translate, ConfigError, ConfigValue, Translated};

/// Planted in secret values; it must never show.
pub(crate) const SECRET: &str = "Sup3r-S3cret-Pa55";

/// Settings as a test writes them: (name, value) pairs.
pub(crate) type Pairs<'a> = Vec<(&'a str, &'a str)>;

pub(crate) fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

pub(crate) fn translated(pairs: &[(&str, &str)]) -> Translated {
    match translate(&settings(pairs)) {
        Ok(translated) => translated,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

pub(crate) fn value<'a>(translated: &'a Translated, key: &str) -> Option<&'a str> {
    translated.client.get(key).map(ConfigValue::expose)
}

pub(crate) fn is_secret_value(translated: &Translated, key: &str) -> bool {
    matches!(translated.client.get(key), Some(ConfigValue::Secret(_)))
}

pub(crate) fn dropped_reason(translated: &Translated, key: &str) -> Option<&'static str> {
    translated.dropped.iter().find(|(dropped, _)| dropped == key).map(|(_, reason)| *reason)
}

pub(crate) fn with_bootstrap<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("bootstrap.servers", "broker:9092")];
    all.extend_from_slice(pairs);
    all
}

/// With `security.protocol=SSL`.
pub(crate) fn ssl<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = with_bootstrap(&[("security.protocol", "SSL")]);
    all.extend_from_slice(pairs);
    all
}

pub(crate) fn sasl_ssl<'a>(mechanism: &'a str, jaas: &'a str) -> Vec<(&'a str, &'a str)> {
    with_bootstrap(&[("security.protocol", "SASL_SSL"), ("sasl.mechanism", mechanism), ("sasl.jaas.config", jaas)])
}

pub(crate) fn plain_jaas(password: &str) -> String {
    format!(
        r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="{password}";"#
    )
}

/// Everything a user or a log could see of a translation or an error.
fn visible(result: &Result<Translated, ConfigError>) -> String {
    match result {
        Ok(t) => format!("{t:?} {} {:?}", t.client.cluster_key(), t.dropped),
        Err(e) => format!("{e} {e:?}"),
    }
}

/// `label` names the case when the secret shows.
pub(crate) fn assert_no_secret(label: &str, result: &Result<Translated, ConfigError>) {
    let shown = visible(result);
    assert!(!shown.contains(SECRET), "{label}: secret leaked: {shown}");
}

/// What a refused row's reason must be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reason<'a> {
    /// Exactly this reason.
    Is(&'a str),
    /// A reason containing this text.
    Contains(&'a str),
}

/// A refused row: (label, settings, the setting blamed, its reason).
pub(crate) type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, Reason<'a>);

/// Each row is refused, blaming the expected setting for the expected reason, and shows no
/// secret.
pub(crate) fn assert_refusals(rows: &[Refusal<'_>]) {
    for (label, pairs, key, reason) in rows {
        let result = translate(&settings(pairs));
        let e = match &result {
            Ok(translated) => panic!("{label}: expected an error, got {translated:?}"),
            Err(e) => e,
        };
        assert_eq!(e.key, *key, "{label}: {e}");
        match reason {
            Reason::Is(reason) => {
                assert_eq!(e.reason, *reason, "{label}");
                assert_eq!(e.to_string(), format!("invalid Kafka setting `{key}`: {reason}"), "{label}");
            }
            Reason::Contains(part) => assert!(e.reason.contains(part), "{label}: {e}"),
        }
        assert_no_secret(label, &result);
    }
}

/// A translated row.
pub(crate) struct Accepted<'a> {
    pub label: &'a str,
    pub settings: Vec<(&'a str, &'a str)>,
    /// librdkafka settings and their values; `None`: not set.
    pub values: Vec<(&'a str, Option<&'a str>)>,
    /// librdkafka settings that must hold their value as a secret.
    pub secrets: Vec<&'a str>,
    /// Every setting left out, with its reason, in any order.
    pub dropped: Vec<(&'a str, &'static str)>,
}

/// Each row translates to the expected values and drops exactly the expected settings, and
/// shows no secret.
pub(crate) fn assert_accepted(rows: &[Accepted<'_>]) {
    for row in rows {
        let label = row.label;
        let result = translate(&settings(&row.settings));
        let t = match &result {
            Ok(translated) => translated,
            Err(e) => panic!("{label}: unexpected error: {e}"),
        };
        for (key, expected) in &row.values {
            assert_eq!(value(t, key), *expected, "{label}: {key}");
        }
        for key in &row.secrets {
            assert!(is_secret_value(t, key), "{label}: {key} is not secret");
        }
        let mut dropped: Vec<(String, &str)> =
            row.dropped.iter().map(|(key, reason)| (key.to_string(), *reason)).collect();
        dropped.sort();
        assert_eq!(t.dropped, dropped, "{label}");
        assert_no_secret(label, &result);
    }
}
