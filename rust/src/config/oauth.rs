//! OAUTHBEARER logins: tokens pushed by the application, or unsecured test tokens.
//!
//! librdkafka cannot fetch tokens itself here: its OIDC client needs libcurl, which the bundled
//! librdkafka is built without (`rd_kafka_conf_set` refuses every `sasl.oauthbearer.method=oidc`
//! property). So every login that fetches tokens runs in the JVM: the JVM API instantiates the
//! `sasl.login.callback.handler.class` the settings name (MSK IAM's, Kafka's OIDC handler, any
//! vendor's), pushes its tokens to the core and says so with the engine setting
//! `committer.oauthbearer.tokens.pushed`. The native client then takes the tokens it is given
//! (see `Committer::set_oauth_token`); the login's own settings stay in the JVM.
//!
//! Without that promise only unsecured test tokens (`unsecuredLoginStringClaim_sub`) can be made,
//! by librdkafka's own builder; any other login is refused here, once and clearly.

use super::jaas;
use super::normalize::JavaSettings;
use super::sasl::JAAS_KEY;
use super::secret::Secret;
use super::{invalid, ConfigError, Output};

pub(super) const TOKEN_URL: &str = "sasl.oauthbearer.token.endpoint.url";
/// Why the token endpoint is left out of other logins.
pub(super) const OIDC_ONLY: &str = "used only for OAUTHBEARER logins with clientId and clientSecret";
const LOGIN_HANDLER: &str = "sasl.login.callback.handler.class";
/// librdkafka's switch that puts token refresh requests on a queue of their own, which the commit
/// helper serves with the tokens the application pushed. Set only when the application promised
/// to push tokens, so it also tells this module that it did (see [`tokens_pushed`]).
const SASL_QUEUE: &str = "enable_sasl_queue";
/// What librdkafka hands to the token refresh handler; here it names the login (a fingerprint of
/// its settings), so that committers with different logins never share one native client.
const LOGIN_IDENTITY: &str = "sasl.oauthbearer.config";
/// Why the login's own settings are not passed to librdkafka when the application pushes tokens.
pub(super) const LOGIN_IN_THE_JVM: &str = "read by the JVM's login handler, whose tokens the commit client is given";
/// Why every OAUTHBEARER login but unsecured test tokens is refused without pushed tokens, and
/// the way out.
const TOKENS_UNSUPPORTED: &str = "OAUTHBEARER logins that fetch tokens (clientId and clientSecret, or a \
     sasl.login.callback.handler.class such as AWS MSK IAM's) need the JVM to run the login \
     handler and push its tokens: create the committer through the Java API \
     (OffsetCommitter.create, with org.apache.kafka:kafka-clients on the class path), which does \
     so; the native Kafka client is built without an HTTP client for \
     sasl.oauthbearer.token.endpoint.url. Or commit with credentials it can use: sasl.mechanism \
     PLAIN or SCRAM-SHA-256/512 with a PlainLoginModule or ScramLoginModule sasl.jaas.config, \
     or a TLS client certificate (security.protocol SSL with ssl.keystore.*)";

/// Records that the application pushes OAUTHBEARER tokens (the engine setting
/// `committer.oauthbearer.tokens.pushed`): the client serves token refreshes on their own queue.
pub(super) fn tokens_pushed_by_the_application(out: &mut Output) {
    out.client.set_plain(SASL_QUEUE, "true");
}

fn tokens_pushed(out: &Output) -> bool {
    out.client.get(SASL_QUEUE).is_some_and(|value| value.expose() == "true")
}

