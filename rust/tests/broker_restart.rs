//! Regression test for the librdkafka use-after-free that aborted the process after a broker
//! restart (`rd_kafka_enq_once_del_source_return: Assertion 'eonce->refcnt > 0' failed`), fixed by
//! rust/vendor/patches/0001-admin-coord-request-keep-eonce-ref-on-error.patch.
//!
//! Self-contained on purpose: it drives AlterConsumerGroupOffsets through `rdkafka::bindings`
//! directly (as the crate's admin client does) and depends on no crate-internal module.
//!
//! It starts its OWN broker (`own_broker`), then, while 20 groups x 2 partitions are committed
//! every 100 ms, kills the broker (mostly SIGKILL, some clean SIGTERM stops) and restarts it on the
//! same port, CYCLES times (the unpatched library aborted in the first; the product-level test,
//! `helper_outage.rs`, runs ten). The process must survive, and after the last restart every
//! group must hold its latest committed offsets, read back by Kafka's own Java client.
//!
//! The admin request timeout is shorter than a broker outage on purpose: the crash needs an admin
//! request that times out while its coordinator request still waits for the broker to come back.
//!
//! Without python3, java or maven (or if the broker process cannot be found) the test FAILS.

mod own_broker;
mod raw_admin;

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const GROUPS: usize = 20;
const PARTITIONS: i32 = 2;
const TICK: Duration = Duration::from_millis(100);
const CYCLES: usize = 3;
/// Shorter than any outage (kill gap + JVM start), so requests time out while waiting.
const REQUEST_TIMEOUT_MS: i32 = 1500;
/// Bound for every group to hold the latest offsets once the last restart is done.
const SETTLE_BOUND: Duration = Duration::from_secs(60);
/// Offset of partition 1 is the tick plus this, so the two partitions are told apart.
const P1_BASE: i64 = 1_000_000;

/// The commit of one tick: partition p at tick + p * P1_BASE.
fn offsets(topic: &str, tick: i64) -> Vec<(String, i32, i64)> {
    (0..PARTITIONS).map(|partition| (topic.to_string(), partition, tick + P1_BASE * i64::from(partition))).collect()
}

