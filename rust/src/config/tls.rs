//! TLS: hostname checks, trust material and the client certificate, as OpenSSL reads them.

use super::normalize::JavaSettings;
use super::secret::Secret;
use super::{invalid, ConfigError, Output};

pub(super) const HOSTNAME_CHECK: &str = "ssl.endpoint.identification.algorithm";
const PEM: &str = "PEM";
const KEY_PASSWORD: &str = "ssl.key.password";
const STORE_PASSWORD: &str = "ssl.keystore.password";

// Why a store password is left out.
const PEM_NEEDS_NO_STORE_PASSWORD: &str = "not used with PEM trust and key material";
const NO_TRUSTSTORE: &str = "no truststore is configured";
const NO_KEYSTORE: &str = "no client certificate is configured";
const PKCS12_KEY_PASSWORD: &str = "PKCS12 keys are protected by the keystore password";

pub(super) fn translate(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    if let Some(value) = input.take(HOSTNAME_CHECK) {
        let algorithm = match value.to_ascii_lowercase().as_str() {
            "" => "none",
            "https" => "https",
            _ => {
                return Err(invalid(HOSTNAME_CHECK, format!("`{value}` is not supported; use https or an empty value")))
            }
        };
        out.client.set_plain(HOSTNAME_CHECK, algorithm);
    }
    translate_truststore(input, out)?;
    translate_keystore(input, out)
}

/// A store's type as Java would use it (`JKS` unless set, compared case-insensitively) and its
/// location.
fn take_store(input: &mut JavaSettings, type_key: &str, location_key: &str) -> (String, Option<String>) {
    let store_type = input.take(type_key).map_or_else(|| "JKS".to_string(), |kind| kind.to_ascii_uppercase());
    (store_type, input.take(location_key))
}

/// Why a Java store at `location` is refused.
fn not_pem(location: &str, store_type: &str) -> ConfigError {
    invalid(
        location,
        format!(
            "{location} of type {store_type} must be converted to PEM; the JVM API does this \
             automatically"
        ),
    )
}

/// Trust material must be PEM: OpenSSL cannot read JKS, and the JVM API converts stores to
/// `ssl.truststore.certificates` before calling native code.
fn translate_truststore(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    const LOCATION: &str = "ssl.truststore.location";
    const CERTIFICATES: &str = "ssl.truststore.certificates";
    const PASSWORD: &str = "ssl.truststore.password";
    let (store_type, location) = take_store(input, "ssl.truststore.type", LOCATION);
    let certificates = input.take_secret(CERTIFICATES);
    let configured = location.is_some() || certificates.is_some();
    match (location, certificates) {
        (Some(_), Some(_)) => {
            return Err(invalid(CERTIFICATES, format!("set either {LOCATION} or {CERTIFICATES}, not both")));
        }
        (Some(location), None) if store_type == PEM => out.client.set_plain("ssl.ca.location", location),
        (Some(_), None) => return Err(not_pem(LOCATION, &store_type)),
        (None, Some(pem)) if store_type == PEM => out.client.set_secret("ssl.ca.pem", pem),
        (None, Some(_)) => return Err(invalid(CERTIFICATES, "requires ssl.truststore.type=PEM")),
        (None, None) => {}
    }
    if input.take(PASSWORD).is_some() {
        out.leave_out(PASSWORD, if configured { PEM_NEEDS_NO_STORE_PASSWORD } else { NO_TRUSTSTORE });
    }
    Ok(())
}

