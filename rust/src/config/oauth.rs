//! OAUTHBEARER logins: unsecured test tokens, or OIDC client credentials.

use super::jaas;
use super::normalize::JavaSettings;
use super::sasl::JAAS_KEY;
use super::secret::Secret;
use super::{invalid, ConfigError, Output};

pub(super) const TOKEN_URL: &str = "sasl.oauthbearer.token.endpoint.url";
/// Why the token endpoint is left out of other logins.
pub(super) const OIDC_ONLY: &str = "used only for OAUTHBEARER logins with clientId and clientSecret";

/// The OAuthBearerLoginModule `entry`'s options, and the token endpoint from `input`.
pub(super) fn translate(mut entry: jaas::Entry, input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    // Unsecured tokens (tests): librdkafka builds them itself from a space-separated config.
    if let Some(subject) = entry.options.remove("unsecuredLoginStringClaim_sub") {
        if subject.is_empty() || subject.contains(char::is_whitespace) {
            return Err(invalid(JAAS_KEY, "unsecuredLoginStringClaim_sub must be one non-empty word"));
        }
        out.client.set_plain("enable.sasl.oauthbearer.unsecure.jwt", "true");
        out.client.set_plain("sasl.oauthbearer.config", format!("principal={subject}"));
        if input.take(TOKEN_URL).is_some() {
            out.leave_out(TOKEN_URL, OIDC_ONLY);
        }
        return Ok(());
    }
    let (Some(client_id), Some(client_secret)) =
        (entry.options.remove("clientId"), entry.options.remove("clientSecret"))
    else {
        return Err(invalid(
            JAAS_KEY,
            "OAuthBearerLoginModule needs either unsecuredLoginStringClaim_sub (unsecured test \
             tokens) or clientId and clientSecret (with sasl.oauthbearer.token.endpoint.url)",
        ));
    };
    let url = input
        .take(TOKEN_URL)
        .ok_or_else(|| invalid(TOKEN_URL, "required for OAUTHBEARER logins with clientId and clientSecret"))?;
    let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("https" | "http")) {
        return Err(invalid(TOKEN_URL, "must be an http(s) URL; librdkafka cannot read tokens from files"));
    }
    // Java's `extension_<name>` options; librdkafka takes them as one `name=value,...` list.
    let mut extensions = Vec::new();
    for (option, value) in &entry.options {
        if let Some(name) = option.strip_prefix("extension_") {
            if name.is_empty() || [name, value.as_str()].iter().any(|part| part.contains([',', '='])) {
                return Err(invalid(JAAS_KEY, "SASL extension names and values must not contain `,` or `=`"));
            }
            extensions.push(format!("{name}={value}"));
        }
    }
    out.client.set_plain("sasl.oauthbearer.method", "oidc");
    out.client.set_plain("sasl.oauthbearer.client.id", client_id);
    out.client.set_secret("sasl.oauthbearer.client.secret", Secret::new(client_secret));
    out.client.set_plain("sasl.oauthbearer.token.endpoint.url", url);
    if let Some(scope) = entry.options.remove("scope") {
        out.client.set_plain("sasl.oauthbearer.scope", scope);
    }
    if !extensions.is_empty() {
        out.client.set_plain("sasl.oauthbearer.extensions", extensions.join(","));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dropped::JAVA_LOGIN_TUNING;
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
    fn oauth_logins_become_librdkafka_settings() {
        let unsecured = format!("{MODULE} required unsecuredLoginStringClaim_sub=\"admin\";");
        let credentials = format!(
            "{MODULE} required clientId=\"committer\" clientSecret=\"{SECRET}\" scope=\"kafka\" \
             extension_logicalCluster=\"lkc-1\" extension_pool=\"p\";"
        );
        assert_accepted(&[
            Accepted {
                label: "unsecured tokens use librdkafka's builtin JWT",
                settings: oauth(&unsecured, &[(TOKEN_URL, "https://idp/token")]),
                values: vec![
                    ("enable.sasl.oauthbearer.unsecure.jwt", Some("true")),
                    ("sasl.oauthbearer.config", Some("principal=admin")),
                    ("sasl.oauthbearer.method", None),
                ],
                secrets: vec![],
                dropped: vec![(TOKEN_URL, OIDC_ONLY)],
            },
            Accepted {
                label: "client credentials use OIDC",
                settings: oauth(
                    &credentials,
                    &[
                        (TOKEN_URL, "https://idp.example/token"),
                        (
                            "sasl.login.callback.handler.class",
                            "org.apache.kafka.common.security.oauthbearer.\
                             OAuthBearerLoginCallbackHandler",
                        ),
                    ],
                ),
                values: vec![
                    ("sasl.oauthbearer.method", Some("oidc")),
                    ("sasl.oauthbearer.client.id", Some("committer")),
                    ("sasl.oauthbearer.client.secret", Some(SECRET)),
                    ("sasl.oauthbearer.scope", Some("kafka")),
                    ("sasl.oauthbearer.extensions", Some("logicalCluster=lkc-1,pool=p")),
                    (TOKEN_URL, Some("https://idp.example/token")),
                ],
                secrets: vec!["sasl.oauthbearer.client.secret"],
                dropped: vec![("sasl.login.callback.handler.class", JAVA_LOGIN_TUNING)],
            },
        ]);
    }

    #[test]
    fn oauth_logins_librdkafka_cannot_make_are_refused() {
        let spaced = format!("{MODULE} required unsecuredLoginStringClaim_sub=\"a b\";");
        let credentials = format!("{MODULE} required clientId=c clientSecret=\"{SECRET}\";");
        let bare = format!("{MODULE} required;");
        let bad_extension = format!("{MODULE} required clientId=c clientSecret=\"{SECRET}\" extension_a=\"x,y\";");
        #[rustfmt::skip]
        let rows = [
            ("an unsecured subject of two words", oauth(&spaced, &[]), JAAS_KEY, Contains("one non-empty word")),
            ("client credentials without a token endpoint", oauth(&credentials, &[]), TOKEN_URL, Is("required for OAUTHBEARER logins with clientId and clientSecret")),
            ("a token file instead of an endpoint", oauth(&credentials, &[(TOKEN_URL, "file:///tmp/token")]), TOKEN_URL, Contains("http(s) URL")),
            ("neither a subject nor client credentials", oauth(&bare, &[]), JAAS_KEY, Contains("unsecuredLoginStringClaim_sub")),
            ("an extension value with a comma", oauth(&bad_extension, &[(TOKEN_URL, "https://idp/token")]), JAAS_KEY, Contains("must not contain")),
        ];
        assert_refusals(&rows);
    }
}
