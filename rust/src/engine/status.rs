//! What the engine reports to its callers: the `commit_sync` outcome and the status of a
//! committer's groups and helper. Typed values: the JNI module builds Java objects from them, and
//! `Serialize` renders the status document of `statusJson()` (field names defined here only).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::cluster::State;
use super::group::{Group, PartitionResult};
use crate::helper::supervisor::HelperStatus;

/// The outcome of `commit_sync`: one result per partition asked for.
#[derive(Clone, Debug)]
pub struct CommitOutcome {
    pub partitions: Vec<PartitionResult>,
}

/// A committer's view of its cluster: its groups, and the helper process serving them.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub version: &'static str,
    pub cluster: String,
    pub helper: HelperStatus,
    pub groups: Vec<GroupStatus>,
}

/// One group's counters, pending work, last commit and last error.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    pub group: String,
    pub commits_succeeded: u64,
    pub commits_failed: u64,
    pub last_attempt_failed: bool,
    pub pending_partitions: usize,
    pub in_flight: bool,
    pub parked: bool,
    pub next_attempt_in_ms: Option<u64>,
    pub last_commit: Option<LastCommit>,
    pub last_error: Option<LastError>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastCommit {
    pub metadata: String,
    /// Topic, then partition, then offset: `{"topic":{"0":42}}` in the JSON document.
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    pub at_epoch_ms: u64,
    pub latency_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    /// Kafka's error name, e.g. `GroupAuthorizationFailed`.
    pub kind: String,
    pub message: String,
    pub retriable: bool,
    pub at_epoch_ms: u64,
}

impl Status {
    pub(super) fn of(label: &str, state: &State, groups: &[String], now: Instant) -> Status {
        Status {
            version: crate::VERSION,
            cluster: label.to_string(),
            helper: state.helper.clone(),
            groups: groups
                .iter()
                .filter_map(|name| state.groups.get(name).map(|group| GroupStatus::of(name, group, now)))
                .collect(),
        }
    }
}

impl GroupStatus {
    fn of(name: &str, group: &Group, now: Instant) -> GroupStatus {
        let last_commit = group.last_success.map(|(_, at_epoch_ms)| {
            let mut offsets: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
            for ((topic, partition), offset) in &group.committed {
                offsets.entry(topic.to_string()).or_default().insert(*partition, *offset);
            }
            LastCommit {
                metadata: group.committed_metadata.clone(),
                offsets,
                at_epoch_ms,
                latency_ms: group.last_latency.map(|latency| latency.as_millis() as u64),
            }
        });
        let last_error = group.last_error.as_ref().map(|error| LastError {
            kind: error.failure.kind(),
            message: format!("{}{}", error.failure.message, error.context),
            retriable: error.retriable,
            at_epoch_ms: error.at_epoch_ms,
        });
        GroupStatus {
            group: name.to_string(),
            commits_succeeded: group.succeeded,
            commits_failed: group.failed,
            last_attempt_failed: group.last_attempt_failed,
            pending_partitions: group.pending.len(),
            in_flight: group.in_flight(),
            parked: group.parked(),
            next_attempt_in_ms: group.next_attempt_at().map(|at| at.saturating_duration_since(now).as_millis() as u64),
            last_commit,
            last_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::helper::supervisor::HelperExit;

    /// `statusJson()` users read these names; the typed status must render them unchanged.
    #[test]
    fn the_status_document_keeps_its_field_names() {
        let status = Status {
            version: "0.1.0",
            cluster: "b:9092".into(),
            helper: HelperStatus {
                pid: None,
                restarts: 1,
                last_exit: Some(HelperExit { description: "killed by SIGKILL".into(), at_epoch_ms: 5 }),
            },
            groups: vec![GroupStatus {
                group: "g".into(),
                commits_succeeded: 2,
                commits_failed: 1,
                last_attempt_failed: true,
                pending_partitions: 1,
                in_flight: false,
                parked: true,
                next_attempt_in_ms: Some(900),
                last_commit: Some(LastCommit {
                    metadata: "m".into(),
                    offsets: BTreeMap::from([("t".to_string(), BTreeMap::from([(0, 42), (10, 7)]))]),
                    at_epoch_ms: 3,
                    latency_ms: None,
                }),
                last_error: Some(LastError {
                    kind: "GroupAuthorizationFailed".into(),
                    message: "denied".into(),
                    retriable: false,
                    at_epoch_ms: 4,
                }),
            }],
        };
        let document: serde_json::Value = serde_json::to_value(&status).unwrap();
        assert_eq!(
            document,
            json!({
                "version": "0.1.0",
                "cluster": "b:9092",
                "helper": {"pid": null, "restarts": 1, "lastExit": {"description": "killed by SIGKILL", "atEpochMs": 5}},
                "groups": [{
                    "group": "g",
                    "commitsSucceeded": 2,
                    "commitsFailed": 1,
                    "lastAttemptFailed": true,
                    "pendingPartitions": 1,
                    "inFlight": false,
                    "parked": true,
                    "nextAttemptInMs": 900,
                    "lastCommit": {"metadata": "m", "offsets": {"t": {"0": 42, "10": 7}}, "atEpochMs": 3, "latencyMs": null},
                    "lastError": {"kind": "GroupAuthorizationFailed", "message": "denied", "retriable": false, "atEpochMs": 4},
                }],
            })
        );
    }
}
