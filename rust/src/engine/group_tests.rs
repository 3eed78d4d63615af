//! The group state machine, driven with a hand-held clock: no broker, no sleeps.

use super::*;
use crate::commit::PartitionResponse;

fn settings() -> EngineSettings {
    EngineSettings {
        request_timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(100),
        retry_backoff_max: Duration::from_secs(1),
        retry_max_attempts: 3,
        failure_cooldown: Duration::from_secs(60),
        keepalive_interval: Duration::from_secs(3600),
    }
}

fn offsets(list: &[(&str, i32, i64)]) -> Vec<PartitionOffset> {
    list.iter().map(|(t, p, o)| PartitionOffset { topic: t.to_string(), partition: *p, offset: *o }).collect()
}

fn at(now: Instant) -> Moment {
    Moment { now, epoch_ms: 1, jitter: 0.5 }
}

fn ok(request_id: u64, list: &[(&str, i32, i64)]) -> CommitResponse {
    CommitResponse {
        request_id,
        request_failure: None,
        partitions: list
            .iter()
            .map(|(t, p, o)| PartitionResponse { topic: t.to_string(), partition: *p, offset: *o, failure: None })
            .collect(),
        client_error: None,
    }
}

fn failed(request_id: u64, code: RDKafkaErrorCode) -> CommitResponse {
    CommitResponse::failed(request_id, KafkaFailure::new(code, "refused"))
}

#[test]
fn a_commit_is_sent_once_and_settles_on_success() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    let seq = group.submit(offsets(&[("t", 0, 10), ("t", 1, 20)]), "m", t0);
    assert!(!group.settled(seq, false));
    let sent = group.start_request(1, t0, &s).expect("due");
    assert_eq!(sent, Outgoing { offsets: vec![("t".into(), 0, 10), ("t".into(), 1, 20)], metadata: "m".into() });
    assert!(group.start_request(2, t0, &s).is_none(), "one request in flight at most");
    assert!(group.complete("g", &ok(1, &[("t", 0, 10), ("t", 1, 20)]), at(t0), &s).is_none());
    assert!(group.settled(seq, false) && group.flushed());
    assert_eq!(group.succeeded, 1);
    // Unchanged offsets are not sent again.
    let seq = group.submit(offsets(&[("t", 0, 10)]), "m", t0);
    assert!(group.start_request(3, t0, &s).is_none());
    assert!(group.settled(seq, false));
}

#[test]
fn newer_offsets_coalesce_while_a_request_is_in_flight() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 10)]), "a", t0);
    group.start_request(1, t0, &s).unwrap();
    group.submit(offsets(&[("t", 0, 11)]), "b", t0);
    let seq = group.submit(offsets(&[("t", 0, 12)]), "c", t0);
    // The first request fails: the newer offset must win over the failed older one.
    group.complete("g", &failed(1, RDKafkaErrorCode::RequestTimedOut), at(t0), &s);
    let retry_at = group.next_attempt_at().unwrap();
    assert!(group.start_request(2, t0, &s).is_none(), "backoff first");
    let sent = group.start_request(2, retry_at, &s).unwrap();
    assert_eq!(sent.offsets, vec![("t".into(), 0, 12)]);
    assert_eq!(sent.metadata, "c");
    group.complete("g", &ok(2, &[("t", 0, 12)]), at(retry_at), &s);
    assert!(group.settled(seq, false));
}

#[test]
fn retry_max_attempts_counts_every_attempt_then_parks() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    let mut now = t0;
    let mut attempts = 0;
    while let Some(_request) = group.start_request(attempts + 1, now, &s) {
        attempts += 1;
        group.complete("g", &failed(attempts, RDKafkaErrorCode::RequestTimedOut), at(now), &s);
        if group.parked() {
            break;
        }
        now = group.next_attempt_at().unwrap();
    }
    assert_eq!(attempts, u64::from(s.retry_max_attempts), "retry.max.attempts is the total");
    assert!(group.parked());
}