/// The client certificate: PEM key and chain (what the JVM API produces), a PEM file, or a
/// PKCS12 file, which OpenSSL reads itself.
fn translate_keystore(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    const LOCATION: &str = "ssl.keystore.location";
    const KEY: &str = "ssl.keystore.key";
    const CHAIN: &str = "ssl.keystore.certificate.chain";
    let (store_type, location) = take_store(input, "ssl.keystore.type", LOCATION);
    let key = input.take_secret(KEY);
    let chain = input.take_secret(CHAIN);
    let store_password = input.take_secret(STORE_PASSWORD);
    let key_password = input.take_secret(KEY_PASSWORD);

    let inline_pem = key.is_some() || chain.is_some();
    if location.is_some() && inline_pem {
        return Err(invalid(KEY, format!("set either {LOCATION} or {KEY} with {CHAIN}, not both")));
    }
    if inline_pem && store_type != PEM {
        return Err(invalid(KEY, "requires ssl.keystore.type=PEM"));
    }
    match (location, key, chain) {
        (None, Some(key), Some(chain)) => {
            out.client.set_secret("ssl.key.pem", key);
            out.client.set_secret("ssl.certificate.pem", chain);
            pem_passwords(out, key_password, store_password.as_ref());
        }
        (None, Some(_), None) => return Err(invalid(CHAIN, format!("must be set together with {KEY}"))),
        (None, None, Some(_)) => return Err(invalid(KEY, format!("must be set together with {CHAIN}"))),
        // A Java PEM keystore file holds the key and the chain; OpenSSL picks each from it.
        (Some(location), _, _) if store_type == PEM => {
            out.client.set_plain("ssl.certificate.location", location.clone());
            out.client.set_plain("ssl.key.location", location);
            pem_passwords(out, key_password, store_password.as_ref());
        }
        (Some(location), _, _) if store_type == "PKCS12" => {
            out.client.set_plain("ssl.keystore.location", location);
            if let Some(password) = store_password {
                out.client.set_secret(STORE_PASSWORD, password);
            }
            leave_out_if_set(out, KEY_PASSWORD, key_password.as_ref(), PKCS12_KEY_PASSWORD);
        }
        (Some(_), _, _) => return Err(not_pem(LOCATION, &store_type)),
        (None, None, None) => {
            leave_out_if_set(out, STORE_PASSWORD, store_password.as_ref(), NO_KEYSTORE);
            leave_out_if_set(out, KEY_PASSWORD, key_password.as_ref(), NO_KEYSTORE);
        }
    }
    Ok(())
}

/// PEM key material: the key password protects the key, a store password has no use.
fn pem_passwords(out: &mut Output, key_password: Option<Secret>, store_password: Option<&Secret>) {
    if let Some(password) = key_password {
        out.client.set_secret(KEY_PASSWORD, password);
    }
    leave_out_if_set(out, STORE_PASSWORD, store_password, PEM_NEEDS_NO_STORE_PASSWORD);
}

