//! Native core of kafka-offset-committer: commits streaming end offsets to Kafka consumer groups.
//!
//! One module per concept: [`config`] translates Java Kafka client settings to librdkafka,
//! [`offsets`] parses Spark's end-offset JSON, [`engine`] runs the asynchronous commits, [`commit`]
//! is one commit request and its answer, [`helper`] runs librdkafka in a supervised child process,
//! `admin` holds the only raw librdkafka calls (used in that child only), [`jni`] is the JVM
//! boundary, [`logging`] buffers log lines until the JVM collects them.

mod admin;
pub mod commit;
pub mod config;
pub mod engine;
pub mod error;
pub mod helper;
pub mod jni;
pub mod logging;
pub mod offsets;

pub use engine::{CommitOutcome, Committer, PartitionResult};
pub use error::CommitterError;

/// The crate version, reported to the JVM and written into every commit's metadata.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
