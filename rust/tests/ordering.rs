//! Committed offsets never move backwards, forced through the ways they once could: a request in
//! flight when its group's last committer closes, a newer commit from a re-opened committer on the
//! same group, and a helper killed with both in hand while the broker hangs (SIGSTOP, so the old
//! request sits in a socket and may still land). Also: a closed run's unconfirmed offsets are
//! committed once Kafka answers, and a request that crashes every helper parks its group only.
//!
//! An independent consumer watches each group's committed offsets throughout (`OffsetWatcher`);
//! each test ends idle, past the request timeout and the engine's margin, and reads back once more.

mod common;
mod own_broker;

use std::time::Duration;

use common::*;
use kafka_offset_committer::config::engine_keys;
use kafka_offset_committer::helper::protocol::Fault;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);
/// Short enough for the idle phase to stay short, long enough that no request times out during
/// the few seconds each scenario keeps the broker paused before it kills the helper.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn request_timeout_setting() -> String {
    REQUEST_TIMEOUT.as_millis().to_string()
}

fn in_flight(committer: &kafka_offset_committer::Committer, group: &str) -> bool {
    group_status(committer, group)["inFlight"] == true
}

/// Kills a process the way a crash or the OOM killer would.
fn kill_9(pid: u32) {
    let status = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill");
    assert!(status.success(), "kill -KILL {pid} failed");
}

#[test]
fn an_old_request_never_lands_after_a_newer_commit_of_a_reopened_group() {
    let broker = own_broker::OwnBroker::start("ordering-reopen");
    let topic = unique("ordering");
    broker.create_topic(&topic, 2);
    let group = format!("{topic}-g");
    let settings =
        [(engine_keys::REQUEST_TIMEOUT, request_timeout_setting()), (engine_keys::RETRY_BACKOFF_MAX, "1000".into())];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (v0, v1, v2) = ([10, 1010], [20, 1020], [30, 1030]);

    let first = open(&broker.bootstrap, &settings);
    let outcome = first.commit_sync(&group, &offsets_json(&topic, &v0), "v0", WAIT).expect("v0 answered");
    assert!(outcome.partitions.iter().all(|p| p.error.is_none()), "{outcome:?}");
    let watcher = OffsetWatcher::start(&broker.bootstrap, std::slice::from_ref(&group), &topic, 2);

    // v1 goes out while the broker hangs: its bytes wait in the broker's socket.
    broker.pause();
    first.commit_async(&group, &offsets_json(&topic, &v1), "v1").unwrap();
    assert!(eventually(WAIT, || in_flight(&first, &group)), "v1 never went out: {}", first.status_json());
    let old_helper = helper_pid(&first);
    // The run ends with v1 unconfirmed; a new run on the same group commits further.
    drop(first);
    let second = open(&broker.bootstrap, &settings);
    second.commit_async(&group, &offsets_json(&topic, &v2), "v2").unwrap();
    kill_9(old_helper);
    assert!(
        eventually(WAIT, || status(&second)["helper"]["restarts"].as_u64() >= Some(1)),
        "the helper was not restarted: {}",
        second.status_json()
    );
    broker.resume();

    assert!(second.flush(WAIT), "v2 not committed once the broker was back: {}", second.status_json());
    idle_past_stale_requests(REQUEST_TIMEOUT);
    let read = broker.group_offsets(std::slice::from_ref(&group), &topic);
    assert_eq!(read[&group].get(&0), Some(&v2[0]), "{read:?}; status {}", second.status_json());
    assert_eq!(read[&group].get(&1), Some(&v2[1]), "{read:?}");
    let watched = watcher.finish();
    assert_eq!(watched.last(&group, 0), Some(v2[0]));
}

