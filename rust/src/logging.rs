//! A bounded, process-wide buffer of log lines.
//!
//! Native threads (librdkafka's and the engine's) must never call into the JVM, so they only
//! append here; a JVM thread collects the lines with `drainLogs` and hands them to the JVM's
//! logging. When nobody collects, the oldest lines are dropped and counted, so memory stays flat.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use once_cell::sync::Lazy;

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

#[cfg(test)]
mod tests {
    use super::*;

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
