//! `make bench`: speed and memory of the committer, each measured side by side with the
//! alternative in the same run (machines here are noisy; compare the ratios, not the absolutes).
//!
//! Runs against the real broker when KAFKA_BOOTSTRAP is set (as `make bench` does), else against
//! librdkafka's mock cluster. `BENCH_ONLY=parser` runs only the broker-free parser comparison,
//! `BENCH_ONLY=helper` only the helper's added latency. `BENCH_HELPER` names the helper executable
//! to run, `BENCH_HELPER_BASELINE` another one to compare it with (see `helper_added_latency`).

#[path = "../tests/common.rs"]
mod common;

#[path = "../tests/raw_admin/mod.rs"]
mod raw_admin;

/// The pre-change hand-written parser, kept only as `parser_speed`'s baseline.
#[path = "baseline_offsets_parser.rs"]
mod baseline_offsets_parser;

use std::hint::black_box;
use std::time::{Duration, Instant};

use kafka_offset_committer::config::engine_keys;
use kafka_offset_committer::{offsets, Committer};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::{Offset, TopicPartitionList};

const TOPIC_PARTITIONS: i32 = 8;

fn main() {
    if std::env::var("BENCH_ONLY").as_deref() == Ok("parser") {
        println!("| benchmark | kafka-offset-committer | alternative | ratio |");
        println!("|---|---|---|---|");
        parser_speed();
        return;
    }
    let topic = format!("bench-{}", std::process::id());
    let mock;
    let bootstrap = match std::env::var("KAFKA_BOOTSTRAP") {
        Ok(address) => {
            common::create_topic(&address, &topic, TOPIC_PARTITIONS);
            address
        }
        Err(_) => {
            mock = MockCluster::new(1).expect("mock cluster");
            mock.create_topic(&topic, TOPIC_PARTITIONS, 1).expect("mock topic");
            mock.bootstrap_servers()
        }
    };
    println!("# kafka-offset-committer benchmarks against {bootstrap}\n");
    println!("| benchmark | kafka-offset-committer | alternative | ratio |");
    println!("|---|---|---|---|");
    if std::env::var("BENCH_ONLY").as_deref() == Ok("helper") {
        helper_added_latency(&bootstrap, &topic);
        return;
    }
    caller_cost(&bootstrap, &topic);
    commit_round_trip(&bootstrap, &topic);
    helper_added_latency(&bootstrap, &topic);
    threads_per_group(&bootstrap, &topic);
    memory_while_kafka_is_down();
    parser_speed();
}

fn offsets_json(topic: &str, base: i64) -> String {
    let partitions: Vec<String> = (0..TOPIC_PARTITIONS).map(|p| format!("\"{p}\":{}", base + p as i64)).collect();
    format!("{{\"{topic}\":{{{}}}}}", partitions.join(","))
}

fn committer(bootstrap: &str, extra: &[(&str, &str)]) -> Committer {
    let mut settings = vec![("bootstrap.servers".to_string(), bootstrap.to_string())];
    settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let helper =
        std::env::var_os("BENCH_HELPER").unwrap_or_else(|| env!("CARGO_BIN_EXE_kafka-offset-committer-helper").into());
    kafka_offset_committer::helper::use_executable(helper);
    Committer::open(&settings).expect("committer")
}

fn consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer")
}

fn consumer_commit(consumer: &BaseConsumer, topic: &str, base: i64) {
    let mut list = TopicPartitionList::new();
    for p in 0..TOPIC_PARTITIONS {
        list.add_partition_offset(topic, p, Offset::Offset(base + p as i64)).unwrap();
    }
    consumer.commit(&list, CommitMode::Sync).expect("sync commit");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn p90(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() * 9 / 10]
}