#[test]
fn a_closed_runs_unconfirmed_offsets_are_committed_once_kafka_answers() {
    let broker = own_broker::OwnBroker::start("ordering-closed-run");
    let topic = unique("closed-run");
    broker.create_topic(&topic, 2);
    let group = format!("{topic}-g");
    // Shorter than the pause below: the final request times out (its outcome unknown) and is retried
    // with no committer left on the cluster.
    let request_timeout = Duration::from_secs(3);
    let timeout_setting = request_timeout.as_millis().to_string();
    let settings = [(engine_keys::REQUEST_TIMEOUT, timeout_setting.as_str()), (engine_keys::RETRY_BACKOFF_MAX, "1000")];
    let (v0, last) = ([5, 6], [105, 106]);

    let run = open(&broker.bootstrap, &settings);
    assert!(run.commit_sync(&group, &offsets_json(&topic, &v0), "v0", WAIT).is_ok());
    let watcher = OffsetWatcher::start(&broker.bootstrap, std::slice::from_ref(&group), &topic, 2);
    broker.pause();
    run.commit_async(&group, &offsets_json(&topic, &last), "final batch").unwrap();
    assert!(eventually(WAIT, || in_flight(&run, &group)), "the final batch never went out: {}", run.status_json());
    // The query stops: its committer closes with the final batch unconfirmed.
    assert!(!run.close(Duration::from_millis(200)), "a hanging broker cannot have answered");
    std::thread::sleep(request_timeout * 2 + Duration::from_secs(2));
    broker.resume();

    let committed = || committed_offsets(&broker.bootstrap, &[], &group, &topic, 2);
    assert!(
        eventually(WAIT, || committed() == last),
        "the closed run's final offsets were dropped: the group holds {:?}",
        committed()
    );
    idle_past_stale_requests(request_timeout);
    assert_eq!(committed(), last);
    watcher.finish();
}

#[test]
fn a_request_that_crashes_every_helper_parks_its_group_only() {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP")
        .expect("KAFKA_BOOTSTRAP is not set: run through `make test` (or tests/with-broker.sh)");
    let topic = unique("poison");
    create_topic(&bootstrap, &topic, 2);
    let poison = format!("{topic}-poison");
    let healthy: Vec<String> = (0..2).map(|g| format!("{topic}-healthy{g}")).collect();
    // A cluster of this test's own (the settings differ from every other test's), so that the fault,
    // which goes to every helper of the cluster, reaches no other test; a cool-down longer than the
    // test keeps the poisoned group parked while it is looked at.
    let committer =
        open(&bootstrap, &[(engine_keys::REQUEST_TIMEOUT, "7001"), (engine_keys::FAILURE_COOLDOWN, "600000")]);
    let commit_healthy = |round: i64| {
        for group in &healthy {
            let outcome = committer
                .commit_sync(group, &offsets_json(&topic, &[round, round + 1]), "", WAIT)
                .unwrap_or_else(|e| panic!("{group} round {round}: {e}; status {}", committer.status_json()));
            assert!(outcome.partitions.iter().all(|p| p.error.is_none()), "{group} round {round}: {outcome:?}");
        }
    };
    commit_healthy(1);
    let watcher = OffsetWatcher::start(&bootstrap, &healthy, &topic, 2);

    committer.inject_helper_fault(Fault::AbortOnGroup(poison.clone()));
    committer.commit_async(&poison, &offsets_json(&topic, &[7, 7]), "").unwrap();
    let parked = |status: &Value| status["parked"] == true && status["lastError"]["message"].is_string();
    assert!(
        eventually(WAIT, || parked(&group_status(&committer, &poison))),
        "the poisoned group never parked: {}",
        committer.status_json()
    );
    let poisoned = group_status(&committer, &poison);
    let message = poisoned["lastError"]["message"].as_str().unwrap();
    assert!(message.contains("crashed twice"), "{poisoned}");
    // Two helpers died with the request in hand; a third takes over.
    assert!(
        eventually(WAIT, || status(&committer)["helper"]["restarts"].as_u64() >= Some(2)),
        "{}",
        committer.status_json()
    );

    // The helper runs on (restarted) and every other group keeps committing.
    commit_healthy(2);
    commit_healthy(3);
    for group in &healthy {
        assert_eq!(committed_offsets(&bootstrap, &[], group, &topic, 2), vec![3, 4], "{group}");
        let entry = group_status(&committer, group);
        assert!(entry["lastError"].is_null() || !entry["lastError"].to_string().contains("crashed"), "{entry}");
    }
    idle_past_stale_requests(Duration::from_millis(7001));
    for group in &healthy {
        assert_eq!(committed_offsets(&bootstrap, &[], group, &topic, 2), vec![3, 4], "{group}");
    }
    watcher.finish();
}
