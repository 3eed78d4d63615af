//! Native core of kafka-offset-committer: commits streaming end offsets to Kafka consumer groups.
//!
//! One module per concept: [`config`] translates Java Kafka client settings to librdkafka,
//! [`offsets`] parses Spark's end-offset JSON, [`engine`] runs the asynchronous commits, [`commit`]
//! is one commit request and its answer, [`helper`] runs librdkafka in a supervised child process,
//! `admin` holds the only raw librdkafka calls (used in that child only), `jni` is the JVM
//! boundary, [`logging`] buffers log lines until the JVM collects them, [`cli`] is the
//! command-line tool (`kafka-offset-committer lag|commit`).

mod admin;
pub mod cli;
pub mod commit;
pub mod config;
pub mod engine;
pub mod error;
pub mod helper;
mod jni;
pub mod logging;
mod mailbox;
pub mod offsets;

pub use engine::{CommitOutcome, Committer, PartitionResult};
pub use error::CommitterError;

/// The crate version, reported to the JVM and written into every commit's metadata.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Milliseconds since the Unix epoch, for timestamps users read (status, logs).
pub(crate) fn epoch_millis() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The message a panic was raised with, for the log line or exception that reports it.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
