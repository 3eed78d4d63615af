//! A broker gone for good (killed, never restarted) under a committer that goes on committing: memory
//! stays flat (this process, which holds the engine as a JVM would, plus the helper process), each group
//! logs its failure at most once a minute, the status shows the failure, and flush and close keep their
//! deadlines. Its own test binary: the process's memory is measured, so no other test may run beside it.
//! When the broker does come back after the committer closed, the closed run's last offsets are
//! committed; an independent consumer watches the committed offsets throughout (never backwards).
//! `KOC_GONE_SECONDS` sets how long commits go on without Kafka (default 15; `make soak` longer).

mod common;
mod own_broker;

use std::time::{Duration, Instant};

use common::*;

const GROUPS: usize = 10;
/// Pause between rounds of one commit per group: enough rounds to notice a per-commit leak of a few bytes.
const ROUND_PAUSE: Duration = Duration::from_millis(2);
/// Rounds committed before the first measurement, so allocator pools and buffers reach their size.
const WARM_UP: Duration = Duration::from_secs(5);
const ALLOWED_GROWTH_KIB: u64 = 20 * 1024;
const DEADLINE: Duration = Duration::from_secs(2);
/// How long a flush or close may overrun its deadline (thread scheduling on a loaded machine).
const DEADLINE_SLACK: Duration = Duration::from_secs(1);
/// Bound for a closed run's last offsets to land once the broker is back: the cool-down (5 s), the
/// broker's start and the coordinator's loading of the group.
const RETURN_BOUND: Duration = Duration::from_secs(90);

fn outage() -> Duration {
    let seconds = std::env::var("KOC_GONE_SECONDS").ok().map(|s| s.parse().expect("KOC_GONE_SECONDS: seconds"));
    Duration::from_secs(seconds.unwrap_or(15))
}

/// Resident memory of a process in KiB (`VmRSS` of /proc/PID/status).
fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB")
}

#[test]
fn a_broker_gone_for_good_keeps_memory_flat_logs_once_a_minute_and_shows_in_the_status() {
    let broker = own_broker::OwnBroker::start("broker-gone");
    let topic = unique("gone");
    broker.create_topic(&topic, 2);
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("{topic}-g{g}")).collect();
    // A short cool-down, so that the closed run's last offsets land soon once the broker is back.
    let committer = open(
        &broker.bootstrap,
        &[
            ("committer.request.timeout.ms", "1000"),
            ("committer.retry.backoff.max.ms", "1000"),
            ("committer.failure.cooldown.ms", "5000"),
        ],
    );
    for group in &groups {
        let committed = committer.commit_sync(group, &offsets_json(&topic, &[1, 1]), "", Duration::from_secs(60));
        assert!(committed.is_ok(), "{group}: {committed:?}");
    }
    let helper = helper_pid(&committer).to_string();

    broker.kill();
    let gone_at = Instant::now();
    let mut failure_lines: Vec<String> = Vec::new();
    let (mut commits, mut round) = (0u64, 1i64);
    let mut before = None;
    while gone_at.elapsed() < WARM_UP + outage() {
        if before.is_none() && gone_at.elapsed() >= WARM_UP {
            before = Some((rss_kib("self"), rss_kib(&helper), commits));
        }
        round += 1;
        for group in &groups {
            committer.commit_async(group, &offsets_json(&topic, &[round, round]), "").expect("commit_async");
            commits += 1;
        }
        // Collected as the JVM does, so that the bounded log buffer never drops a line.
        let lines = kafka_offset_committer::logging::drain(Duration::ZERO);
        failure_lines.extend(lines.into_iter().filter(|line| line.contains("commit to group")));
        std::thread::sleep(ROUND_PAUSE);
    }
    let (process_before, helper_before, commits_before) = before.expect("a measurement after the warm-up");
    let (process_after, helper_after) = (rss_kib("self"), rss_kib(&helper));
    let measured = commits - commits_before;
    let window = gone_at.elapsed();

    let status = status(&committer);
    for group in &groups {
        let entry = status["groups"].as_array().unwrap().iter().find(|g| g["group"] == group.as_str()).unwrap();
        assert_eq!(entry["lastAttemptFailed"], true, "{group}: {entry}");
        assert!(entry["lastError"]["kind"].is_string(), "{group} shows no error: {entry}");
    }
    let flush_started = Instant::now();
    assert!(!committer.flush(DEADLINE), "nothing can be flushed without Kafka");
    let flush_took = flush_started.elapsed();
    let close_started = Instant::now();
    assert!(!committer.close(DEADLINE), "nothing can be flushed without Kafka");
    let close_took = close_started.elapsed();

    let allowed_lines = 1 + (window.as_secs() / 60) as usize;
    let lines_per_group: Vec<usize> = groups
        .iter()
        .map(|g| failure_lines.iter().filter(|l| l.contains(&format!("group `{g}` failed"))).count())
        .collect();
    let example = status["groups"][0]["lastError"].to_string();
    eprintln!(
        "[broker gone] {measured} commits over {:.0?} without Kafka after a {WARM_UP:?} warm-up: this process \
         {process_before} -> {process_after} KiB, helper {helper_before} -> {helper_after} KiB; failure lines per \
         group {lines_per_group:?} in {window:.0?} (allowed {allowed_lines}); status lastError {example}; flush \
         returned after {flush_took:.2?}, close after {close_took:.2?} (deadline {DEADLINE:?})",
        window - WARM_UP
    );
    let growth = (process_after + helper_after).saturating_sub(process_before + helper_before);
    assert!(growth < ALLOWED_GROWTH_KIB, "memory grew {growth} KiB over {measured} commits without Kafka");
    assert!(lines_per_group.iter().all(|n| (1..=allowed_lines).contains(n)), "failure lines: {failure_lines:#?}");
    assert!(flush_took <= DEADLINE + DEADLINE_SLACK && close_took <= DEADLINE + DEADLINE_SLACK);

    // The run is closed, its last offsets unconfirmed: they stay queued and land once Kafka is back.
    // Watched from here only: the consumers of a watcher must not weigh in this process's memory above.
    let watcher = OffsetWatcher::start(&broker.bootstrap, &groups, &topic, 2);
    broker.restart();
    let last = vec![round, round];
    for group in &groups {
        assert!(
            eventually(RETURN_BOUND, || committed_offsets(&broker.bootstrap, &[], group, &topic, 2) == last),
            "{group}: the closed run's last offsets {last:?} never landed; it holds {:?}",
            committed_offsets(&broker.bootstrap, &[], group, &topic, 2)
        );
    }
    idle_past_stale_requests(Duration::from_millis(1000));
    let read = broker.group_offsets(&groups, &topic);
    for group in &groups {
        assert_eq!(read[group].get(&0), Some(&round), "{group} after the idle phase: {:?}", read[group]);
        assert_eq!(read[group].get(&1), Some(&round), "{group} after the idle phase: {:?}", read[group]);
    }
    watcher.finish();
}
