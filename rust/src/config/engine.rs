//! Settings of the commit engine itself: the `committer.*` keys, never sent to librdkafka as they are
//! (`committer.librdkafka.debug` becomes librdkafka's `debug`).

use std::time::Duration;

use super::normalize::JavaSettings;
use super::oauth;
use super::{invalid, ConfigError, Output};

/// The `committer.*` keys, each defined here only (Java and Scala use `EngineSettings.java`).
pub mod keys {
    pub const PREFIX: &str = "committer.";
    pub const REQUEST_TIMEOUT: &str = "committer.request.timeout.ms";
    pub const RETRY_BACKOFF: &str = "committer.retry.backoff.ms";
    pub const RETRY_BACKOFF_MAX: &str = "committer.retry.backoff.max.ms";
    pub const RETRY_MAX_ATTEMPTS: &str = "committer.retry.max.attempts";
    pub const FAILURE_COOLDOWN: &str = "committer.failure.cooldown.ms";
    pub const KEEPALIVE_INTERVAL: &str = "committer.keepalive.interval.ms";
    /// `true`: the application pushes OAUTHBEARER tokens (`Committer::set_oauth_token`); the JVM
    /// API sets it when it runs the settings' login handler.
    pub const OAUTHBEARER_TOKENS_PUSHED: &str = "committer.oauthbearer.tokens.pushed";
    /// Who runs the commit requests: `auto` (librdkafka when it can make the login, else the
    /// JVM), `native` or `jvm`.
    pub const EXECUTOR: &str = "committer.executor";
    /// librdkafka's `debug` property for the commit client: comma-separated debug contexts (one of
    /// [`LIBRDKAFKA_DEBUG_CONTEXTS`] each), to diagnose connectivity. Off by default.
    pub const LIBRDKAFKA_DEBUG: &str = "committer.librdkafka.debug";
    /// The debug contexts of the librdkafka this crate links (its `debug` property's values).
    pub const LIBRDKAFKA_DEBUG_CONTEXTS: [&str; 21] = [
        "generic",
        "broker",
        "topic",
        "metadata",
        "feature",
        "queue",
        "msg",
        "protocol",
        "cgrp",
        "security",
        "fetch",
        "interceptor",
        "plugin",
        "consumer",
        "admin",
        "eos",
        "mock",
        "assignor",
        "conf",
        "telemetry",
        "all",
    ];
}

use keys::*;
/// Every engine setting, in the order error messages list them.
const KEYS: [&str; 9] = [
    REQUEST_TIMEOUT,
    RETRY_BACKOFF,
    RETRY_BACKOFF_MAX,
    RETRY_MAX_ATTEMPTS,
    FAILURE_COOLDOWN,
    KEEPALIVE_INTERVAL,
    OAUTHBEARER_TOKENS_PUSHED,
    EXECUTOR,
    LIBRDKAFKA_DEBUG,
];

/// librdkafka's name of the property `LIBRDKAFKA_DEBUG` sets.
const LIBRDKAFKA_DEBUG_PROPERTY: &str = "debug";

/// Java's bound on blocking API calls: the closest analogue of a commit request deadline.
const DEFAULT_API_TIMEOUT: &str = "default.api.timeout.ms";

// Why `default.api.timeout.ms` is not used.
const ZERO_REQUEST_TIMEOUT: &str = "zero cannot serve as the commit request timeout; the default is used";
const OVERRIDDEN_BY_COMMITTER: &str = "committer.request.timeout.ms takes precedence";

/// Settings of the commit engine itself (`committer.*` keys), never sent to librdkafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSettings {
    /// Deadline of one commit request (`committer.request.timeout.ms`, else Java's
    /// `default.api.timeout.ms`).
    pub request_timeout: Duration,
    /// First pause before retrying a failed commit; never above `retry_backoff_max` (as in
    /// Java's clients, a larger value is lowered to the maximum).
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// `committer.retry.max.attempts`: total attempts per failure episode, including the first;
    /// at least 1. An episode starts with the first failed attempt after a success (or after
    /// a cool-down) and ends with a success; when its attempts are spent (or a failure is not
    /// retriable) the cluster waits `failure_cooldown`. So 1 means no retry, and 8 means the
    /// first attempt and at most 7 retries.
    pub retry_max_attempts: u32,
    /// How long a cluster whose client failed is left alone before trying again; at least
    /// 1 ms, so that a failing cluster is never retried in a tight loop.
    pub failure_cooldown: Duration,
    /// Period of re-committing unchanged offsets so that the broker does not expire them; at
    /// least 1 ms, so that unchanged offsets are never re-committed in a tight loop.
    pub keepalive_interval: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            request_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(200),
            retry_backoff_max: Duration::from_secs(10),
            retry_max_attempts: 8,
            failure_cooldown: Duration::from_secs(60),
            keepalive_interval: Duration::from_secs(3600),
        }
    }
}

