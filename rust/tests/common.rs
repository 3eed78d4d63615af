//! Helpers shared by the integration tests: a committer factory, read-back through an
//! independent consumer, status access and native thread counting.
#![allow(dead_code)] // each test binary uses a different subset

use std::time::{Duration, Instant};

use kafka_offset_committer::Committer;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

pub fn settings(bootstrap: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut settings = vec![("bootstrap.servers".to_string(), bootstrap.to_string())];
    settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    settings
}

/// Points the library at the helper executable cargo built alongside the tests.
pub fn use_built_helper() {
    kafka_offset_committer::helper::use_executable(env!("CARGO_BIN_EXE_kafka-offset-committer-helper"));
}

pub fn open(bootstrap: &str, extra: &[(&str, &str)]) -> Committer {
    use_built_helper();
    Committer::open(&settings(bootstrap, extra)).expect("committer opens")
}

/// The pid of the helper process serving a committer's cluster.
pub fn helper_pid(committer: &Committer) -> u32 {
    status(committer)["helper"]["pid"].as_u64().expect("a running helper") as u32
}

/// Threads of one process (the helper's own, not this test process's).
pub fn process_thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0)
}

/// Reads a group's committed offsets with a separate librdkafka consumer (never part of the group).
pub fn committed_offsets(
    bootstrap: &str,
    extra: &[(&str, &str)],
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<i64> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("group.id", group);
    for (key, value) in extra {
        config.set(*key, *value);
    }
    let consumer: BaseConsumer = config.create().expect("consumer");
    let mut wanted = TopicPartitionList::new();
    for partition in 0..partitions {
        wanted.add_partition(topic, partition);
    }
    let committed = consumer.committed_offsets(wanted, Duration::from_secs(30)).expect("committed offsets");
    (0..partitions)
        .map(|p| match committed.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => -1,
        })
        .collect()
}

pub fn status(committer: &Committer) -> Value {
    serde_json::from_str(&committer.status_json()).expect("status is JSON")
}

pub fn group_status(committer: &Committer, group: &str) -> Value {
    status(committer)["groups"]
        .as_array()
        .and_then(|groups| groups.iter().find(|g| g["group"] == group).cloned())
        .unwrap_or(Value::Null)
}

/// Polls `condition` until it holds or `timeout` passes; for conditions with no event to wait on.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// Threads of this process; for the benchmarks, which run alone.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

pub fn offsets_json(topic: &str, offsets: &[i64]) -> String {
    let partitions: Vec<String> = offsets.iter().enumerate().map(|(p, o)| format!("\"{p}\":{o}")).collect();
    format!("{{\"{topic}\":{{{}}}}}", partitions.join(","))
}

/// Runs a future to completion on this thread; rdkafka's admin calls return futures and the
/// tests need no async runtime beyond that.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

/// Creates a topic on a real broker through an independent admin client.
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("admin client");
    let topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = block_on(admin.create_topics([&topic], &AdminOptions::new())).expect("create topics");
    for result in results {
        result.expect("topic created");
    }
}

/// A name unique to this test run, so tests never see each other's groups or topics.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{}", nanos % 1_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// How long after a request's deadline a stale copy of it may still land: the engine's margin
/// (request timeout + 10 s) plus room for the re-commit it then sends to be answered.
pub const STALE_REQUEST_MARGIN: Duration = Duration::from_secs(15);

/// Waits, committing nothing, until no request sent before now can still land at the broker and
/// the engine's re-commit of possibly overwritten partitions has had its time.
pub fn idle_past_stale_requests(request_timeout: Duration) {
    std::thread::sleep(request_timeout + STALE_REQUEST_MARGIN);
}

/// One reading of one partition's committed offset (`None`: the group has none there).
#[derive(Clone, Debug)]
pub struct Observation {
    pub at: Duration,
    pub group: String,
    pub partition: i32,
    pub offset: Option<i64>,
}

/// A committed offset that was seen lower than it had been seen before.
#[derive(Clone, Debug)]
pub struct Decrease {
    pub group: String,
    pub partition: i32,
    pub before: i64,
    pub before_at: Duration,
    pub after: Option<i64>,
    pub after_at: Duration,
}

/// What a watcher saw: every observation, in order.
#[derive(Debug)]
pub struct Watched {
    pub observations: Vec<Observation>,
    pub rounds: u64,
}

impl Watched {
    /// Every place where a partition's committed offset went down (or vanished) between two readings.
    pub fn decreases(&self) -> Vec<Decrease> {
        let mut highest: std::collections::HashMap<(&str, i32), (i64, Duration)> = Default::default();
        let mut decreases = Vec::new();
        for seen in &self.observations {
            let key = (seen.group.as_str(), seen.partition);
            match (highest.get(&key).copied(), seen.offset) {
                (Some((before, before_at)), after) if after.is_none_or(|after| after < before) => {
                    decreases.push(Decrease {
                        group: seen.group.clone(),
                        partition: seen.partition,
                        before,
                        before_at,
                        after,
                        after_at: seen.at,
                    });
                }
                (_, Some(offset)) => {
                    highest.insert(key, (offset, seen.at));
                }
                _ => {}
            }
        }
        decreases
    }