#[test]
fn admin_commits_survive_repeated_broker_kills_and_restarts() {
    let started = Instant::now();
    let broker = own_broker::OwnBroker::start("broker-restart");
    let bootstrap = broker.bootstrap.clone();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let topic = format!("restart-{}", nanos % 1_000_000_000);
    broker.create_topic(&topic, PARTITIONS);
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("{topic}-g{g}")).collect();
    let group_names: Vec<CString> = groups.iter().map(|g| CString::new(g.as_str()).unwrap()).collect();

    let admin = raw_admin::RawAdmin::new(&bootstrap, REQUEST_TIMEOUT_MS);

    // The kill/restart cycles run beside the commit loop.
    let successes = Arc::new(AtomicU64::new(0));
    let cycles_done = Arc::new(AtomicBool::new(false));
    let broker = Arc::new(broker);
    let cycler = {
        let broker = Arc::clone(&broker);
        let successes = Arc::clone(&successes);
        let cycles_done = Arc::clone(&cycles_done);
        thread::spawn(move || {
            let progress = || successes.load(Ordering::SeqCst);
            own_broker::kill_and_restart(&broker, CYCLES, progress, GROUPS as u64, "broker_restart");
            cycles_done.store(true, Ordering::SeqCst);
        })
    };

    let mut tick: i64 = 0;
    let mut in_flight: u64 = 0;
    let mut last_ok: HashMap<usize, i64> = HashMap::new();
    let mut failures: u64 = 0;
    let mut settle_from: Option<(Instant, i64)> = None;
    let mut next = Instant::now();
    loop {
        if cycler.is_finished() && !cycles_done.load(Ordering::SeqCst) {
            // The cycle thread panicked: report its message.
            cycler.join().expect("kill/restart cycles");
            unreachable!();
        }
        if Instant::now() >= next {
            next += TICK;
            tick += 1;
            for (g, name) in group_names.iter().enumerate() {
                admin.send(name, &offsets(&topic, tick), (tick as u64) * 64 + g as u64);
                in_flight += 1;
            }
        }
        while let Some((opaque, ok)) = admin.poll() {
            in_flight -= 1;
            let (t, g) = ((opaque / 64) as i64, (opaque % 64) as usize);
            if ok {
                successes.fetch_add(1, Ordering::SeqCst);
                let entry = last_ok.entry(g).or_insert(0);
                *entry = (*entry).max(t);
            } else {
                failures += 1;
            }
        }
        admin.serve();
        if cycles_done.load(Ordering::SeqCst) {
            let (since, target) = *settle_from.get_or_insert((Instant::now(), tick + 1));
            if (0..GROUPS).all(|g| last_ok.get(&g).is_some_and(|t| *t >= target)) {
                eprintln!(
                    "[broker_restart] all groups committed tick >= {target} {:.1?} after the last restart",
                    since.elapsed()
                );
                break;
            }
            assert!(
                since.elapsed() < SETTLE_BOUND,
                "groups without a commit since the last restart after {SETTLE_BOUND:?}: {:?}",
                (0..GROUPS).filter(|g| last_ok.get(g).is_none_or(|t| *t < target)).collect::<Vec<_>>()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
    cycler.join().expect("kill/restart cycles");

    // Let every request still in flight finish (each ends in a result within its timeout).
    let drain_deadline = Instant::now() + Duration::from_secs(30);
    while in_flight > 0 {
        assert!(Instant::now() < drain_deadline, "{in_flight} requests never answered");
        while let Some((opaque, ok)) = admin.poll() {
            in_flight -= 1;
            if ok {
                let (t, g) = ((opaque / 64) as i64, (opaque % 64) as usize);
                let entry = last_ok.entry(g).or_insert(0);
                *entry = (*entry).max(t);
            }
        }
        admin.serve();
        thread::sleep(Duration::from_millis(10));
    }

    // Independent requests may be applied out of order around a restart (one still waiting for
    // its coordinator while a later one goes straight through), so the highest acknowledged tick
    // is not necessarily the last one applied. With nothing in flight any more, one final commit
    // per group (retried until acknowledged) defines the latest offsets exactly.
    let final_tick = tick + 1;
    let mut pending: Vec<usize> = (0..GROUPS).collect();
    let final_deadline = Instant::now() + SETTLE_BOUND;
    while !pending.is_empty() {
        for &g in &pending {
            admin.send(&group_names[g], &offsets(&topic, final_tick), (final_tick as u64) * 64 + g as u64);
        }
        let mut answered = 0;
        let mut acknowledged = Vec::new();
        while answered < pending.len() {
            assert!(Instant::now() < final_deadline, "final commits of {pending:?} never answered");
            while let Some((opaque, ok)) = admin.poll() {
                answered += 1;
                if ok {
                    acknowledged.push((opaque % 64) as usize);
                }
            }
            admin.serve();
            thread::sleep(Duration::from_millis(10));
        }
        pending.retain(|g| !acknowledged.contains(g));
        assert!(
            pending.is_empty() || Instant::now() < final_deadline,
            "final commits of groups {pending:?} still fail after {SETTLE_BOUND:?}"
        );
    }
    for g in 0..GROUPS {
        last_ok.insert(g, final_tick);
    }

    // Read back with Kafka's own Java client.
    let read = broker.group_offsets(&groups, &topic);
    for (g, name) in groups.iter().enumerate() {
        let expected = last_ok[&g];
        for partition in 0..PARTITIONS {
            let got = read.get(name).and_then(|offsets| offsets.get(&partition)).copied();
            assert_eq!(
                got,
                Some(expected + P1_BASE * i64::from(partition)),
                "group {name} partition {partition}: committed {got:?}, expected the final commit (tick {expected})"
            );
        }
    }
    eprintln!(
        "[broker_restart] {CYCLES} kill/restart cycles survived; {tick} ticks x {GROUPS} groups, {failures} failed requests (during outages); all {GROUPS} groups hold their latest offsets; total {:.1?}",
        started.elapsed()
    );
    drop(admin);
}
