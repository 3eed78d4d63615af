//! OAUTHBEARER logins: unsecured test tokens only.
//!
//! Tokens from an identity provider cannot be had here: librdkafka's own OIDC client needs
//! libcurl, which the bundled librdkafka is built without (`rd_kafka_conf_set` refuses every
//! `sasl.oauthbearer.method=oidc` property), and tokens minted by the JVM's login handler are
//! not handed to the native client yet. Such logins are refused here, once and clearly, rather
//! than by librdkafka property by property.

use super::jaas;
use super::normalize::JavaSettings;
use super::sasl::JAAS_KEY;
use super::{invalid, ConfigError, Output};

pub(super) const TOKEN_URL: &str = "sasl.oauthbearer.token.endpoint.url";
/// Why the token endpoint is left out of other logins.
pub(super) const OIDC_ONLY: &str = "used only for OAUTHBEARER logins with clientId and clientSecret";
/// Why every OAUTHBEARER login but unsecured test tokens is refused, and the way out.
const TOKENS_UNSUPPORTED: &str = "OAUTHBEARER logins that fetch tokens (clientId and clientSecret, or a \
     sasl.login.callback.handler.class such as AWS MSK IAM's) are not supported for committing: \
     the native Kafka client is built without an HTTP client for \
     sasl.oauthbearer.token.endpoint.url, and tokens from the JVM's login handler are not passed \
     to it yet. Commit with credentials it can use: sasl.mechanism PLAIN or SCRAM-SHA-256/512 \
     with a PlainLoginModule or ScramLoginModule sasl.jaas.config, or a TLS client certificate \
     (security.protocol SSL with ssl.keystore.*)";

/// The OAuthBearerLoginModule `entry`'s options, and the token endpoint from `input`.
pub(super) fn translate(mut entry: jaas::Entry, input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    // Unsecured tokens (tests): librdkafka builds them itself from a space-separated config.
    let Some(subject) = entry.options.remove("unsecuredLoginStringClaim_sub") else {
        return Err(invalid(JAAS_KEY, TOKENS_UNSUPPORTED));
    };
    if subject.is_empty() || subject.contains(char::is_whitespace) {
        return Err(invalid(JAAS_KEY, "unsecuredLoginStringClaim_sub must be one non-empty word"));
    }
    out.client.set_plain("enable.sasl.oauthbearer.unsecure.jwt", "true");
    out.client.set_plain("sasl.oauthbearer.config", format!("principal={subject}"));
    if input.take(TOKEN_URL).is_some() {
        out.leave_out(TOKEN_URL, OIDC_ONLY);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{
        assert_accepted, assert_refusals, sasl_ssl, Accepted, Reason::Contains, Reason::Is, SECRET,
    };

    const MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

    /// OAUTHBEARER over SASL_SSL with these login module options and other settings.
    fn oauth<'a>(jaas: &'a str, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut pairs = sasl_ssl("OAUTHBEARER", jaas);
        pairs.extend_from_slice(more);
        pairs
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
            ],
            secrets: vec![],
            dropped: vec![(TOKEN_URL, OIDC_ONLY)],
        }]);
    }

    #[test]
    fn oauth_logins_librdkafka_cannot_make_are_refused() {
        let spaced = format!("{MODULE} required unsecuredLoginStringClaim_sub=\"a b\";");
        let credentials = format!(
            "{MODULE} required clientId=\"committer\" clientSecret=\"{SECRET}\" scope=\"kafka\" \
             extension_logicalCluster=\"lkc-1\";"
        );
        let bare = format!("{MODULE} required;");
        let handler = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler";
        let msk_handler = "software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler";
        #[rustfmt::skip]
        let rows = [
            ("an unsecured subject of two words", oauth(&spaced, &[]), JAAS_KEY, Contains("one non-empty word")),
            ("client credentials with a token endpoint", oauth(&credentials, &[(TOKEN_URL, "https://idp.example/token"), ("sasl.login.callback.handler.class", handler)]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
            ("client credentials without a token endpoint", oauth(&credentials, &[]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
            ("a vendor's login handler", oauth(&bare, &[("sasl.login.callback.handler.class", msk_handler)]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
            ("neither a subject nor client credentials", oauth(&bare, &[]), JAAS_KEY, Is(TOKENS_UNSUPPORTED)),
        ];
        assert_refusals(&rows);
    }

    #[test]
    fn the_oauth_refusal_says_why_and_names_the_way_out() {
        for named in [
            "clientId and clientSecret",
            "sasl.login.callback.handler.class",
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