/// `committer.executor`: who runs the commit requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum ExecutorPreference {
    /// librdkafka when it can make the login, else Kafka's Java client.
    #[default]
    Auto,
    Native,
    Jvm,
}

/// Takes the `committer.*` settings, and `default.api.timeout.ms` as the fallback request
/// timeout.
pub(super) fn take(
    input: &mut JavaSettings,
    out: &mut Output,
) -> Result<(EngineSettings, ExecutorPreference), ConfigError> {
    let mut engine = EngineSettings::default();
    let mut executor = ExecutorPreference::default();
    let mut request_timeout_set = false;
    for (key, value) in input.take_prefixed(PREFIX) {
        match key.as_str() {
            REQUEST_TIMEOUT => {
                engine.request_timeout = positive_millis(&key, &value, "must be at least 1 ms")?;
                request_timeout_set = true;
            }
            RETRY_BACKOFF => engine.retry_backoff = millis(&key, &value)?,
            RETRY_BACKOFF_MAX => engine.retry_backoff_max = millis(&key, &value)?,
            RETRY_MAX_ATTEMPTS => {
                engine.retry_max_attempts =
                    value.parse().ok().filter(|attempts| *attempts >= 1).ok_or_else(|| {
                        invalid(&key, format!("`{value}` is not a whole number from 1 to {}", u32::MAX))
                    })?;
            }
            FAILURE_COOLDOWN => {
                engine.failure_cooldown = positive_millis(
                    &key,
                    &value,
                    "must be at least 1 ms; 0 would retry a failing cluster in a tight loop",
                )?;
            }
            KEEPALIVE_INTERVAL => {
                engine.keepalive_interval = positive_millis(
                    &key,
                    &value,
                    "must be at least 1 ms; 0 would re-commit unchanged offsets in a tight loop",
                )?;
            }
            OAUTHBEARER_TOKENS_PUSHED => match value.to_ascii_lowercase().as_str() {
                "true" => oauth::tokens_pushed_by_the_application(out),
                "false" => {}
                _ => return Err(invalid(&key, format!("`{value}` is neither true nor false"))),
            },
            EXECUTOR => {
                executor = match value.to_ascii_lowercase().as_str() {
                    "auto" => ExecutorPreference::Auto,
                    "native" => ExecutorPreference::Native,
                    "jvm" => ExecutorPreference::Jvm,
                    _ => return Err(invalid(&key, format!("`{value}` is not one of auto, native, jvm"))),
                }
            }
            LIBRDKAFKA_DEBUG => {
                if let Some(contexts) = debug_contexts(&key, &value)? {
                    out.client.set_plain(LIBRDKAFKA_DEBUG_PROPERTY, contexts);
                }
            }
            _ => {
                return Err(invalid(&key, format!("unknown committer setting; the known ones are {}", KEYS.join(", "))))
            }
        }
    }
    engine.retry_backoff = engine.retry_backoff.min(engine.retry_backoff_max);

    if let Some(value) = input.take(DEFAULT_API_TIMEOUT) {
        let timeout = millis(DEFAULT_API_TIMEOUT, &value)?;
        if request_timeout_set {
            out.leave_out(DEFAULT_API_TIMEOUT, OVERRIDDEN_BY_COMMITTER);
        } else if timeout.is_zero() {
            out.leave_out(DEFAULT_API_TIMEOUT, ZERO_REQUEST_TIMEOUT);
        } else {
            engine.request_timeout = timeout;
        }
    }
    Ok((engine, executor))
}

