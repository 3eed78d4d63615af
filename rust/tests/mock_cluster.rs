//! Engine behaviour against librdkafka's mock cluster: fast and broker-free. The same paths run
//! against a real broker in `real_broker.rs`.

mod common;

use std::time::Duration;

use common::*;
use kafka_offset_committer::config::engine_keys;
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

const WAIT: Duration = Duration::from_secs(20);

fn cluster_with_topic(topic: &str, partitions: i32) -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(topic, partitions, 1).expect("topic");
    cluster
}

#[test]
fn commits_offsets_that_an_independent_consumer_reads_back() {
    let cluster = cluster_with_topic("orders", 3);
    let committer = open(&cluster.bootstrap_servers(), &[]);
    committer.commit_async("g1", &offsets_json("orders", &[10, 20, 30]), "{\"batch\":1}").unwrap();
    assert!(committer.flush(WAIT));
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "g1", "orders", 3), vec![10, 20, 30]);
    let status = group_status(&committer, "g1");
    assert_eq!(status["commitsSucceeded"], 1);
    assert_eq!(status["lastCommit"]["metadata"], "{\"batch\":1}");
    assert_eq!(status["lastCommit"]["offsets"]["orders"]["2"], 30);
}

#[test]
fn latest_offsets_win_when_submissions_pile_up() {
    let cluster = cluster_with_topic("clicks", 2);
    let committer = open(&cluster.bootstrap_servers(), &[]);
    for batch in 1..=200i64 {
        committer.commit_async("g2", &offsets_json("clicks", &[batch, batch * 2]), &format!("{batch}")).unwrap();
    }
    assert!(committer.flush(WAIT));
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "g2", "clicks", 2), vec![200, 400]);
    let status = group_status(&committer, "g2");
    assert!(status["commitsSucceeded"].as_u64().unwrap() < 200, "coalesced: {status}");
    assert_eq!(status["lastCommit"]["metadata"], "200");
}

#[test]
fn unchanged_offsets_are_not_committed_again() {
    let cluster = cluster_with_topic("idle", 1);
    let committer = open(&cluster.bootstrap_servers(), &[]);
    committer.commit_async("g3", &offsets_json("idle", &[5]), "").unwrap();
    assert!(committer.flush(WAIT));
    for _ in 0..5 {
        committer.commit_async("g3", &offsets_json("idle", &[5]), "").unwrap();
        assert!(committer.flush(WAIT));
    }
    assert_eq!(group_status(&committer, "g3")["commitsSucceeded"], 1);
}

#[test]
fn unchanged_offsets_are_recommitted_after_the_keepalive_interval() {
    let cluster = cluster_with_topic("quiet", 1);
    let committer = open(&cluster.bootstrap_servers(), &[(engine_keys::KEEPALIVE_INTERVAL, "300")]);
    committer.commit_async("g4", &offsets_json("quiet", &[7]), "").unwrap();
    assert!(committer.flush(WAIT));
    assert!(eventually(WAIT, || group_status(&committer, "g4")["commitsSucceeded"].as_u64().unwrap() >= 3));
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "g4", "quiet", 1), vec![7]);
}

#[test]
fn retriable_errors_are_retried_until_the_commit_lands() {
    let cluster = cluster_with_topic("flaky", 1);
    cluster.request_errors(
        RDKafkaApiKey::OffsetCommit,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        ],
    );
    let committer = open(&cluster.bootstrap_servers(), &[(engine_keys::RETRY_BACKOFF, "10")]);
    committer.commit_async("g5", &offsets_json("flaky", &[42]), "").unwrap();
    assert!(committer.flush(WAIT));
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "g5", "flaky", 1), vec![42]);
}

#[test]
fn permanent_errors_are_reported_and_the_offsets_kept_for_later() {
    let cluster = cluster_with_topic("denied", 1);
    cluster
        .request_errors(RDKafkaApiKey::OffsetCommit, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED]);
    let committer = open(&cluster.bootstrap_servers(), &[(engine_keys::FAILURE_COOLDOWN, "500")]);
    let outcome = committer.commit_sync("g6", &offsets_json("denied", &[3]), "", WAIT).unwrap();
    assert_eq!(outcome.partitions[0].error.as_ref().map(|e| e.0.as_str()), Some("GroupAuthorizationFailed"));
    let status = group_status(&committer, "g6");
    assert_eq!(status["lastError"]["kind"], "GroupAuthorizationFailed");
    assert_eq!(status["lastError"]["retriable"], false);
    assert_eq!(status["pendingPartitions"], 1, "kept: {status}");
    // Once the cool-down has passed, the kept offsets go through (the injected error was used up).
    assert!(eventually(WAIT, || group_status(&committer, "g6")["commitsSucceeded"] == 1));
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "g6", "denied", 1), vec![3]);
}

