//! The crate-wide error type. Each variant maps to one Java exception class (see `jni.rs`).

use std::fmt;

use crate::config::ConfigError;
use crate::offsets::OffsetsError;

#[derive(Debug)]
pub enum CommitterError {
    /// A Kafka setting cannot be honoured; raised when the committer is created, never at commit time.
    InvalidConfig(ConfigError),
    /// Malformed end offsets or oversized metadata handed in by the caller.
    InvalidOffsets(OffsetsError),
    /// A caller passed an unusable argument (an empty group id, a null string).
    InvalidArgument(String),
    /// The committer was closed before the call.
    Closed,
    /// A synchronous wait ran out of time; the commit itself stays queued.
    Timeout(String),
    /// librdkafka refused to create its client.
    Client(String),
}

impl fmt::Display for CommitterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitterError::InvalidConfig(e) => write!(f, "{e}"),
            CommitterError::InvalidOffsets(e) => write!(f, "{e}"),
            CommitterError::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            CommitterError::Closed => write!(f, "the offset committer is closed"),
            CommitterError::Timeout(what) => write!(f, "timed out: {what}"),
            CommitterError::Client(reason) => write!(f, "cannot create the Kafka client: {reason}"),
        }
    }
}

impl std::error::Error for CommitterError {}

impl From<ConfigError> for CommitterError {
    fn from(e: ConfigError) -> Self {
        CommitterError::InvalidConfig(e)
    }
}

impl From<OffsetsError> for CommitterError {
    fn from(e: OffsetsError) -> Self {
        CommitterError::InvalidOffsets(e)
    }
}
