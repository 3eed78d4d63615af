//! SASL: the mechanism, and the credentials read from the JAAS login module entry. A login
//! librdkafka cannot make (Kerberos, mechanisms it lacks, SCRAM delegation tokens, other JAAS
//! login modules, the JVM-wide JAAS file) is not refused: it names why the JVM executor runs it.

use super::jaas;
use super::normalize::JavaSettings;
use super::oauth;
use super::secret::Secret;
use super::{invalid, ConfigError, Output};

pub(super) const JAAS_KEY: &str = "sasl.jaas.config";
pub(super) const MECHANISM: &str = "sasl.mechanism";
const KERBEROS: &str = "Kerberos (GSSAPI) logs in through the JVM (librdkafka cannot use a JAAS login)";

/// Who can make the settings' SASL login.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Sasl {
    /// librdkafka: the login is translated into the client settings.
    Native,
    /// Only Kafka's Java client: `key` is the setting that decides it, `why` says so.
    NeedsJvm { key: &'static str, why: String },
}

impl Sasl {
    fn needs_jvm(key: &'static str, why: impl Into<String>) -> Self {
        Sasl::NeedsJvm { key, why: why.into() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl Mechanism {
    fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism librdkafka speaks, or why only the JVM does.
    fn take(input: &mut JavaSettings) -> Result<Mechanism, Sasl> {
        let Some(value) = input.take(MECHANISM) else {
            return Err(Sasl::needs_jvm(MECHANISM, format!("not set, which means GSSAPI in Java; {KERBEROS}")));
        };
        match value.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Mechanism::Plain),
            "SCRAM-SHA-256" => Ok(Mechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(Mechanism::ScramSha512),
            "OAUTHBEARER" => Ok(Mechanism::OAuthBearer),
            "GSSAPI" => Err(Sasl::needs_jvm(MECHANISM, KERBEROS)),
            _ => Err(Sasl::needs_jvm(
                MECHANISM,
                format!("librdkafka has no SASL mechanism `{value}` (it speaks PLAIN, SCRAM-SHA-256/512, OAUTHBEARER)"),
            )),
        }
    }
}

pub(super) fn translate(input: &mut JavaSettings, out: &mut Output) -> Result<Sasl, ConfigError> {
    let mechanism = match Mechanism::take(input) {
        Ok(mechanism) => mechanism,
        Err(needs_jvm) => return Ok(needs_jvm),
    };
    out.client.set_plain(MECHANISM, mechanism.name());

    let Some(jaas) = input.take_secret(JAAS_KEY) else {
        return Ok(Sasl::needs_jvm(
            JAAS_KEY,
            "not set, so the login comes from the JVM-wide JAAS configuration, which librdkafka cannot read",
        ));
    };
    let entry = jaas::parse(jaas.expose()).map_err(|e| invalid(JAAS_KEY, e.to_string()))?;
    match (LoginModule::of(&entry), mechanism) {
        (LoginModule::Kerberos, _) => Ok(Sasl::needs_jvm(JAAS_KEY, KERBEROS)),
        (LoginModule::Unknown, _) => Ok(Sasl::needs_jvm(
            JAAS_KEY,
            "the login module is not one of PlainLoginModule, ScramLoginModule, OAuthBearerLoginModule, \
             which are all librdkafka can make",
        )),
        (LoginModule::Plain | LoginModule::Scram, Mechanism::OAuthBearer) => {
            Err(invalid(JAAS_KEY, "sasl.mechanism OAUTHBEARER needs OAuthBearerLoginModule"))
        }
        (LoginModule::OAuthBearer, Mechanism::Plain | Mechanism::ScramSha256 | Mechanism::ScramSha512) => Err(invalid(
            JAAS_KEY,
            format!("sasl.mechanism {} needs PlainLoginModule or ScramLoginModule", mechanism.name()),
        )),
        // Java's Plain and Scram modules both just store username and password, and either
        // works with any of these mechanisms.
        (LoginModule::Plain | LoginModule::Scram, _) => user_and_password(entry, out),
        (LoginModule::OAuthBearer, Mechanism::OAuthBearer) => {
            oauth::translate(entry, input, out).map(|()| Sasl::Native)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoginModule {
    Plain,
    Scram,
    OAuthBearer,
    Kerberos,
    Unknown,
}

impl LoginModule {
    /// Matched on the simple class name, so relocated builds (`kafkashaded.org.apache...`)
    /// work too.
    fn of(entry: &jaas::Entry) -> LoginModule {
        match entry.module.rsplit('.').next().unwrap_or_default() {
            "PlainLoginModule" => LoginModule::Plain,
            "ScramLoginModule" => LoginModule::Scram,
            "OAuthBearerLoginModule" => LoginModule::OAuthBearer,
            "Krb5LoginModule" => LoginModule::Kerberos,
            _ => LoginModule::Unknown,
        }
    }
}

fn user_and_password(mut entry: jaas::Entry, out: &mut Output) -> Result<Sasl, ConfigError> {
    // SCRAM with tokenauth sends the token flag as a SCRAM extension, which librdkafka's SCRAM
    // client cannot send.
    if entry.options.get("tokenauth").is_some_and(|flag| flag.eq_ignore_ascii_case("true")) {
        return Ok(Sasl::needs_jvm(
            JAAS_KEY,
            "SCRAM with tokenauth (a delegation token) needs a SCRAM extension librdkafka cannot send",
        ));
    }
    let (Some(username), Some(password)) = (entry.options.remove("username"), entry.options.remove("password")) else {
        return Err(invalid(JAAS_KEY, "the login module needs both the username and the password option"));
    };
    out.client.set_plain("sasl.username", username);
    out.client.set_secret("sasl.password", Secret::new(password));
    Ok(Sasl::Native)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{
        assert_accepted, assert_no_secret, assert_refusals, plain_jaas, sasl_ssl, settings, with_bootstrap, Accepted,
        Pairs, Reason::Contains, SECRET,
    };
    use crate::config::{translate, Executor};

    const OAUTH_MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

    #[test]
    fn user_logins_give_username_and_secret_password() {
        let plain = plain_jaas(SECRET);
        let scram = format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=bob \
             password=\"{SECRET}\";"
        );
        // Java's modules are interchangeable for these mechanisms; relocated class names work.
        let shaded = format!(
            "kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=u password=\"{SECRET}\";"
        );
        let login = |label, mechanism, jaas, sent_mechanism, username| Accepted {
            label,
            settings: sasl_ssl(mechanism, jaas),
            values: vec![
                ("sasl.mechanism", Some(sent_mechanism)),
                ("security.protocol", Some("sasl_ssl")),
                ("sasl.username", Some(username)),
                ("sasl.password", Some(SECRET)),
                ("sasl.jaas.config", None),
            ],
            secrets: vec!["sasl.password"],
            dropped: vec![],
        };
        assert_accepted(&[
            login("PLAIN", "plain", &plain, "PLAIN", "alice"),
            login("SCRAM-SHA-256", "SCRAM-SHA-256", &scram, "SCRAM-SHA-256", "bob"),
            login("scram-sha-512", "scram-sha-512", &scram, "SCRAM-SHA-512", "bob"),
            login("relocated Plain module", "SCRAM-SHA-512", &shaded, "SCRAM-SHA-512", "u"),
        ]);
    }

    #[test]
    fn sasl_logins_that_cannot_work_are_refused() {
        let plain = plain_jaas(SECRET);
        let oauth = format!("{OAUTH_MODULE} required unsecuredLoginStringClaim_sub=\"admin\";");
        let no_username = format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             password=\"{SECRET}\";"
        );
        #[rustfmt::skip]
        let rows = [
            ("a password without a username", sasl_ssl("PLAIN", &no_username), JAAS_KEY, Contains("username and the password")),
            ("OAUTHBEARER with the Plain module", sasl_ssl("OAUTHBEARER", &plain), JAAS_KEY, Contains("needs OAuthBearerLoginModule")),
            ("PLAIN with the OAuthBearer module", sasl_ssl("PLAIN", &oauth), JAAS_KEY, Contains("needs PlainLoginModule or ScramLoginModule")),
            ("a malformed JAAS text", sasl_ssl("PLAIN", "M required a"), JAAS_KEY, Contains("malformed JAAS configuration")),
        ];
        assert_refusals(&rows);
    }

    #[test]
    fn logins_librdkafka_cannot_make_name_why_the_jvm_makes_them() {
        let token = format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"tokenid\" password=\"{SECRET}\" tokenauth=\"TRUE\";"
        );
        let custom = format!("com.example.CustomLoginModule required secret=\"{SECRET}\";");
        let iam = "software.amazon.msk.auth.iam.IAMLoginModule required;";
        let kerberos = "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true \
                        keyTab=\"/k.keytab\" principal=\"u@R\";";
        let no_jaas = with_bootstrap(&[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "PLAIN")]);
        let no_mechanism = with_bootstrap(&[("security.protocol", "SASL_PLAINTEXT"), ("sasl.jaas.config", kerberos)]);
        #[rustfmt::skip]
        let rows: [(&str, Pairs, &str, &str); 7] = [
            ("GSSAPI with a keytab", sasl_ssl("GSSAPI", kerberos), MECHANISM, KERBEROS),
            ("no mechanism means GSSAPI", no_mechanism, MECHANISM, "not set, which means GSSAPI in Java"),
            ("AWS_MSK_IAM", sasl_ssl("AWS_MSK_IAM", iam), MECHANISM, "librdkafka has no SASL mechanism `AWS_MSK_IAM`"),
            ("SCRAM delegation tokens", sasl_ssl("SCRAM-SHA-512", &token), JAAS_KEY, "SCRAM with tokenauth"),
            ("a custom login module", sasl_ssl("PLAIN", &custom), JAAS_KEY, "not one of PlainLoginModule"),
            ("the Kerberos login module under PLAIN", sasl_ssl("PLAIN", kerberos), JAAS_KEY, KERBEROS),
            ("the JVM-wide JAAS file", no_jaas, JAAS_KEY, "JVM-wide JAAS configuration"),
        ];
        for (label, pairs, key, why) in rows {
            let result = translate(&settings(&pairs));
            let t = result.as_ref().unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(matches!(t.executor.executor, Executor::Jvm { .. }), "{label}: {:?}", t.executor);
            assert!(t.executor.reason.starts_with(&format!("`{key}`: ")), "{label}: {}", t.executor.reason);
            assert!(t.executor.reason.contains(why), "{label}: {}", t.executor.reason);
            assert_no_secret(label, &result);
        }
    }
}