#[test]
fn backoff_grows_exponentially_with_bounded_jitter() {
    let s = settings();
    for attempt in 1..=12 {
        let exponential = (s.retry_backoff * (1 << (attempt - 1))).min(s.retry_backoff_max);
        for jitter in [0.0, 0.5, 0.999] {
            let delay = backoff(&s, attempt, jitter);
            assert!(delay >= exponential / 2 && delay <= exponential, "attempt {attempt}: {delay:?}");
        }
    }
}

#[test]
fn a_permanent_failure_parks_and_settles_at_once() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    let line = group.complete("g", &failed(1, RDKafkaErrorCode::GroupAuthorizationFailed), at(t0), &s);
    assert!(matches!(line, Some((Level::Error, ref text)) if text.contains("GroupAuthorizationFailed")), "{line:?}");
    // A new batch for a parked group settles at once (flush and commit_sync do not wait out the
    // cool-down) and answers with the known error.
    let seq = group.submit(offsets(&[("t", 0, 2)]), "", t0);
    assert!(group.start_request(2, t0, &s).is_none());
    assert!(group.settled(seq, false) && !group.flushed());
    let results = group.results_for(&[("t".into(), 0)], seq);
    assert_eq!(results[0].error.as_ref().unwrap().0, "GroupAuthorizationFailed");
    assert_eq!(results[0].offset, 2);
    // After the cool-down the latest offset is tried again; success un-parks.
    let later = t0 + s.failure_cooldown;
    let sent = group.start_request(3, later, &s).unwrap();
    assert_eq!(sent.offsets, vec![("t".into(), 0, 2)]);
    group.complete("g", &ok(3, &[("t", 0, 2)]), at(later), &s);
    assert!(!group.parked() && group.flushed());
}

#[test]
fn repeated_failures_are_logged_once_a_minute() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    let mut logged = 0;
    for i in 0..10u64 {
        let now = t0 + s.failure_cooldown * i as u32;
        group.submit(offsets(&[("t", 0, i as i64)]), "", now);
        if group.start_request(i + 1, now, &s).is_some() {
            logged += group
                .complete("g", &failed(i + 1, RDKafkaErrorCode::GroupAuthorizationFailed), at(now), &s)
                .iter()
                .count();
        }
    }
    assert_eq!(logged, 10, "one per cool-down period (60 s apart)");
    let s = EngineSettings { retry_max_attempts: 100, ..settings() };
    let mut group = Group::default();
    let mut lines = Vec::new();
    for i in 0..10u64 {
        group.submit(offsets(&[("t", 0, i as i64)]), "", t0);
        let now = group.next_attempt_at().unwrap_or(t0);
        if group.start_request(i + 1, now, &s).is_some() {
            lines.extend(group.complete("g", &failed(i + 1, RDKafkaErrorCode::RequestTimedOut), at(now), &s));
        }
    }
    assert_eq!(lines.len(), 1, "retries within a minute log once: {lines:?}");
    assert_eq!(lines[0].0, Level::Info, "while the retries last, Kafka away is no warning yet: {lines:?}");
}

/// Above DEBUG: what a user's log shows.
fn shown(line: Option<(Level, String)>) -> usize {
    usize::from(line.is_some_and(|(level, _)| level > Level::Debug))
}