fn leave_out_if_set(out: &mut Output, key: &str, value: Option<&Secret>, reason: &'static str) {
    if value.is_some() {
        out.leave_out(key, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{
        assert_accepted, assert_refusals, ssl, Accepted, Reason::Contains, Reason::Is, SECRET,
    };

    #[test]
    fn tls_settings_become_openssl_settings() {
        let ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        let chain = "-----BEGIN CERTIFICATE-----\nchain\n-----END CERTIFICATE-----";
        let key = format!("-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----");
        let hostname_check = |label, given, sent| Accepted {
            label,
            settings: ssl(&[(HOSTNAME_CHECK, given)]),
            values: vec![(HOSTNAME_CHECK, Some(sent))],
            secrets: vec![],
            dropped: vec![],
        };
        assert_accepted(&[
            hostname_check("hostname checks off: empty", "", "none"),
            hostname_check("hostname checks off: blank", "  ", "none"),
            hostname_check("hostname checks: HTTPS", "HTTPS", "https"),
            Accepted {
                label: "PEM certificates, typed PASSWORD in Java",
                settings: ssl(&[("ssl.truststore.type", "pem"), ("ssl.truststore.certificates", ca)]),
                values: vec![("ssl.ca.pem", Some(ca))],
                secrets: vec!["ssl.ca.pem"],
                dropped: vec![],
            },
            Accepted {
                label: "PEM truststore file",
                settings: ssl(&[
                    ("ssl.truststore.type", "PEM"),
                    ("ssl.truststore.location", "/etc/kafka/ca.pem"),
                    ("ssl.truststore.password", SECRET),
                ]),
                values: vec![("ssl.ca.location", Some("/etc/kafka/ca.pem"))],
                secrets: vec![],
                dropped: vec![("ssl.truststore.password", PEM_NEEDS_NO_STORE_PASSWORD)],
            },
            Accepted {
                label: "truststore password alone: librdkafka probes the system CA paths",
                settings: ssl(&[("ssl.truststore.password", SECRET)]),
                values: vec![("ssl.ca.location", None)],
                secrets: vec![],
                dropped: vec![("ssl.truststore.password", NO_TRUSTSTORE)],
            },
            Accepted {
                label: "PEM key and chain",
                settings: ssl(&[
                    ("ssl.keystore.type", "PEM"),
                    ("ssl.keystore.certificate.chain", chain),
                    ("ssl.keystore.key", &key),
                    ("ssl.key.password", SECRET),
                ]),
                values: vec![
                    ("ssl.certificate.pem", Some(chain)),
                    ("ssl.key.pem", Some(&key)),
                    ("ssl.key.password", Some(SECRET)),
                ],
                secrets: vec!["ssl.key.pem", "ssl.key.password", "ssl.certificate.pem"],
                dropped: vec![],
            },
            Accepted {
                label: "PEM keystore file serves certificate and key",
                settings: ssl(&[
                    ("ssl.keystore.type", "PEM"),
                    ("ssl.keystore.location", "/client.pem"),
                    ("ssl.key.password", SECRET),
                ]),
                values: vec![
                    ("ssl.certificate.location", Some("/client.pem")),
                    ("ssl.key.location", Some("/client.pem")),
                    ("ssl.key.password", Some(SECRET)),
                ],
                secrets: vec!["ssl.key.password"],
                dropped: vec![],
            },
            Accepted {
                label: "PKCS12 keystore, read by OpenSSL",
                settings: ssl(&[
                    ("ssl.keystore.type", "PKCS12"),
                    ("ssl.keystore.location", "/client.p12"),
                    ("ssl.keystore.password", SECRET),
                    ("ssl.key.password", SECRET),
                ]),
                values: vec![("ssl.keystore.location", Some("/client.p12")), ("ssl.keystore.password", Some(SECRET))],
                secrets: vec!["ssl.keystore.password"],
                dropped: vec![("ssl.key.password", PKCS12_KEY_PASSWORD)],
            },
            Accepted {
                label: "keystore passwords alone",
                settings: ssl(&[("ssl.keystore.password", SECRET), ("ssl.key.password", SECRET)]),
                values: vec![],
                secrets: vec![],
                dropped: vec![("ssl.keystore.password", NO_KEYSTORE), ("ssl.key.password", NO_KEYSTORE)],
            },
        ]);
    }

    #[test]
    fn tls_settings_openssl_cannot_honour_are_refused() {
        #[rustfmt::skip]
        let rows = [
            ("an unknown hostname check", ssl(&[(HOSTNAME_CHECK, "ldaps")]), HOSTNAME_CHECK, Is("`ldaps` is not supported; use https or an empty value")),
            (
                "a JKS truststore, which the JVM converts",
                ssl(&[
                    ("ssl.truststore.location", "/ts.jks"),
                    ("ssl.truststore.password", SECRET),
                ]),
                "ssl.truststore.location",
                Is(
                    "ssl.truststore.location of type JKS must be converted to PEM; the JVM API \
                    does this automatically",
                ),
            ),
            ("a PKCS12 truststore", ssl(&[("ssl.truststore.location", "/ts.p12"), ("ssl.truststore.type", "pkcs12")]), "ssl.truststore.location", Contains("of type PKCS12 must be converted to PEM")),
            ("certificates without the PEM type", ssl(&[("ssl.truststore.certificates", "pem")]), "ssl.truststore.certificates", Contains("ssl.truststore.type=PEM")),
            ("certificates and a truststore file", ssl(&[("ssl.truststore.type", "PEM"), ("ssl.truststore.certificates", "pem"), ("ssl.truststore.location", "/ca.pem")]), "ssl.truststore.certificates", Contains("not both")),
            ("a PEM key without its chain", ssl(&[("ssl.keystore.type", "PEM"), ("ssl.keystore.key", SECRET)]), "ssl.keystore.certificate.chain", Is("must be set together with ssl.keystore.key")),
            ("a PEM chain without its key", ssl(&[("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", "c")]), "ssl.keystore.key", Is("must be set together with ssl.keystore.certificate.chain")),
            ("a PEM key and chain without the PEM type", ssl(&[("ssl.keystore.key", SECRET), ("ssl.keystore.certificate.chain", "c")]), "ssl.keystore.key", Contains("ssl.keystore.type=PEM")),
            ("a PEM key and chain and a keystore file", ssl(&[("ssl.keystore.type", "PEM"), ("ssl.keystore.location", "/k.pem"), ("ssl.keystore.key", SECRET), ("ssl.keystore.certificate.chain", "c")]), "ssl.keystore.key", Contains("not both")),
            ("a JKS keystore, which the JVM converts", ssl(&[("ssl.keystore.location", "/k.jks"), ("ssl.keystore.password", SECRET)]), "ssl.keystore.location", Contains("of type JKS must be converted to PEM")),
        ];
        assert_refusals(&rows);
    }
}
