//! The engine against the real Apache Kafka broker started by `tests/kafka_harness.py`
//! (`make test` exports its addresses). Covers what the mock cannot: SASL, ACLs, real errors.
//!
//! Broker fixtures (see the harness): PLAIN users `admin` (super user) and `alice`, who may read
//! groups and topics whose names start with `alice-` and nothing else.

mod common;

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::*;
use kafka_offset_committer::config::engine_keys;
use kafka_offset_committer::logging;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

const WAIT: Duration = Duration::from_secs(60);

/// A broker address from the environment; its absence fails the test (never a silent pass).
fn broker(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run through `make test` (or tests/with-broker.sh)"))
}

fn sasl(user: &str, password: &str) -> Vec<(&'static str, String)> {
    sasl_with("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule", user, password)
}

fn sasl_with(mechanism: &str, login_module: &str, user: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("security.protocol", "SASL_PLAINTEXT".to_string()),
        ("sasl.mechanism", mechanism.to_string()),
        ("sasl.jaas.config", format!("{login_module} required username=\"{user}\" password=\"{password}\";")),
    ]
}

/// Creates the topic and waits until the broker's metadata shows a leader for every partition:
/// KRaft answers CreateTopics before the broker has applied the record, and an OffsetCommit sent in
/// between is refused with `UnknownTopicOrPartition`.
fn create_served_topic(bootstrap: &str, topic: &str, partitions: i32) {
    create_topic(bootstrap, topic, partitions);
    let metadata: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("client");
    let deadline = Instant::now() + WAIT;
    loop {
        let served = metadata.fetch_metadata(Some(topic), Duration::from_secs(5)).is_ok_and(|metadata| {
            metadata.topics().iter().any(|t| {
                t.name() == topic
                    && t.error().is_none()
                    && t.partitions().len() == partitions as usize
                    && t.partitions().iter().all(|p| p.leader() >= 0)
            })
        });
        if served {
            return;
        }
        assert!(Instant::now() < deadline, "the broker never served the new topic {topic}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn as_pairs<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Admin settings for reading back through the SASL listener (librdkafka names).
fn librdkafka_admin_login() -> Vec<(&'static str, &'static str)> {
    vec![
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", "admin"),
        ("sasl.password", "admin-secret"),
    ]
}

/// Every log line of this process so far. The tests of this binary run in parallel and share one log
/// buffer: each drain would take the others' lines, so they all collect here.
fn log_lines() -> Vec<String> {
    static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut lines = LINES.lock().unwrap_or_else(PoisonError::into_inner);
    lines.extend(logging::drain(Duration::ZERO));
    lines.clone()
}

/// A committer with a client (and helper) of its own: the cluster's first committer decides its client's
/// tuning settings, and the other tests of this binary commit to the same broker.
fn open_own_client(bootstrap: &str, extra: &[(&str, &str)]) -> kafka_offset_committer::Committer {
    let client_id = unique("own-client");
    let mut settings = vec![("client.id", client_id.as_str())];
    settings.extend_from_slice(extra);
    open(bootstrap, &settings)
}

#[test]
fn a_fresh_groups_first_commit_logs_nothing_above_info() {
    let bootstrap = broker("KAFKA_BOOTSTRAP");
    let topic = unique("fresh");
    create_served_topic(&bootstrap, &topic, 2);
    let committer = open_own_client(&bootstrap, &[]);
    let group = unique("fresh-group");
    let outcome = committer.commit_sync(&group, &offsets_json(&topic, &[3, 4]), "", WAIT).unwrap();
    assert!(outcome.partitions.iter().all(|p| p.error.is_none()), "{outcome:?}");
    assert!(committer.flush(WAIT));
    // The helper forwards its lines as they come; a moment lets the last of them arrive.
    std::thread::sleep(Duration::from_secs(1));
    let cluster = format!("[{bootstrap}]");
    let other_group = |line: &str| line.contains("group `") && !line.contains(&format!("group `{group}`"));
    let ours: Vec<String> =
        log_lines().into_iter().filter(|line| line.contains(&cluster) && !other_group(line)).collect();
    assert!(
        ours.iter().any(|line| line.contains("commits run on the native executor")),
        "no line collected: {ours:#?}"
    );
    let loud: Vec<&String> =
        ours.iter().filter(|line| line.starts_with("WARN ") || line.starts_with("ERROR ")).collect();
    assert!(loud.is_empty(), "a new group's first commit is routine: {loud:#?}");
}

#[test]
fn the_librdkafka_debug_switch_brings_its_debug_lines() {
    let bootstrap = broker("KAFKA_BOOTSTRAP");
    let topic = unique("debug");
    create_served_topic(&bootstrap, &topic, 1);
    let committer = open_own_client(&bootstrap, &[(engine_keys::LIBRDKAFKA_DEBUG, "broker,protocol")]);
    let outcome = committer.commit_sync(&unique("debug-group"), &offsets_json(&topic, &[1]), "", WAIT).unwrap();
    assert!(outcome.partitions[0].error.is_none(), "{outcome:?}");
    // Only a client with the switch on writes these facilities: `broker` state changes, `protocol` requests.
    let prefix = format!("INFO librdkafka [{bootstrap}] ");
    let has = |facility: &str| {
        let wanted = format!("{prefix}{facility}: ");
        move |lines: &Vec<String>| lines.iter().any(|line| line.starts_with(&wanted))
    };
    let (state, sent) = (has("STATE"), has("SEND"));
    let found = eventually(WAIT, || {
        let lines = log_lines();
        state(&lines) && sent(&lines)
    });
    let librdkafka: Vec<String> =
        log_lines().into_iter().filter(|line| line.contains(&format!("librdkafka [{bootstrap}] "))).collect();
    assert!(found, "no STATE and SEND lines at INFO among {librdkafka:#?}");
    eprintln!("[debug switch] {} librdkafka lines for broker,protocol", librdkafka.len());

    use_built_helper();
    let refused = kafka_offset_committer::Committer::open(&settings(
        &bootstrap,
        &[(engine_keys::LIBRDKAFKA_DEBUG, "broker,sockets")],
    ));
    let message = refused.err().map(|error| error.to_string()).unwrap_or_default();
    assert!(
        message.contains(engine_keys::LIBRDKAFKA_DEBUG)
            && message.contains("`sockets` is not a librdkafka debug context"),
        "{message}"
    );
}

#[test]
fn commits_to_a_real_broker_and_reads_back_independently() {
    let bootstrap = broker("KAFKA_BOOTSTRAP");
    let topic = unique("orders");
    create_served_topic(&bootstrap, &topic, 3);
    let committer = open(&bootstrap, &[]);
    let outcome =
        committer.commit_sync("real-g1", &offsets_json(&topic, &[11, 22, 33]), "{\"batch\":7}", WAIT).unwrap();
    assert!(outcome.partitions.iter().all(|p| p.error.is_none()), "{outcome:?}");
    assert_eq!(committed_offsets(&bootstrap, &[], "real-g1", &topic, 3), vec![11, 22, 33]);
    committer.commit_async("real-g1", &offsets_json(&topic, &[12, 22, 40]), "{\"batch\":8}").unwrap();
    assert!(committer.flush(WAIT));
    assert_eq!(committed_offsets(&bootstrap, &[], "real-g1", &topic, 3), vec![12, 22, 40]);
}

#[test]
fn an_unknown_topic_is_reported_and_holds_back_neither_its_group_nor_retries() {
    let bootstrap = broker("KAFKA_BOOTSTRAP");
    let committer = open(&bootstrap, &[]);
    let outcome = committer.commit_sync("real-g2", &offsets_json("no-such-topic", &[1]), "", WAIT).unwrap();
    let (kind, message) = outcome.partitions[0].error.clone().expect("refused");
    assert_eq!(kind, "UnknownTopicOrPartition", "{message}");
    let status = group_status(&committer, "real-g2");
    assert_eq!(status["lastError"]["retriable"], false);
    assert_eq!(status["lastError"]["kind"], "UnknownTopicOrPartition");
    assert_eq!(status["pendingPartitions"], 0, "a refused partition waits for its next offset: {status}");
    assert_eq!(status["parked"], false, "the group is not parked for one partition: {status}");
    // The group's other partitions commit at once; the refused one is not retried meanwhile.
    let topic = unique("real-topic");
    create_served_topic(&bootstrap, &topic, 1);
    let outcome = committer.commit_sync("real-g2", &offsets_json(&topic, &[4]), "", WAIT).unwrap();
    assert!(outcome.partitions[0].error.is_none(), "{outcome:?}");
    assert!(committer.flush(WAIT));
    assert_eq!(group_status(&committer, "real-g2")["commitsFailed"], 1, "one attempt for the unknown topic");
    assert_eq!(committed_offsets(&bootstrap, &[], "real-g2", &topic, 1), vec![4]);
}

#[test]
fn sasl_plain_commits_and_acls_are_enforced() {
    let sasl_bootstrap = broker("KAFKA_SASL_BOOTSTRAP");
    let plain_bootstrap = broker("KAFKA_BOOTSTRAP");
    let allowed_topic = unique("alice-topic");
    let forbidden_topic = unique("secret-topic");
    create_served_topic(&plain_bootstrap, &allowed_topic, 1);
    create_served_topic(&plain_bootstrap, &forbidden_topic, 1);
    let alice = sasl("alice", "alice-secret");
    let committer = open(&sasl_bootstrap, &as_pairs(&alice));

    let allowed_group = unique("alice-group");
    let outcome = committer.commit_sync(&allowed_group, &offsets_json(&allowed_topic, &[5]), "", WAIT).unwrap();
    assert!(outcome.partitions[0].error.is_none(), "{outcome:?}");
    assert_eq!(
        committed_offsets(&sasl_bootstrap, &librdkafka_admin_login(), &allowed_group, &allowed_topic, 1),
        vec![5]
    );

    let outcome = committer.commit_sync(&unique("other-group"), &offsets_json(&allowed_topic, &[5]), "", WAIT).unwrap();
    assert_eq!(outcome.partitions[0].error.as_ref().unwrap().0, "GroupAuthorizationFailed", "{outcome:?}");

    let outcome =
        committer.commit_sync(&unique("alice-group"), &offsets_json(&forbidden_topic, &[5]), "", WAIT).unwrap();
    assert_eq!(outcome.partitions[0].error.as_ref().unwrap().0, "TopicAuthorizationFailed", "{outcome:?}");
}

#[test]
fn a_wrong_password_is_reported_as_an_authentication_failure() {
    let sasl_bootstrap = broker("KAFKA_SASL_BOOTSTRAP");
    let mut settings = sasl("alice", "not-the-password");
    settings.push((engine_keys::REQUEST_TIMEOUT, "5000".to_string()));
    let committer = open(&sasl_bootstrap, &as_pairs(&settings));
    let outcome = committer.commit_sync("alice-wrong-password", &offsets_json("alice-topic", &[1]), "", WAIT).unwrap();
    let (kind, message) = outcome.partitions[0].error.clone().expect("refused");
    assert!(kind.contains("Authentication"), "{kind}: {message}");
    assert!(!committer.status_json().contains("not-the-password"), "secrets never reach the status");
    assert_eq!(group_status(&committer, "alice-wrong-password")["lastError"]["retriable"], false);
}

#[test]
fn scram_sha_512_authenticates_against_the_broker() {
    // The harness's scram-user has no ACLs: a commit that gets as far as the group's authorization
    // proves the SCRAM login itself, and a wrong password fails before it.
    let sasl_bootstrap = broker("KAFKA_SASL_BOOTSTRAP");
    let scram = |password: &str| {
        let mut settings = sasl_with(
            "SCRAM-SHA-512",
            "org.apache.kafka.common.security.scram.ScramLoginModule",
            "scram-user",
            password,
        );
        settings.push((engine_keys::REQUEST_TIMEOUT, "5000".to_string()));
        settings
    };
    let settings = scram("scram-secret");
    let committer = open(&sasl_bootstrap, &as_pairs(&settings));
    let outcome = committer.commit_sync(&unique("scram-group"), &offsets_json("alice-topic", &[1]), "", WAIT).unwrap();
    assert_eq!(outcome.partitions[0].error.as_ref().unwrap().0, "GroupAuthorizationFailed", "{outcome:?}");

    let settings = scram("not-the-scram-secret");
    let committer = open(&sasl_bootstrap, &as_pairs(&settings));
    let outcome = committer.commit_sync("scram-wrong-password", &offsets_json("alice-topic", &[1]), "", WAIT).unwrap();
    let (kind, message) = outcome.partitions[0].error.clone().expect("refused");
    assert!(kind.contains("Authentication"), "{kind}: {message}");
    assert!(!committer.status_json().contains("not-the-scram-secret"), "secrets never reach the status");
}

/// The SSL listener with the client certificate from a PKCS12 keystore (OpenSSL reads it; the CA
/// from PEM): commits land for the groups and topics `User:client` may read (`ssl-client-*`), and
/// a group it may not use is refused with `GroupAuthorizationFailed`, with no store password shown.
#[test]
fn tls_client_certificate_from_a_pkcs12_keystore_commits_and_acls_are_enforced() {
    let ssl_bootstrap = broker("KAFKA_SSL_BOOTSTRAP");
    let plain_bootstrap = broker("KAFKA_BOOTSTRAP");
    let password = broker("KAFKA_SSL_STORE_PASSWORD");
    let settings = vec![
        ("security.protocol", "SSL".to_string()),
        ("ssl.truststore.type", "PEM".to_string()),
        ("ssl.truststore.location", broker("KAFKA_SSL_CA_PEM")),
        ("ssl.keystore.type", "PKCS12".to_string()),
        ("ssl.keystore.location", broker("KAFKA_SSL_CLIENT_KEYSTORE_P12")),
        ("ssl.keystore.password", password.clone()),
    ];
    let topic = unique("ssl-client-topic");
    create_served_topic(&plain_bootstrap, &topic, 1);
    let committer = open(&ssl_bootstrap, &as_pairs(&settings));

    let allowed_group = unique("ssl-client-group");
    let outcome = committer.commit_sync(&allowed_group, &offsets_json(&topic, &[6]), "", WAIT).unwrap();
    assert!(outcome.partitions[0].error.is_none(), "{outcome:?}");
    assert_eq!(committed_offsets(&plain_bootstrap, &[], &allowed_group, &topic, 1), vec![6]);

    let refused_group = unique("other-group");
    let outcome = committer.commit_sync(&refused_group, &offsets_json(&topic, &[6]), "", WAIT).unwrap();
    assert_eq!(outcome.partitions[0].error.as_ref().unwrap().0, "GroupAuthorizationFailed", "{outcome:?}");
    assert!(!committer.status_json().contains(&password), "secrets never reach the status");
}