/// librdkafka's `debug` value from `committer.librdkafka.debug`: the contexts lower-cased, without
/// blanks; `None` when none is named (debugging stays off). An unknown context is refused here, by
/// this key's name and with the known ones, not later by librdkafka under its own property name.
fn debug_contexts(key: &str, value: &str) -> Result<Option<String>, ConfigError> {
    let mut contexts: Vec<String> = Vec::new();
    for context in value.split(',').map(|context| context.trim().to_ascii_lowercase()) {
        if context.is_empty() || contexts.contains(&context) {
            continue;
        }
        if !LIBRDKAFKA_DEBUG_CONTEXTS.contains(&context.as_str()) {
            return Err(invalid(
                key,
                format!(
                    "`{context}` is not a librdkafka debug context; the known ones are {}",
                    LIBRDKAFKA_DEBUG_CONTEXTS.join(", ")
                ),
            ));
        }
        contexts.push(context);
    }
    Ok((!contexts.is_empty()).then(|| contexts.join(",")))
}

/// Milliseconds within Java's int range, which also keeps deadline arithmetic far from overflow.
fn millis(key: &str, value: &str) -> Result<Duration, ConfigError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= i32::MAX as u64)
        .map(Duration::from_millis)
        .ok_or_else(|| invalid(key, format!("`{value}` is not a whole number of milliseconds from 0 to {}", i32::MAX)))
}

