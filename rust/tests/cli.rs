//! The command-line tool (`kafka-offset-committer lag|commit`) run as users run it, as a process,
//! against the real broker of `tests/kafka_harness.py` (`make test` exports its addresses).
//!
//! Broker fixtures (see the harness): PLAIN users `admin` (super user) and `alice`, who may use only
//! groups and topics whose names start with `alice-`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{json, Value};

const TOOL: &str = env!("CARGO_BIN_EXE_kafka-offset-committer");

/// A broker address from the environment; its absence fails the test (never a silent pass).
fn broker(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run through `make test` (or tests/with-broker.sh)"))
}

fn run(args: &[&str]) -> Output {
    Command::new(TOOL).args(args).output().expect("the tool starts")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn described(output: &Output) -> String {
    format!("{}\nstdout:\n{}stderr:\n{}", output.status, stdout(output), String::from_utf8_lossy(&output.stderr))
}

/// Writes `records` records to each of the topic's partitions (as `extra` logs in).
fn produce(bootstrap: &str, extra: &[(&str, &str)], topic: &str, partitions: i32, records: usize) {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (key, value) in extra {
        config.set(*key, *value);
    }
    let producer: BaseProducer = config.create().expect("producer");
    for partition in 0..partitions {
        for record in 0..records {
            let payload = record.to_string();
            producer.send(BaseRecord::<(), _>::to(topic).partition(partition).payload(&payload)).expect("queued");
        }
    }
    producer.flush(Duration::from_secs(30)).expect("every record written");
}

/// A Java client properties file, as `--command-config` takes it; removed when dropped.
struct PropertiesFile(PathBuf);

impl PropertiesFile {
    fn new(text: &str) -> PropertiesFile {
        let path = std::env::temp_dir().join(format!("{}.properties", unique("koc-cli")));
        std::fs::write(&path, text).unwrap();
        PropertiesFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for PropertiesFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A SASL PLAIN login as the Java client takes it, its JAAS entry split over lines as people write it.
fn sasl_properties(user: &str, password: &str) -> PropertiesFile {
    PropertiesFile::new(&format!(
        "# the team's client settings\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n\
         sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n    \
         username=\"{user}\" \\\n    password=\"{password}\";\n"
    ))
}

fn lag_json(bootstrap: &str, group: &str, extra: &[&str]) -> Value {
    let mut args = vec!["lag", "--bootstrap-server", bootstrap, "--group", group, "--output", "json"];
    args.extend(extra);
    let output = run(&args);
    assert!(output.status.success(), "{}", described(&output));
    serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", described(&output)))
}

#[test]
fn commit_then_lag_as_table_and_json() {
    let bootstrap = broker("KAFKA_BOOTSTRAP");
    let topic = unique("cli-events");
    let group = unique("cli-group");
    create_topic(&bootstrap, &topic, 3);
    produce(&bootstrap, &[], &topic, 3, 20);

    let none = run(&["lag", "--bootstrap-server", &bootstrap, "--group", &group]);
    assert!(none.status.success(), "{}", described(&none));
    assert_eq!(stdout(&none), format!("Consumer group '{group}' has no committed offsets.\n"));

    let offsets = json!({ topic.as_str(): { "0": 20, "1": 5, "2": 0 } }).to_string();
    let commit = run(&["commit", "--bootstrap-server", &bootstrap, "--group", &group, "--offsets", &offsets]);
    assert!(commit.status.success(), "{}", described(&commit));
    assert!(
        stdout(&commit).contains(&format!("{group}  {topic}  1          5       committed")),
        "{}",
        described(&commit)
    );
    // Read back independently of the tool.
    assert_eq!(committed_offsets(&bootstrap, &[], &group, &topic, 3), vec![20, 5, 0]);

    let table = run(&["lag", "--bootstrap-server", &bootstrap, "--group", &group]);
    assert!(table.status.success(), "{}", described(&table));
    let lines: Vec<String> =
        stdout(&table).lines().map(|line| line.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(
        lines,
        vec![
            "GROUP TOPIC PARTITION COMMITTED LOG-END LAG".to_string(),
            format!("{group} {topic} 0 20 20 0"),
            format!("{group} {topic} 1 5 20 15"),
            format!("{group} {topic} 2 0 20 20"),
        ],
        "{}",
        described(&table)
    );

    let lag = lag_json(&bootstrap, &group, &[]);
    assert_eq!(
        lag,
        json!({
            "group": group,
            "totalLag": 35,
            "partitions": [
                { "topic": topic, "partition": 0, "committed": 20, "logEnd": 20, "lag": 0 },
                { "topic": topic, "partition": 1, "committed": 5, "logEnd": 20, "lag": 15 },
                { "topic": topic, "partition": 2, "committed": 0, "logEnd": 20, "lag": 20 },
            ]
        })
    );
}

#[test]
fn watch_redraws_until_the_reader_goes_away() {
    let bootstrap = broker("KAFKA_BOOTSTRAP");
    let topic = unique("cli-watch");
    let group = unique("cli-watch-group");
    create_topic(&bootstrap, &topic, 1);
    let offsets = json!({ topic.as_str(): { "0": 0 } }).to_string();
    let commit = run(&["commit", "--bootstrap-server", &bootstrap, "--group", &group, "--offsets", &offsets]);
    assert!(commit.status.success(), "{}", described(&commit));
    // `head` closes the pipe after two documents, which ends the watch.
    let script =
        format!("{TOOL} lag --bootstrap-server {bootstrap} --group {group} --output json --watch 0.2 | head -n 2");
    let output = Command::new("sh").arg("-c").arg(&script).output().expect("sh runs");
    assert!(output.status.success(), "{}", described(&output));
    let documents: Vec<Value> = stdout(&output).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(documents.len(), 2, "{}", described(&output));
    for document in documents {
        assert_eq!(document["partitions"][0]["committed"], 0, "{document}");
    }
}

#[test]
fn command_config_logs_in_with_java_client_settings() {
    let sasl_bootstrap = broker("KAFKA_SASL_BOOTSTRAP");
    let topic = unique("alice-cli");
    let group = unique("alice-cli-group");
    let admin = [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", "admin"),
        ("sasl.password", "admin-secret"),
    ];
    create_topic_as(&sasl_bootstrap, &admin, &topic);
    produce(&sasl_bootstrap, &admin, &topic, 1, 7);
    let alice = sasl_properties("alice", "alice-secret");

    let offsets = json!({ topic.as_str(): { "0": 3 } }).to_string();
    let commit = run(&[
        "commit",
        "--bootstrap-server",
        &sasl_bootstrap,
        "--group",
        &group,
        "--offsets",
        &offsets,
        "--command-config",
        alice.path(),
    ]);
    assert!(commit.status.success(), "{}", described(&commit));
    assert_eq!(committed_offsets(&sasl_bootstrap, &admin, &group, &topic, 1), vec![3]);
    let lag = lag_json(&sasl_bootstrap, &group, &["--command-config", alice.path()]);
    assert_eq!(lag["partitions"], json!([{ "topic": topic, "partition": 0, "committed": 3, "logEnd": 7, "lag": 4 }]));

    // A group alice may not use: refused by name, exit 1, the password nowhere.
    let forbidden = unique("cli-forbidden-group");
    let refused = run(&[
        "commit",
        "--bootstrap-server",
        &sasl_bootstrap,
        "--group",
        &forbidden,
        "--offsets",
        &offsets,
        "--command-config",
        alice.path(),
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", described(&refused));
    assert!(described(&refused).contains("GroupAuthorizationFailed"), "{}", described(&refused));
    assert!(!described(&refused).contains("alice-secret"), "{}", described(&refused));

    let wrong_password = sasl_properties("alice", "not-the-password");
    let failed = run(&[
        "lag",
        "--bootstrap-server",
        &sasl_bootstrap,
        "--group",
        &group,
        "--command-config",
        wrong_password.path(),
        "--timeout",
        "10",
    ]);
    assert_eq!(failed.status.code(), Some(1), "{}", described(&failed));
    assert!(!described(&failed).contains("not-the-password"), "{}", described(&failed));
}

#[test]
fn refusals_of_the_command_line_itself() {
    let bootstrap = broker("KAFKA_BOOTSTRAP");
    let malformed =
        run(&["commit", "--bootstrap-server", &bootstrap, "--group", "g", "--offsets", "{\"t\":{\"0\":-5}}"]);
    assert_eq!(malformed.status.code(), Some(1), "{}", described(&malformed));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("negative"), "{}", described(&malformed));

    let missing_group = run(&["lag", "--bootstrap-server", &bootstrap]);
    assert_eq!(missing_group.status.code(), Some(2), "{}", described(&missing_group));
    assert!(String::from_utf8_lossy(&missing_group.stderr).contains("--group"), "{}", described(&missing_group));

    let unreadable =
        run(&["lag", "--bootstrap-server", &bootstrap, "--group", "g", "--command-config", "/no/such/file"]);
    assert_eq!(unreadable.status.code(), Some(1), "{}", described(&unreadable));
    assert!(String::from_utf8_lossy(&unreadable.stderr).contains("/no/such/file"), "{}", described(&unreadable));
}

#[test]
fn help_names_every_option_of_every_command() {
    for (command, options) in [
        (vec!["--help"], vec!["lag", "commit"]),
        (
            vec!["lag", "--help"],
            vec!["--bootstrap-server", "--group", "--command-config", "--watch", "--output", "--timeout"],
        ),
        (vec!["commit", "--help"], vec!["--bootstrap-server", "--group", "--command-config", "--offsets", "--timeout"]),
    ] {
        let output = run(&command);
        assert!(output.status.success(), "{command:?}: {}", described(&output));
        for option in options {
            assert!(stdout(&output).contains(option), "{command:?} lacks {option}: {}", described(&output));
        }
    }
}

fn create_topic_as(bootstrap: &str, extra: &[(&str, &str)], topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (key, value) in extra {
        config.set(*key, *value);
    }
    let admin: AdminClient<DefaultClientContext> = config.create().expect("admin client");
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for result in block_on(admin.create_topics([&new_topic], &AdminOptions::new())).expect("create topics") {
        result.expect("topic created");
    }
}