#[test]
fn a_persistent_failure_logs_one_warn_a_minute() {
    // The defaults: 8 attempts, 200 ms .. 10 s apart, then a 60 s cool-down; while the group is parked the worker
    // probes it every `retry_backoff_max` (see `worker::probe_parked_groups`). Kafka stays away for ten minutes.
    let (s, t0) = (EngineSettings::default(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    let (mut now, mut request_id) = (t0, 0);
    let (mut attempts, mut infos, mut warnings) = (0, Vec::new(), Vec::new());
    while now < t0 + Duration::from_secs(600) {
        request_id += 1;
        if group.start_request(request_id, now, &s).is_some() {
            attempts += 1;
            let code = [RDKafkaErrorCode::BrokerTransportFailure, RDKafkaErrorCode::AllBrokersDown][attempts % 2];
            match group.complete("g", &failed(request_id, code), at(now), &s) {
                Some((Level::Info, _)) => infos.push(now - t0),
                Some((Level::Warn, _)) => warnings.push(now - t0),
                None => {}
                other => panic!("a failure that retrying may fix logs INFO, then WARN: {other:?}"),
            }
        }
        let own = group.next_attempt_at().expect("the group waits for its next attempt");
        let probe = now + s.retry_backoff_max;
        if group.parked_after_retries() && probe < own {
            now = probe;
            group.retry_now();
        } else {
            now = own;
        }
    }
    assert!(attempts > 60, "the retries went on: {attempts} attempts");
    assert_eq!(infos, vec![Duration::ZERO], "the first failure, while the retries last: INFO");
    let mut logged = infos.clone();
    logged.extend(&warnings);
    for pair in logged.windows(2) {
        let gap = pair[1] - pair[0];
        // An attempt comes at least every `retry_backoff_max`: the next line follows the minute within that.
        assert!(gap >= FAILURE_LOG_INTERVAL && gap <= FAILURE_LOG_INTERVAL + s.retry_backoff_max, "{logged:?}");
    }
    assert!(warnings.len() >= 9, "one WARN a minute for ten minutes: {warnings:?}");
}

#[test]
fn a_failure_that_changes_kind_within_a_minute_is_still_logged_once() {
    // A broker that goes away answers first with a transport failure, then with time-outs, then the
    // retries run out and the group parks: one line for the group, the status has the rest.
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    let mut logged = 0;
    let kinds = [RDKafkaErrorCode::BrokerTransportFailure, RDKafkaErrorCode::OperationTimedOut];
    for i in 0..s.retry_max_attempts as u64 {
        group.submit(offsets(&[("t", 0, i as i64)]), "", t0);
        let now = group.next_attempt_at().unwrap_or(t0);
        group.start_request(i + 1, now, &s).expect("a retry is due");
        logged += shown(group.complete("g", &failed(i + 1, kinds[(i % 2) as usize]), at(now), &s));
    }
    assert!(group.parked(), "the retries ran out");
    assert_eq!(logged, 1, "one line per group within a minute, whatever the kind");
    let after_cooldown = group.next_attempt_at().unwrap();
    assert!(after_cooldown >= t0 + FAILURE_LOG_INTERVAL);
    group.start_request(9, after_cooldown, &s).expect("the cool-down is over");
    let line = group.complete("g", &failed(9, RDKafkaErrorCode::AllBrokersDown), at(after_cooldown), &s);
    assert!(matches!(line, Some((Level::Warn, _))), "a minute later the lasting failure is logged again: {line:?}");
}

#[test]
fn a_refused_partition_does_not_hold_the_group_back() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("gone", 0, 5), ("t", 0, 7)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    let mut response = ok(1, &[("gone", 0, 5), ("t", 0, 7)]);
    response.partitions[0].failure = Some(KafkaFailure::new(RDKafkaErrorCode::UnknownTopicOrPartition, "deleted"));
    group.complete("g", &response, at(t0), &s);
    assert!(!group.parked(), "the group is not parked");
    assert!(group.flushed(), "the refused partition is not retried");
    assert_eq!(group.committed.get(&(Arc::from("t"), 0)), Some(&7));
    assert_eq!(group.last_error.as_ref().unwrap().failure.code, RDKafkaErrorCode::UnknownTopicOrPartition);
    // The next batch goes out without cool-down.
    group.submit(offsets(&[("t", 0, 8)]), "", t0);
    assert!(group.start_request(2, t0, &s).is_some());
}

#[test]
fn a_group_level_refusal_reported_per_partition_parks_the_group() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 5)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    let mut response = ok(1, &[("t", 0, 5)]);
    response.partitions[0].failure = Some(KafkaFailure::new(RDKafkaErrorCode::GroupAuthorizationFailed, "denied"));
    group.complete("g", &response, at(t0), &s);
    assert!(group.parked(), "the group waits out the cool-down");
    assert_eq!(group.pending.get(&(Arc::from("t"), 0)), Some(&5), "offsets kept");
}

