//! A bounded, process-wide buffer of log lines.
//!
//! Native threads (librdkafka's and the engine's) must never call into the JVM, so they only
//! append here; a JVM thread collects the lines with `drainLogs` and hands them to the JVM's
//! logging. When nobody collects, the oldest lines are dropped and counted, so memory stays flat.
//!
//! In the helper process, the records rust-rdkafka writes through the `log` crate come here too
//! ([`bridge_log_records`]); the helper forwards this buffer's lines to the JVM side.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use once_cell::sync::Lazy;

use crate::config::SecretValues;
use crate::mailbox::lock;

const CAPACITY: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

struct Buffer {
    lines: VecDeque<String>,
    dropped: u64,
}

impl Buffer {
    fn push(&mut self, line: String) {
        if self.lines.len() == CAPACITY {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    /// Every line, after one reporting how many were dropped since the last call.
    fn take(&mut self) -> Vec<String> {
        let mut lines = Vec::with_capacity(self.lines.len() + 1);
        if self.dropped > 0 {
            lines.push(format!("WARN {} log lines were dropped because nobody collected them", self.dropped));
            self.dropped = 0;
        }
        lines.extend(self.lines.drain(..));
        lines
    }
}

struct LogSink {
    buffer: Mutex<Buffer>,
    arrived: Condvar,
}

// Process-wide by necessity: librdkafka's log callback has no handle back to a committer.
static SINK: Lazy<LogSink> = Lazy::new(|| LogSink {
    buffer: Mutex::new(Buffer { lines: VecDeque::with_capacity(64), dropped: 0 }),
    arrived: Condvar::new(),
});

/// Appends one line, formatted `LEVEL message`; drops the oldest line when full.
pub fn log(level: Level, message: impl AsRef<str>) {
    lock(&SINK.buffer).push(format!("{} {}", level.label(), message.as_ref()));
    SINK.arrived.notify_one();
}

/// Takes every buffered line, waiting up to `wait` for the first one.
/// A line reporting how many lines were dropped since the last drain comes first.
pub fn drain(wait: Duration) -> Vec<String> {
    let (mut buffer, _) = SINK
        .arrived
        .wait_timeout_while(lock(&SINK.buffer), wait, |b| b.lines.is_empty() && b.dropped == 0)
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    buffer.take()
}

/// Where bridged `log` records come from: the cluster of the process's librdkafka client (a helper
/// has one) and the secrets of its settings, which no line may show.
struct RecordOrigin {
    cluster_label: String,
    secrets: SecretValues,
}

static RECORD_ORIGIN: Mutex<Option<RecordOrigin>> = Mutex::new(None);

/// Forwards the `log` crate's records into this buffer, so that rust-rdkafka's own (which it writes
/// through `log`, e.g. an event it ignored) are not lost: without a logger `log` drops every record.
/// Trace records stay off: rust-rdkafka writes one for every native object it frees.
/// For the helper process, which has no other logger; a second call changes nothing.
pub fn bridge_log_records() {
    if log::set_logger(&RecordBridge).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

/// Names the librdkafka client whose records are bridged (see [`bridge_log_records`]): its lines then
/// reach the cluster's librdkafka logger on the JVM side, with `secrets` scrubbed from them.
pub fn name_bridged_records(cluster_label: &str, secrets: SecretValues) {
    *lock(&RECORD_ORIGIN) = Some(RecordOrigin { cluster_label: cluster_label.to_string(), secrets });
}

struct RecordBridge;

impl log::Log for RecordBridge {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let (level, line) = bridged_line(record, lock(&RECORD_ORIGIN).as_ref());
            log(level, line);
        }
    }

    fn flush(&self) {}
}

/// A `log` record as a line of this buffer: from librdkafka's side of its cluster (rust-rdkafka is
/// part of the client), with the record's target (the module that wrote it).
fn bridged_line(record: &log::Record, origin: Option<&RecordOrigin>) -> (Level, String) {
    let level = match record.level() {
        log::Level::Error => Level::Error,
        log::Level::Warn => Level::Warn,
        log::Level::Info => Level::Info,
        log::Level::Debug | log::Level::Trace => Level::Debug,
    };
    let text = format!("{}: {}", record.target(), record.args());
    let line = match origin {
        Some(origin) => format!("librdkafka [{}] {}", origin.cluster_label, origin.secrets.scrub(&text)),
        None => text,
    };
    (level, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridged_records_keep_their_level_and_name_their_cluster_without_secrets() {
        let settings = [("sasl.password".to_string(), "Canary7xQz7Vw".to_string())];
        let origin = RecordOrigin { cluster_label: "b1:9092".into(), secrets: SecretValues::of(&settings) };
        let line = |level, origin| {
            bridged_line(
                &log::Record::builder()
                    .level(level)
                    .target("rdkafka::producer::base_producer")
                    .args(format_args!("Ignored event 'x' for Canary7xQz7Vw"))
                    .build(),
                origin,
            )
        };
        assert_eq!(
            line(log::Level::Warn, Some(&origin)),
            (
                Level::Warn,
                "librdkafka [b1:9092] rdkafka::producer::base_producer: Ignored event 'x' for [redacted]".to_string()
            )
        );
        assert_eq!(line(log::Level::Error, Some(&origin)).0, Level::Error);
        assert_eq!(line(log::Level::Info, Some(&origin)).0, Level::Info);
        assert_eq!(line(log::Level::Debug, Some(&origin)).0, Level::Debug);
        // Before the client exists (the helper's first moments) there is no cluster to name.
        let (_, early) = line(log::Level::Warn, None);
        assert!(early.starts_with("rdkafka::producer::base_producer: "), "{early}");
        assert!(!log::Log::enabled(&RecordBridge, &log::Metadata::builder().level(log::Level::Trace).build()));
    }

    #[test]
    fn overflow_drops_oldest_and_reports_the_count() {
        // A buffer of its own: other tests of this process log into the shared one concurrently.
        let mut buffer = Buffer { lines: VecDeque::new(), dropped: 0 };
        for i in 0..CAPACITY + 5 {
            buffer.push(format!("INFO line {i}"));
        }
        let lines = buffer.take();
        assert!(lines[0].contains("5 log lines were dropped"), "{}", lines[0]);
        assert_eq!(lines[1], "INFO line 5");
        assert_eq!(lines.len(), CAPACITY + 1);
        assert!(buffer.take().is_empty());
    }
}
