//! The reproducer, at the product's level: a program on the Rust API commits 20 groups x 2
//! partitions every 100 ms while its own broker is killed (SIGKILL, and clean SIGTERM stops) and
//! restarted ten times. The process must never die, the helper that runs librdkafka must never have
//! needed a restart (the patched librdkafka no longer aborts), and after the last restart every group
//! must hold the latest offsets, read back with Kafka's own Java client. An independent consumer
//! watches the committed offsets throughout: none may ever move backwards, also not in an idle phase
//! after the last commit, long enough for any stale request to have landed. The log says once per
//! outage that no broker answers (WARN) and once that one answers again (INFO, with how long it was
//! away), and nothing at ERROR: the product rides a broker restart out.

mod common;
mod own_broker;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use kafka_offset_committer::config::engine_keys;
use kafka_offset_committer::logging;
use serde_json::Value;

const GROUPS: usize = 20;
const TICK: Duration = Duration::from_millis(100);
/// Offset of partition 1 is the tick plus this, so the two partitions are told apart.
const P1_BASE: i64 = 1_000_000;
/// Bound for every group to hold the latest offsets once the broker is back for good.
const CONVERGE_BOUND: Duration = Duration::from_secs(60);

fn offsets(topic: &str, tick: i64) -> String {
    format!("{{\"{topic}\":{{\"0\":{tick},\"1\":{}}}}}", tick + P1_BASE)
}

#[test]
fn commits_survive_repeated_broker_kills_and_every_group_converges() {
    let started = Instant::now();
    let cycles = outage_cycles();
    let broker = Arc::new(own_broker::OwnBroker::start("helper-outage"));
    let topic = unique("outage");
    broker.create_topic(&topic, 2);
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("{topic}-g{g}")).collect();
    // A request timeout shorter than an outage: what made the unpatched librdkafka abort.
    let request_timeout = Duration::from_millis(1500);
    let committer =
        open(&broker.bootstrap, &[(engine_keys::REQUEST_TIMEOUT, "1500"), (engine_keys::RETRY_BACKOFF_MAX, "1000")]);
    let watcher = OffsetWatcher::start(&broker.bootstrap, &groups, &topic, 2);

    let commits_seen = Arc::new(AtomicU64::new(0));
    let cycles_done = Arc::new(AtomicBool::new(false));
    let cycler = {
        let (broker, commits_seen, cycles_done) = (broker.clone(), commits_seen.clone(), cycles_done.clone());
        thread::spawn(move || {
            let progress = || commits_seen.load(Ordering::SeqCst);
            own_broker::kill_and_restart(&broker, cycles, progress, GROUPS as u64, "helper_outage");
            cycles_done.store(true, Ordering::SeqCst);
        })
    };

    let mut tick = 0i64;
    // This test alone collects the log lines of this process; the other test's lines are left aside by cluster.
    let mut lines = Vec::new();
    while !cycles_done.load(Ordering::SeqCst) {
        lines.extend(logging::drain(Duration::ZERO));
        assert!(!cycler.is_finished() || cycles_done.load(Ordering::SeqCst), "the kill/restart cycles failed");
        tick += 1;
        for group in &groups {
            committer.commit_async(group, &offsets(&topic, tick), "").expect("commit_async never fails");
        }
        let status = status(&committer);
        let succeeded: u64 =
            status["groups"].as_array().unwrap().iter().map(|g| g["commitsSucceeded"].as_u64().unwrap()).sum();
        commits_seen.store(succeeded, Ordering::SeqCst);
        thread::sleep(TICK);
    }
    cycler.join().expect("kill/restart cycles");

    let back_at = Instant::now();
    let at_latest = |group: &Value| group["lastCommit"]["offsets"][&topic]["0"].as_i64() == Some(tick);
    assert!(
        eventually(CONVERGE_BOUND, || {
            lines.extend(logging::drain(Duration::ZERO));
            status(&committer)["groups"].as_array().unwrap().iter().all(at_latest)
        }),
        "groups behind {CONVERGE_BOUND:?} after the last restart: {}",
        committer.status_json()
    );
    let converged_after = back_at.elapsed();
    assert!(committer.flush(CONVERGE_BOUND));
    let assert_at_latest = |when: &str| {
        let read = broker.group_offsets(&groups, &topic);
        for group in &groups {
            let committed = read.get(group).cloned().unwrap_or_default();
            assert_eq!(committed.get(&0), Some(&tick), "{when}: group {group}: {committed:?}");
            assert_eq!(committed.get(&1), Some(&(tick + P1_BASE)), "{when}: group {group}: {committed:?}");
        }
    };
    assert_at_latest("once flushed");
    idle_past_stale_requests(request_timeout);
    assert_at_latest("after the idle phase");
    watcher.finish();
    let helper = &status(&committer)["helper"];
    assert_eq!(helper["restarts"], 0, "the helper died during the outages: {helper}");
    lines.extend(logging::drain(Duration::ZERO));
    let outages = assert_each_outage_logged_once_and_its_end_once(&lines, &broker.bootstrap, cycles);
    eprintln!(
        "[helper_outage] {cycles} kill/restart cycles, {tick} ticks x {GROUPS} groups; every group at its latest \
         offsets {converged_after:.1?} after the last restart; helper never restarted; {outages:?}; total {:.1?}",
        started.elapsed()
    );
}

