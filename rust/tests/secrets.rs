//! No secret in any message: for every secret a Java setting can carry to librdkafka, the real
//! helper's librdkafka is made to refuse it (a PEM it cannot parse, a wrong key password, a file
//! that is no keystore, a password without its user), through the public `Committer::open`, and a
//! planted value unique to the case must show nowhere: the error's Display and Debug, the status
//! of a committer that opened, and every log line of this process, into which the helper's log
//! lines and its stderr are forwarded. No broker is needed: each refusal happens when the client
//! is created, and the committer that opens points at a port nothing listens on.

mod common;

use std::time::Duration;

use kafka_offset_committer::{logging, Committer, CommitterError};

/// A throwaway EC key, encrypted with a passphrase no test uses: any password given for it is
/// refused by OpenSSL ("bad decrypt").
const ENCRYPTED_KEY: &str = include_str!("fixtures/encrypted_key.pem");

/// The self-signed certificate of that key, so that librdkafka gets past the chain to the key.
const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUOsfa6gPMNNSrXIbFwB0x/eXwmIEwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMc2VjcmV0cy10ZXN0MCAXDTI2MTIwNTAzNTg0MloYDzIxMjYx
MTExMDM1ODQyWjAXMRUwEwYDVQQDDAxzZWNyZXRzLXRlc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAQdDOcMaligJWTtT7qU0+HfBZ62kNS89+FJiR0uuWPP2Hwr
sQC1Wv/elHwsWYexyEBBxHutapZlgagwSd0+NyeEo1MwUTAdBgNVHQ4EFgQUsgdm
LMtIab21xA/ZS1wT6NPQP2IwHwYDVR0jBBgwFoAUsgdmLMtIab21xA/ZS1wT6NPQ
P2IwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAwytJ5T6AncGk
ZurIOcFN9GdQzKVvrmLRcBMmPWSsKpcCIAyPKJTi9N+Qw6nK8WmBJCqeBL956+82
cXmfP8gifR74
-----END CERTIFICATE-----";

/// Nothing listens there: a committer opens (librdkafka connects lazily) and its commits fail.
const NO_BROKER: &str = "127.0.0.1:1";

/// A value no librdkafka, OpenSSL or engine text contains by chance, distinct per case.
fn canary(case: &str) -> String {
    format!("Canary{}xQz7Vw", case.len() * 7919 + case.bytes().map(usize::from).sum::<usize>())
}

fn pem(label: &str, body: &str) -> String {
    format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
}

fn jaas(module: &str, username: &str, password: &str) -> String {
    format!("org.apache.kafka.common.security.{module} required username=\"{username}\" password=\"{password}\";")
}

/// Every line this process logged so far, waiting until the forwarders have been quiet a while:
/// the helper's lines and its stderr arrive on their own threads after its exit.
fn settled_log_lines() -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let batch = logging::drain(Duration::from_secs(2));
        if batch.is_empty() {
            return lines;
        }
        lines.extend(batch);
    }
}

/// Fails when `canary` shows in `text`, in any letter case.
fn assert_hidden(label: &str, canary: &str, text: &str) {
    assert!(
        !text.to_ascii_lowercase().contains(&canary.to_ascii_lowercase()),
        "{label}: the planted secret shows in: {text}"
    );
}

/// One way to have librdkafka refuse settings that carry a secret.
struct Refusal {
    label: &'static str,
    settings: Vec<(String, String)>,
    /// The setting the refusal must name.
    named: &'static str,
}

fn refusals(keystore_path: &str) -> Vec<Refusal> {
    let refusal = |label: &'static str, pairs: &[(&str, &str)], named| Refusal {
        label,
        settings: common::settings(NO_BROKER, pairs),
        named,
    };
    let c = canary;
    vec![
        refusal(
            "PLAIN: a password without a user name",
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.jaas.config", &jaas("plain.PlainLoginModule", "", &c("plain"))),
            ],
            "sasl.password",
        ),
        refusal(
            "SCRAM: a password without a user name",
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.jaas.config", &jaas("scram.ScramLoginModule", "", &c("scram"))),
            ],
            "sasl.password",
        ),
        refusal(
            "an unparsable PEM key",
            &[
                ("security.protocol", "SSL"),
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.certificate.chain", CERTIFICATE),
                ("ssl.keystore.key", &pem("PRIVATE KEY", &c("key"))),
            ],
            "ssl.key.pem",
        ),
        refusal(
            "a wrong PEM key password",
            &[
                ("security.protocol", "SSL"),
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.certificate.chain", CERTIFICATE),
                ("ssl.keystore.key", ENCRYPTED_KEY),
                ("ssl.key.password", &c("key password")),
            ],
            "ssl.key.pem",
        ),
        refusal(
            "an unparsable certificate chain",
            &[
                ("security.protocol", "SSL"),
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.certificate.chain", &pem("CERTIFICATE", &c("chain"))),
                ("ssl.keystore.key", ENCRYPTED_KEY),
            ],
            "ssl.certificate.pem",
        ),
        refusal(
            "unparsable trusted certificates",
            &[
                ("security.protocol", "SSL"),
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.certificates", &pem("CERTIFICATE", &c("truststore"))),
            ],
            "ssl.ca.pem",
        ),
        refusal(
            "a PKCS12 password for a file that is no keystore",
            &[
                ("security.protocol", "SSL"),
                ("ssl.keystore.type", "PKCS12"),
                ("ssl.keystore.location", keystore_path),
                ("ssl.keystore.password", &c("keystore password")),
            ],
            "ssl.keystore.location",
        ),
    ]
}