#[test]
fn a_group_with_an_active_member_is_refused_without_retrying_hot() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let cluster = cluster_with_topic("shared", 1);
    let member: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", "g7")
        .create()
        .unwrap();
    member.subscribe(&["shared"]).unwrap();
    assert!(eventually(WAIT, || {
        member.poll(Duration::from_millis(100));
        !member.assignment().unwrap().elements().is_empty()
    }));
    let committer = open(&cluster.bootstrap_servers(), &[]);
    let outcome = committer.commit_sync("g7", &offsets_json("shared", &[1]), "", WAIT).unwrap();
    let error = outcome.partitions[0].error.clone().expect("refused");
    assert_eq!(error.0, "UnknownMemberId", "{error:?}");
    // More batches while the member stays: answered from the parked state, never sent again.
    for offset in 2..5 {
        let outcome = committer.commit_sync("g7", &offsets_json("shared", &[offset]), "", WAIT).unwrap();
        assert_eq!(outcome.partitions[0].error.as_ref().map(|e| e.0.as_str()), Some("UnknownMemberId"));
    }
    assert!(!committer.flush(WAIT), "a refused group is not flushed");
    let status = group_status(&committer, "g7");
    assert_eq!(status["lastError"]["retriable"], false);
    assert_eq!(status["parked"], true);
    assert_eq!(status["commitsFailed"], 1, "one attempt, no hot retries: {status}");
}

#[test]
fn clients_are_shared_per_cluster_whatever_the_number_of_groups() {
    let cluster = cluster_with_topic("many", 1);
    let committer = open(&cluster.bootstrap_servers(), &[]);
    committer.commit_async("warm-up", &offsets_json("many", &[1]), "").unwrap();
    assert!(committer.flush(WAIT));
    // The helper process serves this cluster only, so its threads are this test's alone to count.
    let helper = helper_pid(&committer);
    let before = process_thread_count(helper);
    for group in 0..500 {
        committer.commit_async(&format!("group-{group}"), &offsets_json("many", &[group]), "").unwrap();
    }
    assert!(committer.flush(Duration::from_secs(60)));
    let after = process_thread_count(helper);
    assert_eq!(helper_pid(&committer), helper, "one helper for every group");
    assert!(before > 0 && after <= before + 2, "helper threads grew from {before} to {after} for 500 groups");
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "group-499", "many", 1), vec![499]);
}

#[test]
fn malformed_offsets_are_rejected_at_submission() {
    let cluster = cluster_with_topic("strict", 1);
    let committer = open(&cluster.bootstrap_servers(), &[]);
    for bad in ["", "[]", "{\"strict\":{\"x\":1}}", "{\"strict\":{\"0\":-5}}", "{\"strict\":{\"0\":1.5}}"] {
        let error = committer.commit_async("g8", bad, "").expect_err(bad);
        assert!(matches!(error, kafka_offset_committer::CommitterError::InvalidOffsets(_)), "{bad}: {error}");
    }
    let oversized = "m".repeat(5000);
    assert!(committer.commit_async("g8", &offsets_json("strict", &[1]), &oversized).is_err());
}

#[test]
fn a_closed_committers_group_is_never_recommitted_by_keepalive() {
    let cluster = cluster_with_topic("owned", 1);
    let keepalive = [(engine_keys::KEEPALIVE_INTERVAL, "200")];
    // Another committer on the same cluster keeps the shared cluster (and its keep-alive) running.
    let staying = open(&cluster.bootstrap_servers(), &keepalive);
    staying.commit_async("g9-staying", &offsets_json("owned", &[1]), "").unwrap();
    let closing = open(&cluster.bootstrap_servers(), &keepalive);
    closing.commit_async("g9", &offsets_json("owned", &[7]), "").unwrap();
    assert!(closing.close(WAIT));
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "g9", "owned", 1), vec![7]);

    // An operator resets the stopped query's group; keep-alive must not bring the old offsets back.
    reset_group_offsets(&cluster.bootstrap_servers(), "g9", "owned", 3);
    let keepalives_before = group_status(&staying, "g9-staying")["commitsSucceeded"].as_u64().unwrap();
    assert!(eventually(WAIT, || group_status(&staying, "g9-staying")["commitsSucceeded"].as_u64().unwrap()
        >= keepalives_before + 3));
    assert_eq!(committed_offsets(&cluster.bootstrap_servers(), &[], "g9", "owned", 1), vec![3]);
    assert!(group_status(&staying, "g9").is_null(), "the closed committer's group is not the other's");
}

/// Commits `offset` for `group` with an independent consumer, as `kafka-consumer-groups --reset-offsets` would.
fn reset_group_offsets(bootstrap: &str, group: &str, topic: &str, offset: i64) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition_offset(topic, 0, rdkafka::Offset::Offset(offset)).unwrap();
    consumer.commit(&list, CommitMode::Sync).unwrap();
}
