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