    /// The last committed offset seen for a group's partition.
    pub fn last(&self, group: &str, partition: i32) -> Option<i64> {
        self.observations.iter().rev().find(|o| o.group == group && o.partition == partition).and_then(|o| o.offset)
    }
}

/// Polls the committed offsets of some groups on one topic every [`OffsetWatcher::PERIOD`] for as
/// long as it lives, each group through a librdkafka consumer of its own that never joins the
/// group (as [`committed_offsets`] does), and records every reading. Readings that fail (the
/// broker is away) are skipped; a partition whose offset is ever seen lower than before fails the
/// test at [`OffsetWatcher::finish`].
pub struct OffsetWatcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Watched>>,
    watched: Vec<String>,
    partitions: i32,
}

impl OffsetWatcher {
    pub const PERIOD: Duration = Duration::from_millis(150);
    /// A reading waits this long for the broker; a paused or dead broker only delays the next round.
    const READ_TIMEOUT: Duration = Duration::from_secs(1);

    pub fn start(bootstrap: &str, groups: &[String], topic: &str, partitions: i32) -> OffsetWatcher {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let consumers: Vec<(String, BaseConsumer)> = groups
            .iter()
            .map(|group| {
                let consumer: BaseConsumer = ClientConfig::new()
                    .set("bootstrap.servers", bootstrap)
                    .set("group.id", group)
                    .set("enable.auto.commit", "false")
                    .set("reconnect.backoff.max.ms", "1000")
                    .create()
                    .expect("watcher consumer");
                (group.clone(), consumer)
            })
            .collect();
        let (topic, stopping) = (topic.to_string(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("offset-watcher".into())
            .spawn(move || {
                let started = Instant::now();
                let mut watched = Watched { observations: Vec::new(), rounds: 0 };
                loop {
                    // One more round after `finish` asked, so the last state is always seen.
                    let last_round = stopping.load(Ordering::SeqCst);
                    for (group, consumer) in &consumers {
                        read_committed(consumer, group, &topic, partitions, started, &mut watched.observations);
                    }
                    watched.rounds += 1;
                    if last_round {
                        return watched;
                    }
                    std::thread::sleep(Self::PERIOD);
                }
            })
            .expect("watcher thread");
        OffsetWatcher { stop, thread: Some(thread), watched: groups.to_vec(), partitions }
    }

    /// Stops watching and fails the test if any partition's committed offset ever went down, or if
    /// a watched partition was never seen committed (a watcher that saw nothing proves nothing).
    pub fn finish(mut self) -> Watched {
        let watched = self.stop_and_collect();
        let decreases = watched.decreases();
        assert!(
            decreases.is_empty(),
            "committed offsets moved backwards ({} times over {} rounds):\n{}",
            decreases.len(),
            watched.rounds,
            decreases
                .iter()
                .map(|d| format!(
                    "  group {} partition {}: {} at {:.2?}, then {} at {:.2?}",
                    d.group,
                    d.partition,
                    d.before,
                    d.before_at,
                    d.after.map_or("no committed offset".to_string(), |o| o.to_string()),
                    d.after_at
                ))
                .collect::<Vec<_>>()
                .join("\n")
        );
        for group in &self.watched {
            for partition in 0..self.partitions {
                assert!(
                    watched.last(group, partition).is_some(),
                    "the watcher never saw a committed offset of group {group} partition {partition} in {} rounds",
                    watched.rounds
                );
            }
        }
        eprintln!(
            "[offset watcher] {} readings in {} rounds of {} group(s): never backwards",
            watched.observations.len(),
            watched.rounds,
            self.watched.len()
        );
        watched
    }

    fn stop_and_collect(&mut self) -> Watched {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.take().expect("finished once").join().expect("the watcher thread panicked")
    }
}

impl Drop for OffsetWatcher {
    /// A test that fails before `finish` still stops its watcher's thread and consumers.
    fn drop(&mut self) {
        if self.thread.is_some() {
            drop(self.stop_and_collect());
        }
    }
}

fn read_committed(
    consumer: &BaseConsumer,
    group: &str,
    topic: &str,
    partitions: i32,
    started: Instant,
    into: &mut Vec<Observation>,
) {
    let mut wanted = TopicPartitionList::new();
    for partition in 0..partitions {
        wanted.add_partition(topic, partition);
    }
    let Ok(committed) = consumer.committed_offsets(wanted, OffsetWatcher::READ_TIMEOUT) else {
        return;
    };
    let at = started.elapsed();
    for partition in 0..partitions {
        let Some(entry) = committed.find_partition(topic, partition) else { continue };
        if entry.error().is_err() {
            continue;
        }
        let offset = match entry.offset() {
            Offset::Offset(offset) => Some(offset),
            Offset::Invalid => None,
            _ => continue,
        };
        into.push(Observation { at, group: group.to_string(), partition, offset });
    }
}