/// The lines about the cluster at `bootstrap`: per outage (a broker kill or stop) one WARN that no broker answers
/// and one INFO when one does again, naming how long it was away; nothing at ERROR. Returns the lines logged
/// per outage, by level, for the report.
fn assert_each_outage_logged_once_and_its_end_once(lines: &[String], bootstrap: &str, cycles: usize) -> Vec<String> {
    let cluster = format!("[{bootstrap}]");
    let ours: Vec<&String> = lines.iter().filter(|line| line.contains(&cluster)).collect();
    let errors: Vec<&&String> = ours.iter().filter(|line| line.starts_with("ERROR ")).collect();
    assert!(errors.is_empty(), "a broker restart is no error: {errors:#?}");
    let mut episodes: Vec<&str> = Vec::new();
    for line in &ours {
        if line.starts_with(&format!("WARN {cluster} no broker of the cluster answers")) {
            episodes.push("away");
        } else if let Some(rest) =
            line.strip_prefix(&format!("INFO {cluster} a broker of the cluster answers again, after "))
        {
            let seconds: f64 = rest.split(' ').next().and_then(|s| s.parse().ok()).unwrap_or(-1.0);
            assert!(seconds > 0.0, "how long it was away: {line}");
            episodes.push("back");
        }
    }
    assert_eq!(episodes.len(), 2 * cycles, "one away and one back line per outage: {ours:#?}");
    assert!(episodes.chunks(2).all(|pair| pair == ["away", "back"]), "{episodes:?}");
    ["DEBUG", "INFO", "WARN"]
        .iter()
        .map(|level| {
            let count = ours.iter().filter(|line| line.starts_with(&format!("{level} "))).count();
            format!("{level} {:.1} lines per outage", count as f64 / cycles as f64)
        })
        .collect()
}

/// A whole-number test setting from the environment (`make soak` sets the long ones), else `default`.
fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .map_or(default, |value| value.parse().unwrap_or_else(|_| panic!("{name}: a number, got {value}")))
}

/// Kill/restart cycles of the broker: `KOC_OUTAGE_CYCLES` (default 4; `make soak` 10).
fn outage_cycles() -> usize {
    setting("KOC_OUTAGE_CYCLES", 4) as usize
}

/// How long the broker stays paused: `KOC_PAUSE_SECONDS` (default 30; `make soak` 120).
fn pause_length() -> Duration {
    Duration::from_secs(setting("KOC_PAUSE_SECONDS", 30))
}

#[test]
fn a_paused_broker_never_blocks_a_caller_past_its_deadline() {
    let broker = own_broker::OwnBroker::start("paused-broker");
    let topic = unique("paused");
    broker.create_topic(&topic, 2);
    let request_timeout = Duration::from_millis(3000);
    let committer = open(&broker.bootstrap, &[(engine_keys::REQUEST_TIMEOUT, "3000")]);
    assert!(committer.commit_sync("paused-g", &offsets(&topic, 1), "", Duration::from_secs(60)).is_ok());
    // Requests that timed out while the broker hung wait in its sockets and land when it resumes.
    let watcher = OffsetWatcher::start(&broker.bootstrap, &["paused-g".to_string()], &topic, 2);

    broker.pause();
    let paused_at = Instant::now();
    let mut longest_async = Duration::ZERO;
    let mut tick = 1;
    while paused_at.elapsed() < pause_length() {
        tick += 1;
        let started = Instant::now();
        committer.commit_async("paused-g", &offsets(&topic, tick), "").unwrap();
        longest_async = longest_async.max(started.elapsed());
        thread::sleep(Duration::from_millis(100));
    }
    tick += 1;
    // The broker answers nothing: a synchronous call ends with its own deadline, as a timeout.
    let outcome = committer.commit_sync("paused-g", &offsets(&topic, tick), "", Duration::from_millis(500));
    assert!(
        matches!(outcome, Err(kafka_offset_committer::CommitterError::Timeout(_))),
        "a paused broker cannot have answered: {outcome:?}"
    );
    assert!(!committer.flush(Duration::from_millis(500)), "nothing can be flushed while the broker hangs");
    let paused_for = paused_at.elapsed();
    broker.resume();

    // A long pause outlasts the retries: the group then waits out its cool-down (60 s) before it commits again.
    assert!(committer.flush(Duration::from_secs(120)), "after the pause: {}", committer.status_json());
    let read = broker.group_offsets(&["paused-g".to_string()], &topic);
    assert_eq!(read["paused-g"].get(&0), Some(&tick));
    idle_past_stale_requests(request_timeout);
    let read = broker.group_offsets(&["paused-g".to_string()], &topic);
    assert_eq!(read["paused-g"].get(&0), Some(&tick), "after the idle phase");
    watcher.finish();
    eprintln!(
        "[paused broker] longest of {} commit_async calls while the broker hung {paused_for:.0?}: {longest_async:?}",
        tick - 2
    );
}
