//! `security.protocol`: which of TLS and SASL the connection uses.

use super::normalize::JavaSettings;
use super::{invalid, ConfigError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub(super) const KEY: &'static str = "security.protocol";

    /// Java's default is PLAINTEXT.
    pub(super) fn take(input: &mut JavaSettings) -> Result<Self, ConfigError> {
        let Some(value) = input.take(Self::KEY) else {
            return Ok(SecurityProtocol::Plaintext);
        };
        match value.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            _ => Err(invalid(Self::KEY, format!("`{value}` is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"))),
        }
    }

    pub(super) fn librdkafka_name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    pub(super) fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub(super) fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{
        assert_refusals, plain_jaas, translated, value, with_bootstrap, Reason::Contains,
    };

    #[test]
    fn security_protocol_is_validated() {
        let jaas = plain_jaas("pw");
        let sasl = [("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", jaas.as_str())];
        // (given, librdkafka's name, whether it needs SASL settings)
        let cases = [
            ("PLAINTEXT", "plaintext", false),
            ("Ssl", "ssl", false),
            ("sasl_plaintext", "sasl_plaintext", true),
            ("SASL_SSL", "sasl_ssl", true),
        ];
        for (given, expected, uses_sasl) in cases {
            let mut pairs = with_bootstrap(&[("security.protocol", given)]);
            if uses_sasl {
                pairs.extend(sasl);
            }
            let t = translated(&pairs);
            assert_eq!(value(&t, "security.protocol"), Some(expected), "{given}");
        }
        assert_refusals(&[(
            "not a Java protocol name",
            with_bootstrap(&[("security.protocol", "TLS")]),
            "security.protocol",
            Contains("PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        )]);
    }
}