#[test]
fn the_watchdog_gives_up_an_unanswered_request() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    let deadline = t0 + s.request_timeout + WATCHDOG_MARGIN;
    assert_eq!(group.next_due(&s), Some(deadline));
    assert_eq!(group.overdue_request(deadline, &s), None);
    let late = deadline + Duration::from_millis(1);
    assert_eq!(group.overdue_request(late, &s), Some(1));
    group.complete("g", &failed(1, RDKafkaErrorCode::OperationTimedOut), at(late), &s);
    assert!(!group.in_flight() && !group.flushed(), "offsets stay pending for the retry");
    // A late answer to the abandoned request changes nothing.
    assert!(group.complete("g", &ok(1, &[("t", 0, 1)]), at(late), &s).is_none());
    assert!(group.committed.is_empty());
}

#[test]
fn keepalive_recommits_unchanged_offsets_when_due() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.acquire();
    group.submit(offsets(&[("t", 0, 1)]), "m", t0);
    group.start_request(1, t0, &s).unwrap();
    group.complete("g", &ok(1, &[("t", 0, 1)]), at(t0), &s);
    let due = t0 + s.keepalive_interval;
    assert_eq!(group.next_due(&s), Some(due));
    assert!(group.start_request(2, due - Duration::from_millis(1), &s).is_none());
    let sent = group.start_request(2, due, &s).unwrap();
    assert_eq!(sent, Outgoing { offsets: vec![("t".into(), 0, 1)], metadata: "m".into() });
}

#[test]
fn a_group_nobody_owns_stays_until_its_offsets_are_committed() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.acquire();
    group.acquire();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    group.release();
    assert!(!group.can_be_dropped(), "one owner is left");
    group.release();
    assert!(!group.can_be_dropped(), "a request is in flight: its answer must find the group");
    group.complete("g", &failed(1, RDKafkaErrorCode::AllBrokersDown), at(t0), &s);
    assert!(!group.can_be_dropped(), "the closed run's offsets are still to be committed");
    let retry_at = group.next_attempt_at().unwrap();
    group.start_request(2, retry_at, &s).unwrap();
    group.complete("g", &ok(2, &[("t", 0, 1)]), at(retry_at), &s);
    assert!(group.can_be_dropped());
}

#[test]
fn a_group_nobody_owns_gets_no_keepalive() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.acquire();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    group.complete("g", &ok(1, &[("t", 0, 1)]), at(t0), &s);
    group.release();
    let keepalive_due = t0 + s.keepalive_interval;
    assert_eq!(group.next_due(&s), None);
    assert!(group.start_request(2, keepalive_due, &s).is_none());
}

#[test]
fn timeouts_are_explained_by_a_permanent_client_error() {
    let timeout = KafkaFailure::new(RDKafkaErrorCode::OperationTimedOut, "timed out");
    let auth = KafkaFailure::new(RDKafkaErrorCode::Authentication, "SASL authentication error: Authentication failed");
    let explained = explain_failure(timeout.clone(), Some(&auth));
    assert_eq!(explained.code, auth.code);
    assert!(!explained.is_retriable());
    assert!(explained.message.contains("timed out"));
    assert_eq!(explain_failure(timeout.clone(), None), timeout);
}

