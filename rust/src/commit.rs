//! One commit as it travels between the engine and the process that runs librdkafka: the request,
//! the broker's answer, and Kafka's error codes. Plain data, serialisable, so the same types serve
//! the in-process librdkafka calls and the pipe to the helper process.

use std::sync::Arc;

use rdkafka::bindings::rd_kafka_resp_err_t;
use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Kafka error code with librdkafka's explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaFailure {
    #[serde(with = "error_code")]
    pub code: RDKafkaErrorCode,
    pub message: String,
}

impl KafkaFailure {
    pub fn new(code: RDKafkaErrorCode, message: impl Into<String>) -> Self {
        KafkaFailure { code, message: message.into() }
    }

    /// Whether trying again later can succeed without anyone changing anything.
    pub fn is_retriable(&self) -> bool {
        use RDKafkaErrorCode::*;
        matches!(
            self.code,
            OperationTimedOut
                | RequestTimedOut
                | BrokerTransportFailure
                | AllBrokersDown
                | NetworkException
                | WaitingForCoordinator
                | CoordinatorLoadInProgress
                | CoordinatorNotAvailable
                | NotCoordinator
                | LeaderNotAvailable
                | NotLeaderForPartition
                | NotEnoughReplicas
                | NotEnoughReplicasAfterAppend
                | KafkaStorageError
                | RebalanceInProgress
                | ThrottlingQuotaExceeded
                | Resolve
        )
    }

    /// Whether the request may have reached the broker although no answer says so (it timed out,
    /// or its connection broke): it may still land later, after a newer commit.
    pub fn outcome_unknown(&self) -> bool {
        use RDKafkaErrorCode::*;
        matches!(self.code, OperationTimedOut | RequestTimedOut | BrokerTransportFailure | NetworkException)
    }

    /// Whether the error concerns one partition rather than the group or the request: the topic
    /// is gone or denied, or the offset is unacceptable. Retrying that partition cannot help, and
    /// the group's other partitions need not wait for it.
    pub fn is_partition_specific(&self) -> bool {
        use RDKafkaErrorCode::*;
        matches!(
            self.code,
            UnknownTopicOrPartition
                | TopicAuthorizationFailed
                | OffsetMetadataTooLarge
                | InvalidCommitOffsetSize
                | InvalidTopic
        )
    }

    /// The error's name as users find it in Kafka documentation, e.g. `GroupAuthorizationFailed`.
    pub fn kind(&self) -> String {
        format!("{:?}", self.code)
    }
}

/// Error codes cross the pipe as Kafka's numbers; an unknown number (a newer helper) stays visible.
mod error_code {
    use super::*;

    pub fn serialize<S: Serializer>(code: &RDKafkaErrorCode, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(*code as i32)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RDKafkaErrorCode, D::Error> {
        let number = i32::deserialize(deserializer)?;
        Ok(rd_kafka_resp_err_t::try_from(number).map(RDKafkaErrorCode::from).unwrap_or(RDKafkaErrorCode::Unknown))
    }
}

/// One AlterConsumerGroupOffsets request: a group's offsets and the metadata stored with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRequest {
    pub request_id: u64,
    pub group: String,
    /// A group's partitions share their topic's name (see `Group::submit`).
    pub offsets: Vec<(Arc<str>, i32, i64)>,
    pub metadata: String,
    pub timeout_ms: u64,
}

/// How a request ended without an answer: the process holding it ended first. Its outcome is
/// unknown: it may have reached the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestLoss {
    /// The process crashed (or someone else killed it) with the request in hand.
    Crash,
    /// We killed it: its requests went unanswered past their deadline, or its frames made no sense.
    Killed,
}

/// One partition's outcome inside a commit response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionResponse {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub failure: Option<KafkaFailure>,
}

/// The broker's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResponse {
    pub request_id: u64,
    /// Set when the whole request failed (timeout, coordinator lookup, group authorization).
    pub request_failure: Option<KafkaFailure>,
    pub partitions: Vec<PartitionResponse>,
    /// The client's last permanent global error (e.g. SASL authentication failed) seen while the
    /// request ran: a wrong password surfaces only there, the request itself just times out.
    pub client_error: Option<KafkaFailure>,
}

impl CommitResponse {
    /// A response for a request that never reached the broker.
    pub fn failed(request_id: u64, failure: KafkaFailure) -> Self {
        CommitResponse { request_id, request_failure: Some(failure), partitions: Vec::new(), client_error: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_cross_the_pipe_by_number() {
        let failure = KafkaFailure::new(RDKafkaErrorCode::GroupAuthorizationFailed, "denied");
        let text = serde_json::to_string(&failure).unwrap();
        assert_eq!(text, r#"{"code":30,"message":"denied"}"#);
        assert_eq!(serde_json::from_str::<KafkaFailure>(&text).unwrap(), failure);
        let unknown: KafkaFailure = serde_json::from_str(r#"{"code":99999,"message":"?"}"#).unwrap();
        assert_eq!(unknown.code, RDKafkaErrorCode::Unknown);
    }
}