fn format_duration(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{} ns", d.as_nanos())
    } else if d < Duration::from_millis(10) {
        format!("{:.1} µs", d.as_nanos() as f64 / 1e3)
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

/// What the Spark listener thread pays per batch: our `commit_async` versus the synchronous
/// consumer commit older listeners make on that thread.
fn caller_cost(bootstrap: &str, topic: &str) {
    let ours = committer(bootstrap, &[]);
    let calls = 20_000;
    let started = Instant::now();
    for batch in 0..calls {
        ours.commit_async("bench-caller", &offsets_json(topic, batch), "{\"batch\":1}").unwrap();
    }
    let per_call = started.elapsed() / calls as u32;
    assert!(ours.flush(Duration::from_secs(60)));

    let theirs = consumer(bootstrap, "bench-caller-consumer");
    let samples: Vec<Duration> = (0..200)
        .map(|batch| {
            let started = Instant::now();
            consumer_commit(&theirs, topic, batch);
            started.elapsed()
        })
        .collect();
    let sync = median(samples);
    println!(
        "| listener-thread cost per batch (commitAsync, mean of 20,000 calls, vs consumer commitSync, median of 200) | {} | {} | {:.0}x less |",
        format_duration(per_call),
        format_duration(sync),
        sync.as_secs_f64() / per_call.as_secs_f64()
    );
}

/// Broker round trip of one commit: AlterConsumerGroupOffsets through the engine versus a
/// consumer's synchronous OffsetCommit.
fn commit_round_trip(bootstrap: &str, topic: &str) {
    let ours = committer(bootstrap, &[]);
    let theirs = consumer(bootstrap, "bench-rtt-consumer");
    let mut ours_samples = Vec::new();
    let mut theirs_samples = Vec::new();
    for batch in 0..200 {
        // Interleaved so both see the same machine load.
        let started = Instant::now();
        let outcome = ours.commit_sync("bench-rtt", &offsets_json(topic, batch), "", Duration::from_secs(30)).unwrap();
        assert!(outcome.partitions.iter().all(|p| p.error.is_none()));
        ours_samples.push(started.elapsed());
        let started = Instant::now();
        consumer_commit(&theirs, topic, batch);
        theirs_samples.push(started.elapsed());
    }
    let (ours, theirs) = (median(ours_samples), median(theirs_samples));
    println!(
        "| commit round trip (commitSync vs consumer commitSync, median) | {} | {} | {:.2}x |",
        format_duration(ours),
        format_duration(theirs),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}

/// What running librdkafka in the helper process adds to a commit: `commit_sync` through the helper
/// versus the same AlterConsumerGroupOffsets request from librdkafka inside this process, interleaved.
/// The in-process request is waited for asleep on its result queue, as `commit_sync` waits (the
/// difference is then the helper's hop alone), and, as a lower bound no blocking client reaches,
/// by spinning on that queue (no wake-up on the way back).
/// With `BENCH_HELPER_BASELINE` naming another helper executable (e.g. a saved build of an earlier
/// version; the protocol must be the same), a second committer runs on it, interleaved with the two:
/// the helper's side of a change compared in one process, under the same load.
/// `BENCH_HELPER_SAMPLES` (300) commits each.
fn helper_added_latency(bootstrap: &str, topic: &str) {
    let samples: i64 = std::env::var("BENCH_HELPER_SAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(300);
    let mut helpers = vec![("helper", committer(bootstrap, &[("client.id", "bench-helper")]), Vec::new())];
    if let Some(baseline) = std::env::var_os("BENCH_HELPER_BASELINE") {
        kafka_offset_committer::helper::use_executable(baseline);
        let settings = [("bootstrap.servers", bootstrap), ("client.id", "bench-helper-baseline")];
        let settings: Vec<(String, String)> = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        helpers.push(("baseline helper", Committer::open(&settings).expect("committer"), Vec::new()));
    }
    let in_process = raw_admin::RawAdmin::new(bootstrap, 30_000);
    let group = std::ffi::CString::new("bench-in-process").unwrap();
    let mut in_process_samples = Vec::new();
    let mut spinning_samples = Vec::new();
    for batch in 0..samples {
        for (name, committer, durations) in &mut helpers {
            let started = Instant::now();
            let outcome = committer
                .commit_sync(&format!("bench-{name}"), &offsets_json(topic, batch), "", Duration::from_secs(30))
                .unwrap();
            assert!(outcome.partitions.iter().all(|p| p.error.is_none()));
            durations.push(started.elapsed());
        }
        let offsets: Vec<(String, i32, i64)> =
            (0..TOPIC_PARTITIONS).map(|p| (topic.to_string(), p, batch + i64::from(p))).collect();
        let started = Instant::now();
        in_process.send(&group, &offsets, 2 * batch as u64);
        let (_, answered) = in_process.poll_within(Duration::from_secs(30)).expect("answered within 30 s");
        assert!(answered);
        in_process_samples.push(started.elapsed());
        let started = Instant::now();
        in_process.send(&group, &offsets, 2 * batch as u64 + 1);
        let answered = loop {
            if let Some((_, ok)) = in_process.poll() {
                break ok;
            }
            std::thread::yield_now();
        };
        assert!(answered);
        spinning_samples.push(started.elapsed());
    }
    let spinning_p90 = p90(&mut spinning_samples);
    let spinning = median(spinning_samples);
    let in_process_p90 = p90(&mut in_process_samples);
    let in_process = median(in_process_samples);
    println!(
        "| commit round trip of librdkafka in-process, waiting asleep vs spinning on its result queue (median, p90 in brackets) | {} ({}) | {} ({}) | {:.2}x |",
        format_duration(in_process),
        format_duration(in_process_p90),
        format_duration(spinning),
        format_duration(spinning_p90),
        spinning.as_secs_f64() / in_process.as_secs_f64()
    );
    for (name, _, mut durations) in helpers {
        let helper_p90 = p90(&mut durations);
        let helper = median(durations);
        println!(
            "| commit round trip through the {name} process vs librdkafka in-process waiting asleep (median, p90 in brackets; difference = added per commit: {}) | {} ({}) | {} ({}) | {:.2}x |",
            format_duration(helper.saturating_sub(in_process)),
            format_duration(helper),
            format_duration(helper_p90),
            format_duration(in_process),
            format_duration(in_process_p90),
            in_process.as_secs_f64() / helper.as_secs_f64()
        );
    }
}

/// Native threads for many groups: one shared client versus one consumer per group.
fn threads_per_group(bootstrap: &str, topic: &str) {
    let groups = 100;
    let before = common::thread_count();
    let ours = committer(bootstrap, &[("client.id", "bench-threads")]);
    for group in 0..groups {
        ours.commit_async(&format!("bench-threads-{group}"), &offsets_json(topic, group), "").unwrap();
    }
    assert!(ours.flush(Duration::from_secs(120)));
    // Ours: the threads added to this process plus every thread of the helper process (librdkafka's).
    let ours_threads = common::thread_count() - before + common::process_thread_count(common::helper_pid(&ours));
    drop(ours);

    let before = common::thread_count();
    let consumers: Vec<BaseConsumer> = (0..groups)
        .map(|group| {
            let consumer = consumer(bootstrap, &format!("bench-threads-consumer-{group}"));
            consumer_commit(&consumer, topic, group);
            consumer
        })
        .collect();
    let theirs_threads = common::thread_count() - before;
    drop(consumers);
    println!(
        "| native threads for {groups} groups (shared client vs consumer per group) | {ours_threads} | {theirs_threads} | {:.0}x fewer |",
        theirs_threads as f64 / ours_threads.max(1) as f64
    );
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Memory while Kafka is unreachable: 1,000,000 submissions over 100 groups coalesce into one
/// pending offset per partition, versus keeping every submission (what an unbounded queue does).
fn memory_while_kafka_is_down() {
    let unreachable = committer("127.0.0.1:1", &[(engine_keys::REQUEST_TIMEOUT, "60000")]);
    let submissions = 1_000_000i64;
    let warm = resident_kib();
    let mut kept_bytes = 0usize;
    for batch in 0..submissions {
        let json = offsets_json("down", batch);
        kept_bytes += json.len();
        unreachable.commit_async(&format!("down-{}", batch % 100), &json, "{\"batch\":1}").unwrap();
    }
    let grown = resident_kib().saturating_sub(warm);
    let kept_kib = kept_bytes / 1024;
    let ratio = if grown == 0 {
        "no measurable growth".to_string()
    } else {
        format!("{:.0}x less", kept_kib as f64 / grown as f64)
    };
    println!(
        "| resident memory growth over 1,000,000 commits to 100 groups with Kafka down (coalesced vs every batch kept) | {grown} KiB | {kept_kib} KiB | {ratio} |"
    );
    drop(unreachable);
}

/// The serde visitor parser versus the hand-written parser it replaced (kept in
/// `baseline_offsets_parser.rs`), 5,000 partitions, interleaved so both see the same load.
fn parser_speed() {
    let partitions: Vec<String> = (0..5000).map(|p| format!("\"{p}\":{}", 1_000_000 + p)).collect();
    let json = format!("{{\"wide\":{{{}}}}}", partitions.join(","));
    let ours_parsed = offsets::parse_end_offsets(&json).unwrap();
    let baseline_parsed = baseline_offsets_parser::parse_end_offsets(&json).unwrap();
    assert_eq!(ours_parsed.len(), baseline_parsed.len());
    assert!(ours_parsed
        .iter()
        .zip(&baseline_parsed)
        .all(|(a, b)| { (&a.topic, a.partition, a.offset) == (&b.topic, b.partition, b.offset) }));
    let rounds = 200;
    let mut ours = Vec::new();
    let mut baseline = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        black_box(offsets::parse_end_offsets(black_box(&json)).unwrap());
        ours.push(started.elapsed());
        let started = Instant::now();
        black_box(baseline_offsets_parser::parse_end_offsets(black_box(&json)).unwrap());
        baseline.push(started.elapsed());
    }
    let (ours, baseline) = (median(ours), median(baseline));
    println!(
        "| parse 5,000-partition end offsets: serde visitor vs hand-written parser | {} | {} | {:.2}x |",
        format_duration(ours),
        format_duration(baseline),
        baseline.as_secs_f64() / ours.as_secs_f64()
    );
}