#[test]
fn kafka_answering_again_wakes_groups_in_backoff_or_parked_after_retries() {
    let (s, t0) = (settings(), Instant::now());
    let mut away = Group::default();
    away.submit(offsets(&[("t", 0, 1)]), "", t0);
    let mut now = t0;
    for request_id in 1..=u64::from(s.retry_max_attempts) {
        away.start_request(request_id, now, &s).unwrap();
        away.complete("g", &failed(request_id, RDKafkaErrorCode::AllBrokersDown), at(now), &s);
        now = away.next_attempt_at().unwrap();
    }
    assert!(away.parked() && away.parked_after_retries(), "retries ran out while Kafka was away");
    let mut refused = Group::default();
    refused.submit(offsets(&[("t", 0, 1)]), "", t0);
    refused.start_request(1, t0, &s).unwrap();
    refused.complete("g", &failed(1, RDKafkaErrorCode::GroupAuthorizationFailed), at(t0), &s);

    away.retry_now();
    refused.retry_now();
    assert!(away.start_request(9, t0, &s).is_some(), "tries again at once");
    assert!(refused.parked() && refused.start_request(10, t0, &s).is_none(), "a refusal keeps its cool-down");
}

#[test]
fn an_unknown_outcome_is_never_hidden_by_deduplication_and_is_committed_again_once_stale_requests_cannot_land() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.acquire();
    group.submit(offsets(&[("t", 0, 10)]), "a", t0);
    group.start_request(1, t0, &s).unwrap();
    group.complete("g", &ok(1, &[("t", 0, 10)]), at(t0), &s);
    // Offset 20 times out: the request may still land, at any moment until its deadline passes.
    group.submit(offsets(&[("t", 0, 20)]), "b", t0);
    group.start_request(2, t0, &s).unwrap();
    group.complete("g", &failed(2, RDKafkaErrorCode::RequestTimedOut), at(t0), &s);
    let retry_at = group.next_attempt_at().unwrap();
    group.start_request(3, retry_at, &s).unwrap();
    group.complete("g", &ok(3, &[("t", 0, 20)]), at(retry_at), &s);
    // The same offset again is not skipped: Kafka's state is not known for sure yet.
    group.submit(offsets(&[("t", 0, 20)]), "b", retry_at);
    assert_eq!(group.start_request(4, retry_at, &s).unwrap().offsets, vec![("t".into(), 0, 20)]);
    group.complete("g", &ok(4, &[("t", 0, 20)]), at(retry_at), &s);
    // Once no stale request can land any more, the latest offset is committed once more...
    let confirmable = t0 + s.request_timeout + WATCHDOG_MARGIN;
    assert_eq!(group.next_due(&s), Some(confirmable));
    assert!(group.start_request(5, confirmable - Duration::from_millis(1), &s).is_none());
    let again = group.start_request(5, confirmable, &s).expect("the re-commit is due");
    assert_eq!(again, Outgoing { offsets: vec![("t".into(), 0, 20)], metadata: "b".into() });
    group.complete("g", &ok(5, &[("t", 0, 20)]), at(confirmable), &s);
    // ...and after that it is confirmed: unchanged offsets are skipped again.
    group.submit(offsets(&[("t", 0, 20)]), "b", confirmable);
    assert!(group.start_request(6, confirmable, &s).is_none());
    assert_eq!(group.next_due(&s), Some(confirmable + s.keepalive_interval));
}

#[test]
fn a_lost_request_goes_back_to_pending_without_backoff_and_stays_unconfirmed() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    group.submit(offsets(&[("t", 0, 2)]), "", t0);
    group.request_lost("g", RequestLoss::Killed, "commit helper", "was killed", at(t0), &s);
    assert!(!group.in_flight() && !group.parked() && group.next_attempt_at().is_none(), "ready for the next helper");
    assert!(!group.crash_suspect(), "a helper we killed crashed on nothing");
    let sent = group.start_request(2, t0, &s).unwrap();
    assert_eq!(sent.offsets, vec![("t".into(), 0, 2)], "the newer offset wins over the lost one");
    group.complete("g", &ok(2, &[("t", 0, 2)]), at(t0), &s);
    let confirmable = t0 + s.request_timeout + WATCHDOG_MARGIN;
    assert_eq!(group.start_request(3, confirmable, &s).unwrap().offsets, vec![("t".into(), 0, 2)]);
}

