//! `config::translate` on arbitrary settings, one `key=value` per line: it never panics, it
//! does not depend on the order of the settings, and a secret planted in a secret-valued
//! setting never shows in an error, in Debug output or in the cluster key.
#![no_main]

#[path = "../../src/config/mod.rs"]
mod config;

use config::{ConfigValue, Translated};
use libfuzzer_sys::fuzz_target;

/// The planted secret; the seed corpus and the dictionary carry it into secret values.
const CANARY: &str = "C4NARY";

/// Counted in any letter case, since translation changes the case of some values.
fn occurrences(haystack: &str) -> usize {
    haystack.to_ascii_uppercase().matches(CANARY).count()
}

/// Canaries that may legitimately show: plain values such as a user name taken from the
/// (secret) JAAS text.
fn canaries_in_plain_values(translated: &Translated) -> usize {
    translated
        .client
        .iter()
        .filter(|(key, _)| matches!(translated.client.get(key), Some(ConfigValue::Plain(_))))
        .map(|(_, value)| occurrences(value))
        .sum()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings: Vec<(String, String)> = text
        .split('\n')
        .map(|line| match line.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect();
    let canary_only_in_secrets = settings.iter().all(|(key, value)| {
        occurrences(key) == 0 && (config::is_secret_setting(key) || occurrences(value) == 0)
    });

    let result = config::translate(&settings);
    let reversed: Vec<(String, String)> = settings.iter().rev().cloned().collect();
    let reversed_result = config::translate(&reversed);

    match (&result, &reversed_result) {
        (Ok(translated), Ok(reversed)) => {
            assert_eq!(translated.client, reversed.client);
            assert_eq!(translated.engine, reversed.engine);
            assert_eq!(translated.dropped, reversed.dropped);
            assert_eq!(
                translated.client.cluster_key(),
                reversed.client.cluster_key()
            );
            if canary_only_in_secrets {
                let allowed = canaries_in_plain_values(translated);
                let debug = format!("{translated:?}");
                assert!(occurrences(&debug) <= allowed, "secret in Debug: {debug}");
                let key = translated.client.cluster_key();
                assert!(occurrences(&key) <= allowed, "secret in cluster key: {key}");
            }
        }
        (Err(error), Err(reversed_error)) => {
            if canary_only_in_secrets {
                let shown = format!("{error} {error:?} {reversed_error} {reversed_error:?}");
                assert_eq!(occurrences(&shown), 0, "secret in error: {shown}");
            }
        }
        _ => panic!("the order of settings changed the outcome"),
    }
});
