//! SASL: the mechanism, and the credentials read from the JAAS login module entry.

use super::jaas;
use super::normalize::JavaSettings;
use super::oauth;
use super::secret::Secret;
use super::{invalid, ConfigError, Output};

pub(super) const JAAS_KEY: &str = "sasl.jaas.config";
const MECHANISM: &str = "sasl.mechanism";
const KERBEROS_UNSUPPORTED: &str = "Kerberos (GSSAPI) is not supported by this build";

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

    fn take(input: &mut JavaSettings) -> Result<Mechanism, ConfigError> {
        let Some(value) = input.take(MECHANISM) else {
            return Err(invalid(MECHANISM, format!("not set, which means GSSAPI in Java; {KERBEROS_UNSUPPORTED}")));
        };
        match value.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Mechanism::Plain),
            "SCRAM-SHA-256" => Ok(Mechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(Mechanism::ScramSha512),
            "OAUTHBEARER" => Ok(Mechanism::OAuthBearer),
            "GSSAPI" => Err(invalid(MECHANISM, KERBEROS_UNSUPPORTED)),
            _ => Err(invalid(
                MECHANISM,
                format!(
                    "`{value}` is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, \
                     GSSAPI"
                ),
            )),
        }
    }
}

pub(super) fn translate(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    let mechanism = Mechanism::take(input)?;
    out.client.set_plain(MECHANISM, mechanism.name());

    let jaas = input
        .take_secret(JAAS_KEY)
        .ok_or_else(|| invalid(JAAS_KEY, "sasl.jaas.config is required (the JVM-wide JAAS file is not read)"))?;
    let entry = jaas::parse(jaas.expose()).map_err(|e| invalid(JAAS_KEY, e.to_string()))?;
    match (LoginModule::of(&entry), mechanism) {
        (LoginModule::Kerberos, _) => Err(invalid(JAAS_KEY, KERBEROS_UNSUPPORTED)),
        (LoginModule::Unknown, _) => Err(invalid(
            JAAS_KEY,
            "the login module is not one of PlainLoginModule, ScramLoginModule, \
             OAuthBearerLoginModule",
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
        (LoginModule::OAuthBearer, Mechanism::OAuthBearer) => oauth::translate(entry, input, out),
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

fn user_and_password(mut entry: jaas::Entry, out: &mut Output) -> Result<(), ConfigError> {
    // SCRAM with tokenauth sends the token flag as a SCRAM extension, which librdkafka's SCRAM
    // client cannot send.
    if entry.options.get("tokenauth").is_some_and(|flag| flag.eq_ignore_ascii_case("true")) {
        return Err(invalid(JAAS_KEY, "delegation tokens are not supported by librdkafka; use a SCRAM user"));
    }
    let (Some(username), Some(password)) = (entry.options.remove("username"), entry.options.remove("password")) else {
        return Err(invalid(JAAS_KEY, "the login module needs both the username and the password option"));
    };
    out.client.set_plain("sasl.username", username);
    out.client.set_secret("sasl.password", Secret::new(password));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{
        assert_accepted, assert_refusals, plain_jaas, sasl_ssl, with_bootstrap, Accepted, Reason::Contains, Reason::Is,
        SECRET,
    };

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
    fn sasl_logins_librdkafka_cannot_make_are_refused() {
        let plain = plain_jaas(SECRET);
        let oauth = format!("{OAUTH_MODULE} required unsecuredLoginStringClaim_sub=\"admin\";");
        let token = format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"tokenid\" password=\"{SECRET}\" tokenauth=\"TRUE\";"
        );
        let no_username = format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             password=\"{SECRET}\";"
        );
        let custom = format!("com.example.CustomLoginModule required secret=\"{SECRET}\";");
        let kerberos = "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true \
                        keyTab=\"/k.keytab\" principal=\"u@R\";";
        #[rustfmt::skip]
        let rows = [
            ("no JAAS configuration", with_bootstrap(&[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "PLAIN")]), JAAS_KEY, Is("sasl.jaas.config is required (the JVM-wide JAAS file is not read)")),
            ("no mechanism means GSSAPI", with_bootstrap(&[("security.protocol", "SASL_PLAINTEXT"), ("sasl.jaas.config", &plain)]), MECHANISM, Contains("Kerberos (GSSAPI) is not supported by this build")),
            ("GSSAPI", sasl_ssl("gssapi", &plain), MECHANISM, Is(KERBEROS_UNSUPPORTED)),
            ("an unknown mechanism", sasl_ssl("AWS_MSK_IAM", &plain), MECHANISM, Contains("`AWS_MSK_IAM` is not one of")),
            ("SCRAM delegation tokens", sasl_ssl("SCRAM-SHA-512", &token), JAAS_KEY, Is("delegation tokens are not supported by librdkafka; use a SCRAM user")),
            ("a password without a username", sasl_ssl("PLAIN", &no_username), JAAS_KEY, Contains("username and the password")),
            ("OAUTHBEARER with the Plain module", sasl_ssl("OAUTHBEARER", &plain), JAAS_KEY, Contains("needs OAuthBearerLoginModule")),
            ("PLAIN with the OAuthBearer module", sasl_ssl("PLAIN", &oauth), JAAS_KEY, Contains("needs PlainLoginModule or ScramLoginModule")),
            ("a custom login module", sasl_ssl("PLAIN", &custom), JAAS_KEY, Contains("not one of PlainLoginModule")),
            ("the Kerberos login module", sasl_ssl("PLAIN", kerberos), JAAS_KEY, Is(KERBEROS_UNSUPPORTED)),
        ];
        assert_refusals(&rows);
    }
}