#[test]
fn a_request_in_hand_at_two_crashes_is_refused_for_its_group_only() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    group.request_lost("g", RequestLoss::Crash, "commit helper", "was ended by signal 6 (SIGABRT)", at(t0), &s);
    assert!(group.crash_suspect() && !group.parked());
    group.start_request(2, t0, &s).unwrap();
    let line =
        group.request_lost("g", RequestLoss::Crash, "commit helper", "was ended by signal 6 (SIGABRT)", at(t0), &s);
    assert!(matches!(line, Some((Level::Error, ref text)) if text.contains("crashed twice")), "{line:?}");
    assert!(group.parked() && !group.parked_after_retries(), "refused: no early wake-up");
    assert!(!group.crash_suspect());
    assert_eq!(group.pending.get(&(Arc::from("t"), 0)), Some(&1), "offsets kept for after the cool-down");
    assert!(group.settled(group.submitted_seq(), true), "a refusal settles, also at exit");
}

#[test]
fn an_answer_clears_the_crash_count() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    group.request_lost("g", RequestLoss::Crash, "commit helper", "crashed", at(t0), &s);
    group.start_request(2, t0, &s).unwrap();
    group.complete("g", &ok(2, &[("t", 0, 1)]), at(t0), &s);
    assert!(!group.crash_suspect());
    group.submit(offsets(&[("t", 0, 2)]), "", t0);
    group.start_request(3, t0, &s).unwrap();
    group.request_lost("g", RequestLoss::Crash, "commit helper", "crashed", at(t0), &s);
    assert!(!group.parked(), "one crash since the last answer");
}

#[test]
fn at_exit_a_group_parked_while_kafka_was_away_is_not_settled_and_can_be_woken() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    let mut now = t0;
    for request_id in 1..=u64::from(s.retry_max_attempts) {
        group.start_request(request_id, now, &s).unwrap();
        group.complete("g", &failed(request_id, RDKafkaErrorCode::AllBrokersDown), at(now), &s);
        now = group.next_attempt_at().unwrap_or(now);
    }
    let seq = group.submitted_seq();
    assert!(group.parked_after_retries());
    assert!(group.settled(seq, false), "a flush while running does not wait out the cool-down");
    assert!(!group.settled(seq, true), "the exit window retries it");
    group.unpark_after_retries();
    assert!(group.start_request(9, t0, &s).is_some());
}

#[test]
fn a_settling_coordinator_logs_at_debug_until_the_retries_run_out() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    let mut now = t0;
    let mut lines = Vec::new();
    for attempt in 1..=u64::from(s.retry_max_attempts) {
        group.start_request(attempt, now, &s).expect("due");
        let code = if attempt % 2 == 1 {
            RDKafkaErrorCode::NotCoordinator
        } else {
            RDKafkaErrorCode::CoordinatorLoadInProgress
        };
        lines.push(group.complete("g", &failed(attempt, code), at(now), &s).expect("a line"));
        if let Some(next) = group.next_attempt_at() {
            now = next;
        }
    }
    let (retries, last) = lines.split_at(lines.len() - 1);
    assert!(retries.iter().all(|(level, _)| *level == Level::Debug), "{retries:?}");
    // Past the retry budget it is a lasting condition: one WARN, never an ERROR.
    assert!(group.parked());
    assert!(matches!(&last[0], (Level::Warn, text) if text.contains("NotCoordinator")), "{last:?}");
}

#[test]
fn a_group_with_members_is_explained_in_plain_words() {
    let (s, t0) = (settings(), Instant::now());
    let mut group = Group::default();
    group.submit(offsets(&[("t", 0, 1)]), "", t0);
    group.start_request(1, t0, &s).unwrap();
    let line = group.complete("busy", &failed(1, RDKafkaErrorCode::UnknownMemberId), at(t0), &s);
    let Some((Level::Error, text)) = line else { panic!("{line:?}") };
    assert!(text.contains("the group has active members"), "{text}");
    assert!(text.contains("a group id of its own"), "{text}");
}