/// Like [`millis`], but zero is refused with `zero_reason`.
fn positive_millis(key: &str, value: &str, zero_reason: &str) -> Result<Duration, ConfigError> {
    match millis(key, value)? {
        zero if zero.is_zero() => Err(invalid(key, zero_reason)),
        duration => Ok(duration),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{
        assert_refusals, dropped_reason, translated, value, with_bootstrap, Reason::Contains, Reason::Is,
    };

    #[test]
    fn engine_defaults_are_the_documented_ones() {
        let engine = EngineSettings::default();
        assert_eq!(engine.request_timeout, Duration::from_secs(30));
        assert_eq!(engine.retry_backoff, Duration::from_millis(200));
        assert_eq!(engine.retry_backoff_max, Duration::from_secs(10));
        assert_eq!(engine.retry_max_attempts, 8);
        assert_eq!(engine.failure_cooldown, Duration::from_secs(60));
        assert_eq!(engine.keepalive_interval, Duration::from_secs(3600));
    }

    #[test]
    fn engine_settings_are_read_from_committer_keys() {
        let t = translated(&with_bootstrap(&[
            (REQUEST_TIMEOUT, "15000"),
            ("Committer.Retry.Backoff.Ms", "50"),
            (RETRY_BACKOFF_MAX, "2000"),
            (RETRY_MAX_ATTEMPTS, "3"),
            (FAILURE_COOLDOWN, "1"),
            (KEEPALIVE_INTERVAL, "600000"),
        ]));
        assert_eq!(
            t.engine,
            EngineSettings {
                request_timeout: Duration::from_millis(15000),
                retry_backoff: Duration::from_millis(50),
                retry_backoff_max: Duration::from_millis(2000),
                retry_max_attempts: 3,
                failure_cooldown: Duration::from_millis(1),
                keepalive_interval: Duration::from_millis(600_000),
            }
        );
        assert!(t.client.iter().all(|(key, _)| !key.starts_with(PREFIX)));
        assert!(t.dropped.is_empty(), "{:?}", t.dropped);
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let t = translated(&with_bootstrap(&[(RETRY_MAX_ATTEMPTS, "1")]));
        assert_eq!(t.engine.retry_max_attempts, 1);
    }

    #[test]
    fn engine_settings_are_validated() {
        let engine = |key, value| with_bootstrap(&[(key, value)]);
        #[rustfmt::skip]
        let rows = [
            (
                "a misspelt key, listing the known ones",
                engine("committer.retry.backof.ms", "5"),
                "committer.retry.backof.ms",
                Is(
                    "unknown committer setting; the known ones are committer.request.timeout.ms, \
                    committer.retry.backoff.ms, committer.retry.backoff.max.ms, \
                    committer.retry.max.attempts, committer.failure.cooldown.ms, \
                    committer.keepalive.interval.ms, committer.oauthbearer.tokens.pushed, \
                    committer.executor, committer.librdkafka.debug",
                ),
            ),
            ("negative milliseconds", engine(RETRY_BACKOFF, "-1"), RETRY_BACKOFF, Contains("from 0 to 2147483647")),
            ("milliseconds beyond Java's int", engine(RETRY_BACKOFF, "2147483648"), RETRY_BACKOFF, Contains("from 0 to")),
            ("fractional milliseconds", engine(RETRY_BACKOFF, "1.5"), RETRY_BACKOFF, Contains("from 0 to")),
            ("no request timeout", engine(REQUEST_TIMEOUT, "0"), REQUEST_TIMEOUT, Contains("at least 1 ms")),
            ("no attempt", engine(RETRY_MAX_ATTEMPTS, "0"), RETRY_MAX_ATTEMPTS, Contains("from 1 to")),
            ("attempts not a number", engine(RETRY_MAX_ATTEMPTS, "x"), RETRY_MAX_ATTEMPTS, Contains("from 1 to")),
            ("no cool-down: a tight retry loop", engine(FAILURE_COOLDOWN, "0"), FAILURE_COOLDOWN, Is("must be at least 1 ms; 0 would retry a failing cluster in a tight loop")),
            ("pushed tokens neither true nor false", engine(OAUTHBEARER_TOKENS_PUSHED, "yes"), OAUTHBEARER_TOKENS_PUSHED, Is("`yes` is neither true nor false")),
            ("an unknown executor", engine(EXECUTOR, "helper"), EXECUTOR, Is("`helper` is not one of auto, native, jvm")),
            ("an unknown debug context, listing the known ones", engine(LIBRDKAFKA_DEBUG, "broker,sockets"), LIBRDKAFKA_DEBUG, Is("`sockets` is not a librdkafka debug context; the known ones are generic, broker, topic, metadata, feature, queue, msg, protocol, cgrp, security, fetch, interceptor, plugin, consumer, admin, eos, mock, assignor, conf, telemetry, all")),
            ("no keep-alive interval: a tight commit loop", engine(KEEPALIVE_INTERVAL, "0"), KEEPALIVE_INTERVAL, Is("must be at least 1 ms; 0 would re-commit unchanged offsets in a tight loop")),
        ];
        assert_refusals(&rows);
    }

    #[test]
    fn librdkafka_debug_contexts_become_its_debug_property() {
        let debug = |setting: &[(&str, &str)]| {
            let t = translated(&with_bootstrap(setting));
            assert!(t.dropped.is_empty(), "{:?}", t.dropped);
            assert_eq!(t.engine, EngineSettings::default(), "a client setting, not an engine one");
            value(&t, LIBRDKAFKA_DEBUG_PROPERTY).map(str::to_string)
        };
        assert_eq!(debug(&[(LIBRDKAFKA_DEBUG, "broker,protocol,cgrp")]).as_deref(), Some("broker,protocol,cgrp"));
        assert_eq!(debug(&[(LIBRDKAFKA_DEBUG, " Broker , ,broker,CGRP ")]).as_deref(), Some("broker,cgrp"));
        assert_eq!(debug(&[(LIBRDKAFKA_DEBUG, " , ")]), None, "no context named: debugging stays off");
        assert_eq!(debug(&[]), None, "off by default");
    }

    #[test]
    fn retry_backoff_never_exceeds_its_maximum() {
        let t = translated(&with_bootstrap(&[(RETRY_BACKOFF, "20000")]));
        assert_eq!(t.engine.retry_backoff, t.engine.retry_backoff_max);
    }

    #[test]
    fn default_api_timeout_is_the_fallback_request_timeout() {
        let default = EngineSettings::default().request_timeout;
        // (label, settings, request timeout, why default.api.timeout.ms is dropped)
        let cases = [
            (
                "used when committer.request.timeout.ms is not set",
                vec![("default.api.timeout.ms", "45000")],
                Duration::from_secs(45),
                None,
            ),
            (
                "overridden",
                vec![("default.api.timeout.ms", "45000"), (REQUEST_TIMEOUT, "5000")],
                Duration::from_secs(5),
                Some(OVERRIDDEN_BY_COMMITTER),
            ),
            ("zero", vec![("default.api.timeout.ms", "0")], default, Some(ZERO_REQUEST_TIMEOUT)),
        ];
        for (label, pairs, timeout, reason) in cases {
            let t = translated(&with_bootstrap(&pairs));
            assert_eq!(t.engine.request_timeout, timeout, "{label}");
            assert_eq!(dropped_reason(&t, "default.api.timeout.ms"), reason, "{label}");
            assert_eq!(t.dropped.len(), usize::from(reason.is_some()), "{label}");
            assert_eq!(value(&t, "default.api.timeout.ms"), None, "{label}");
        }
    }
}