/// All in one test: the log buffer is process-wide, so a test beside it could take (and never
/// scan) the lines that carry this one's secrets.
#[test]
fn no_secret_shows_in_any_error_status_or_log_line() {
    common::use_built_helper();
    let mut canaries = refused_by_librdkafka();
    canaries.extend(refused_by_translation());
    let mut lines = settled_log_lines();
    canaries.extend(kept_by_an_opened_committer(&mut lines));
    assert!(!lines.is_empty(), "nothing logged: the scan below would prove nothing");
    for (label, canary) in &canaries {
        for line in &lines {
            assert_hidden(label, canary, line);
        }
    }
}

/// Each case's planted secret, after checking librdkafka's refusal names the setting and shows
/// no secret.
fn refused_by_librdkafka() -> Vec<(&'static str, String)> {
    let keystore_file = std::env::temp_dir().join(format!("not-a-keystore-{}.p12", std::process::id()));
    std::fs::write(&keystore_file, "not PKCS#12").expect("keystore file written");
    let mut canaries = Vec::new();
    for case in refusals(&keystore_file.to_string_lossy()) {
        let planted: Vec<&str> =
            case.settings.iter().map(|(_, value)| value.as_str()).filter(|v| v.contains("xQz7Vw")).collect();
        assert_eq!(planted.len(), 1, "{}: one secret planted", case.label);
        let canary = planted[0].split(['"', '\n']).find(|part| part.contains("xQz7Vw")).expect("the canary");
        let error = match Committer::open(&case.settings) {
            Ok(_) => panic!("{}: librdkafka accepted the settings", case.label),
            Err(error) => error,
        };
        assert!(matches!(error, CommitterError::Client(_)), "{}: not librdkafka's refusal: {error}", case.label);
        let shown = error.to_string();
        assert!(shown.contains(case.named), "{}: the refusal does not name {}: {shown}", case.label, case.named);
        assert_hidden(case.label, canary, &shown);
        assert_hidden(case.label, canary, &format!("{error:?}"));
        canaries.push((case.label, canary.to_string()));
    }
    std::fs::remove_file(keystore_file).expect("keystore file removed");
    canaries
}

/// OAUTHBEARER client credentials never reach librdkafka: the translation refuses them.
fn refused_by_translation() -> Vec<(&'static str, String)> {
    let label = "OAUTHBEARER client credentials";
    let secret = canary(label);
    let login = format!(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"c\" \
         clientSecret=\"{secret}\";"
    );
    let settings = common::settings(
        NO_BROKER,
        &[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.jaas.config", &login),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/token"),
        ],
    );
    let error = match Committer::open(&settings) {
        Ok(_) => panic!("{label} accepted"),
        Err(error) => error,
    };
    let shown = error.to_string();
    assert!(matches!(error, CommitterError::InvalidConfig(_)), "{shown}");
    assert!(shown.contains("sasl.jaas.config") && shown.contains("OffsetCommitter.create"), "{shown}");
    assert_hidden(label, &secret, &shown);
    assert_hidden(label, &secret, &format!("{error:?}"));
    vec![(label, secret)]
}

/// A committer that opens and whose commits fail (no broker): its outcome, status and log lines
/// (added to `lines`) show no password.
fn kept_by_an_opened_committer(lines: &mut Vec<String>) -> Vec<(&'static str, String)> {
    let label = "the password of an opened committer";
    let password = canary(label);
    let login = jaas("plain.PlainLoginModule", "alice", &password);
    let settings = common::settings(
        NO_BROKER,
        &[("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", &login)],
    );
    let committer = Committer::open(&settings).expect("the client is created without a broker");
    let outcome = committer.commit_sync("secrets-group", r#"{"t":{"0":1}}"#, "", Duration::from_secs(3));
    let shown = match &outcome {
        Ok(outcome) => format!("{outcome:?}"),
        Err(error) => format!("{error} {error:?}"),
    };
    assert_hidden(label, &password, &shown);
    let status = committer.status_json();
    assert!(status.contains("secrets-group"), "the status covers the group: {status}");
    assert_hidden(label, &password, &status);
    // Without a broker its commit never flushes: close only stops the client.
    let _flushed = committer.close(Duration::ZERO);
    let logged = settled_log_lines();
    assert!(logged.iter().any(|line| line.contains(NO_BROKER)), "the client logged its failures: {logged:#?}");
    lines.extend(logged);
    vec![(label, password)]
}