/// The OAuthBearerLoginModule `entry`'s options, the login handler and the token endpoint from
/// `input`.
pub(super) fn translate(mut entry: jaas::Entry, input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    if tokens_pushed(out) {
        let handler = input.take(LOGIN_HANDLER);
        let token_url = input.take(TOKEN_URL);
        // Who the tokens speak for is decided by the login's settings; they are secret (the JAAS
        // text holds client secrets), so only their fingerprint shows.
        let options = entry.options.iter().map(|(name, value)| format!("{name}={value}\n"));
        let login = Secret::new(
            [&entry.module, handler.as_deref().unwrap_or_default(), token_url.as_deref().unwrap_or_default()]
                .iter()
                .map(|part| format!("{part}\n"))
                .chain(options)
                .collect::<String>(),
        );
        out.client.set_plain(LOGIN_IDENTITY, format!("login={}", login.fingerprint()));
        out.leave_out(JAAS_KEY, LOGIN_IN_THE_JVM);
        for (key, given) in [(LOGIN_HANDLER, handler.is_some()), (TOKEN_URL, token_url.is_some())] {
            if given {
                out.leave_out(key, LOGIN_IN_THE_JVM);
            }
        }
        return Ok(());
    }
    // Unsecured tokens (tests): librdkafka builds them itself from a space-separated config.
    let Some(subject) = entry.options.remove("unsecuredLoginStringClaim_sub") else {
        return Err(invalid(JAAS_KEY, TOKENS_UNSUPPORTED));
    };
    if subject.is_empty() || subject.contains(char::is_whitespace) {
        return Err(invalid(JAAS_KEY, "unsecuredLoginStringClaim_sub must be one non-empty word"));
    }
    if input.take(LOGIN_HANDLER).is_some() {
        // A named handler makes tokens in the JVM, which did not promise to push them.
        return Err(invalid(LOGIN_HANDLER, TOKENS_UNSUPPORTED));
    }
    out.client.set_plain("enable.sasl.oauthbearer.unsecure.jwt", "true");
    out.client.set_plain(LOGIN_IDENTITY, format!("principal={subject}"));
    if input.take(TOKEN_URL).is_some() {
        out.leave_out(TOKEN_URL, OIDC_ONLY);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::engine_keys::OAUTHBEARER_TOKENS_PUSHED;
    use crate::config::test_support::{
        assert_accepted, assert_refusals, sasl_ssl, translated, value, Accepted, Reason::Contains, Reason::Is, SECRET,
    };

    const MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
    const MSK_HANDLER: &str = "software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler";
    const OIDC_HANDLER: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler";

    /// OAUTHBEARER over SASL_SSL with these login module options and other settings.
    fn oauth<'a>(jaas: &'a str, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut pairs = sasl_ssl("OAUTHBEARER", jaas);
        pairs.extend_from_slice(more);
        pairs
    }

    fn credentials() -> String {
        format!("{MODULE} required clientId=\"committer\" clientSecret=\"{SECRET}\" scope=\"kafka\";")
    }

    #[test]
    fn unsecured_test_tokens_use_librdkafkas_builtin_jwt() {
        let unsecured = format!("{MODULE} required unsecuredLoginStringClaim_sub=\"admin\";");
        assert_accepted(&[Accepted {
            label: "unsecured tokens use librdkafka's builtin JWT",
            settings: oauth(&unsecured, &[(TOKEN_URL, "https://idp/token")]),
            values: vec![
                ("enable.sasl.oauthbearer.unsecure.jwt", Some("true")),
                ("sasl.oauthbearer.config", Some("principal=admin")),
                ("sasl.oauthbearer.method", None),
                (SASL_QUEUE, None),
            ],
            secrets: vec![],
            dropped: vec![(TOKEN_URL, OIDC_ONLY)],
        }]);
    }

    #[test]
    fn logins_whose_tokens_the_jvm_pushes_take_the_tokens_they_are_given() {
        let credentials = credentials();
        let bare = format!("{MODULE} required;");
        let unsecured = format!("{MODULE} required unsecuredLoginStringClaim_sub=\"admin\";");
        let pushed = (OAUTHBEARER_TOKENS_PUSHED, "true");
        let given_tokens = || {
            vec![
                ("sasl.mechanism", Some("OAUTHBEARER")),
                (SASL_QUEUE, Some("true")),
                ("enable.sasl.oauthbearer.unsecure.jwt", None),
                ("sasl.oauthbearer.method", None),
                ("sasl.oauthbearer.client.secret", None),
                ("sasl.oauthbearer.token.endpoint.url", None),
            ]
        };
        #[rustfmt::skip]
        let rows = [
            Accepted { label: "Kafka's OIDC handler", settings: oauth(&credentials, &[pushed, (TOKEN_URL, "https://idp/token"), (LOGIN_HANDLER, OIDC_HANDLER)]), values: given_tokens(), secrets: vec![], dropped: vec![(JAAS_KEY, LOGIN_IN_THE_JVM), (LOGIN_HANDLER, LOGIN_IN_THE_JVM), (TOKEN_URL, LOGIN_IN_THE_JVM)] },
            Accepted { label: "a vendor's handler", settings: oauth(&bare, &[pushed, (LOGIN_HANDLER, MSK_HANDLER)]), values: given_tokens(), secrets: vec![], dropped: vec![(JAAS_KEY, LOGIN_IN_THE_JVM), (LOGIN_HANDLER, LOGIN_IN_THE_JVM)] },
            Accepted { label: "unsecured tokens made by the JVM", settings: oauth(&unsecured, &[pushed]), values: given_tokens(), secrets: vec![], dropped: vec![(JAAS_KEY, LOGIN_IN_THE_JVM)] },
        ];
        assert_accepted(&rows);
    }

    #[test]
    fn different_logins_never_share_a_client() {
        let pushed = (OAUTHBEARER_TOKENS_PUSHED, "true");
        let credentials = credentials();
        let other_secret = credentials.replace(SECRET, "another-secret");
        let bare = format!("{MODULE} required;");
        let keys: Vec<String> = [
            oauth(&credentials, &[pushed, (LOGIN_HANDLER, OIDC_HANDLER)]),
            oauth(&other_secret, &[pushed, (LOGIN_HANDLER, OIDC_HANDLER)]),
            oauth(&bare, &[pushed, (LOGIN_HANDLER, MSK_HANDLER)]),
            oauth(&bare, &[pushed, (LOGIN_HANDLER, "com.example.OtherHandler")]),
        ]
        .iter()
        .map(|pairs| translated(pairs).client.cluster_key())
        .collect();
        for (index, key) in keys.iter().enumerate() {
            assert!(!key.contains(SECRET), "{key}");
            assert!(keys[index + 1..].iter().all(|other| other != key), "{keys:#?}");
        }
        let again = translated(&oauth(&credentials, &[pushed, (LOGIN_HANDLER, OIDC_HANDLER)]));
        assert_eq!(again.client.cluster_key(), keys[0]);
        assert!(value(&again, LOGIN_IDENTITY).is_some_and(|identity| identity.starts_with("login=fnv1a64:")));
    }

    #[test]
    fn oauth_logins_librdkafka_cannot_make_are_refused_without_pushed_tokens() {
        let spaced = format!("{MODULE} required unsecuredLoginStringClaim_sub=\"a b\";");
        let credentials = format!(
            "{MODULE} required clientId=\"committer\" clientSecret=\"{SECRET}\" scope=\"kafka\" \
             extension_logicalCluster=\"lkc-1\";"
        );
        let bare = format!("{MODULE} required;");
        let unsecured = format!("{MODULE} required unsecuredLoginStringClaim_sub=\"admin\";");
        #[rustfmt::skip]
        let rows = [
            ("an unsecured subject of two words", oauth(&spaced, &[]), JAAS_KEY, Contains("one non-empty word")),
            ("client credentials with a token endpoint", oauth(&credentials, &[(TOKEN_URL, "https://idp.example/token"), (LOGIN_HANDLER, OIDC_HANDLER)]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
            ("client credentials without a token endpoint", oauth(&credentials, &[]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
            ("a vendor's login handler", oauth(&bare, &[(LOGIN_HANDLER, MSK_HANDLER)]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
            ("neither a subject nor client credentials", oauth(&bare, &[]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
            ("a handler beside an unsecured subject", oauth(&unsecured, &[(LOGIN_HANDLER, MSK_HANDLER)]), LOGIN_HANDLER, Is(TOKENS_UNSUPPORTED)),
            ("pushed tokens switched off", oauth(&bare, &[(OAUTHBEARER_TOKENS_PUSHED, "false"), (LOGIN_HANDLER, MSK_HANDLER)]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
        ];
        assert_refusals(&rows);
    }

    #[test]
    fn the_oauth_refusal_says_why_and_names_the_way_out() {
        for named in [
            "clientId and clientSecret",
            "sasl.login.callback.handler.class",
            "OffsetCommitter.create",
            "org.apache.kafka:kafka-clients",
            "sasl.oauthbearer.token.endpoint.url",
            "without an HTTP client",
            "PLAIN or SCRAM-SHA-256/512",
            "sasl.jaas.config",
            "ssl.keystore.*",
        ] {
            assert!(TOKENS_UNSUPPORTED.contains(named), "{named}");
        }
    }
}
