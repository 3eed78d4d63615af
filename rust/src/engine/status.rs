//! The status document and the `commit_sync` outcome, as JSON for the JVM.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Value};

use super::cluster::State;
use super::group::{Group, PartitionResult, TopicPartition};
use crate::helper::supervisor::HelperStatus;

/// The outcome of `commit_sync`: one result per partition asked for.
#[derive(Clone, Debug)]
pub struct CommitOutcome {
    pub partitions: Vec<PartitionResult>,
}

impl CommitOutcome {
    pub fn to_json(&self) -> String {
        let partitions: Vec<Value> = self
            .partitions
            .iter()
            .map(|p| {
                let mut entry = json!({"topic": p.topic, "partition": p.partition, "offset": p.offset});
                if let Some((kind, message)) = &p.error {
                    entry["error"] = json!({"kind": kind, "message": message});
                }
                entry
            })
            .collect();
        json!({ "partitions": partitions }).to_string()
    }
}

/// A committer's view of its cluster: its groups, and the helper process serving them.
pub(super) fn render(label: &str, state: &State, groups: &[String], now: Instant) -> String {
    let entries: Vec<Value> =
        groups.iter().filter_map(|name| state.groups.get(name).map(|g| group_status(name, g, now))).collect();
    json!({
        "version": crate::VERSION,
        "cluster": label,
        "helper": helper_status(&state.helper),
        "groups": entries,
    })
    .to_string()
}

fn helper_status(helper: &HelperStatus) -> Value {
    json!({
        "pid": helper.pid,
        "restarts": helper.restarts,
        "lastExit": helper.last_exit.as_ref().map(|(how, at)| json!({"description": how, "atEpochMs": at})),
    })
}

fn offsets_json(offsets: &BTreeMap<TopicPartition, i64>) -> Value {
    let mut topics = serde_json::Map::new();
    for ((topic, partition), offset) in offsets {
        let partitions = topics.entry(topic.clone()).or_insert_with(|| json!({}));
        partitions[partition.to_string()] = json!(offset);
    }
    Value::Object(topics)
}

fn group_status(name: &str, group: &Group, now: Instant) -> Value {
    let last_commit = group.last_success.map(|(_, at_epoch_ms)| {
        json!({
            "metadata": group.committed_metadata,
            "offsets": offsets_json(&group.committed),
            "atEpochMs": at_epoch_ms,
            "latencyMs": group.last_latency.map(|l| l.as_millis() as u64),
        })
    });
    let last_error = group.last_error.as_ref().map(|e| {
        json!({
            "kind": e.failure.kind(),
            "message": format!("{}{}", e.failure.message, e.context),
            "retriable": e.retriable,
            "atEpochMs": e.at_epoch_ms,
        })
    });
    json!({
        "group": name,
        "commitsSucceeded": group.succeeded,
        "commitsFailed": group.failed,
        "lastAttemptFailed": group.last_attempt_failed,
        "pendingPartitions": group.pending.len(),
        "inFlight": group.in_flight(),
        "parked": group.parked(),
        "nextAttemptInMs": group.next_attempt_at().map(|t| t.saturating_duration_since(now).as_millis() as u64),
        "lastCommit": last_commit,
        "lastError": last_error,
    })
}
