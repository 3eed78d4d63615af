//! The commit engine: one helper process and one worker thread per cluster, shared by every
//! committer and group on that cluster.
//!
//! Callers only merge offsets into per-group state under a mutex and wake the worker, so a
//! submission never waits on the network or on the helper.

mod cluster;
pub(crate) mod executor;
mod group;
pub mod jvm_executor;
mod status;
mod worker;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use once_cell::sync::{Lazy, OnceCell};

use self::cluster::{lock, Cluster};
pub use self::group::PartitionResult;
use self::group::TopicPartition;
use self::jvm_executor::JvmChannel;
pub use self::status::{CommitOutcome, GroupStatus, LastCommit, LastError, Status};
use crate::config;
use crate::error::CommitterError;
pub use crate::helper::protocol::OAuthToken;
use crate::helper::protocol::{self, Fault, OAuthLogin};
pub use crate::helper::supervisor::{HelperExit, HelperStatus};
use crate::offsets::{self, EndOffsets, OffsetsError, PartitionOffset};

/// Clusters by identity (connection + security settings + engine settings). A cluster stays while
/// it has committers or groups with offsets to commit (a closed run's last offsets); then its
/// worker retires it and stops its helper, and the next `open` removes it from here. A slot is
/// filled outside the registry's lock: a slow helper start delays only the callers that wait for
/// the same cluster.
static CLUSTERS: Lazy<Mutex<HashMap<String, Arc<ClusterSlot>>>> = Lazy::new(|| Mutex::new(HashMap::new()));
/// Set by [`shut_down_all`] (the JVM exits): no new cluster may start a helper after it.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

type ClusterSlot = OnceCell<Arc<Cluster>>;

/// A handle on a shared cluster, owning the groups it committed to: its `flush` and `status`
/// speak of those only. When the last owner of a group closes, the group's state goes once its
/// offsets are committed (no keep-alive ever re-creates a group nobody commits to).
pub struct Committer {
    cluster: Arc<Cluster>,
    groups: Mutex<BTreeSet<String>>,
}

impl Committer {
    /// Creates a committer from Java-client-style Kafka settings. Invalid settings fail here,
    /// never at commit time.
    pub fn open(java_settings: &[(String, String)]) -> Result<Committer, CommitterError> {
        let translated = config::translate(java_settings)?;
        if SHUT_DOWN.load(Ordering::SeqCst) {
            return Err(CommitterError::Closed);
        }
        let identity =
            format!("{}|{:?}|{:?}", translated.client.cluster_key(), translated.engine, translated.executor.executor);
        let cluster = loop {
            let (slot, retired) = {
                let mut clusters = lock(&CLUSTERS);
                let retired_keys: Vec<String> = clusters
                    .iter()
                    .filter(|(_, slot)| slot.get().is_some_and(|cluster| cluster.retired()))
                    .map(|(key, _)| key.clone())
                    .collect();
                let retired: Vec<Arc<ClusterSlot>> =
                    retired_keys.iter().filter_map(|key| clusters.remove(key)).collect();
                (clusters.entry(identity.clone()).or_default().clone(), retired)
            };
            // Outside the lock: dropping a retired cluster joins its worker.
            drop(retired);
            let mut opened_here = false;
            let cluster = match slot.get_or_try_init(|| {
                opened_here = true;
                Cluster::open(&translated)
            }) {
                Ok(cluster) => cluster,
                Err(error) => {
                    lock(&CLUSTERS).retain(|_, other| !Arc::ptr_eq(other, &slot) || other.get().is_some());
                    return Err(error);
                }
            };
            // A cluster this call opened counts it in already (`Cluster::open`).
            if opened_here || cluster.add_committer() {
                break cluster.clone();
            }
            // Retired between the look-up and now: the next round removes its slot and opens anew.
        };
        let committer = Committer { cluster, groups: Mutex::new(BTreeSet::new()) };
        if SHUT_DOWN.load(Ordering::SeqCst) {
            // Opened while the JVM exits: the final flush may have missed it, so it takes nothing.
            return Err(CommitterError::Closed);
        }
        Ok(committer)
    }

    /// Queues offsets for `group` (Spark's end-offset JSON, or typed [`PartitionOffset`]s, held to
    /// the same rules); returns without touching the network.
    pub fn commit_async<O>(&self, group: &str, offsets: O, metadata: &str) -> Result<(), CommitterError>
    where
        O: TryInto<EndOffsets, Error = OffsetsError>,
    {
        self.submit(group, offsets.try_into()?.into_vec(), metadata).map(|_| ())
    }

    /// Queues offsets and waits until they have been attempted, returning each partition's result;
    /// a group parked after a permanent failure answers at once with that failure.
    pub fn commit_sync<O>(
        &self,
        group: &str,
        offsets: O,
        metadata: &str,
        timeout: Duration,
    ) -> Result<CommitOutcome, CommitterError>
    where
        O: TryInto<EndOffsets, Error = OffsetsError>,
    {
        self.submit_and_wait(group, offsets.try_into()?.into_vec(), metadata, timeout)
    }

    fn submit_and_wait(
        &self,
        group: &str,
        offsets: Vec<PartitionOffset>,
        metadata: &str,
        timeout: Duration,
    ) -> Result<CommitOutcome, CommitterError> {
        let wanted: Vec<TopicPartition> = offsets.iter().map(|o| (Arc::from(o.topic.as_str()), o.partition)).collect();
        let seq = self.submit(group, offsets, metadata)?;
        let shared = &self.cluster.shared;
        let state = lock(&shared.state);
        let (state, timed_out) = shared
            .progressed
            .wait_timeout_while(state, timeout, |s| {
                !s.stopping && s.groups.get(group).is_some_and(|g| !g.settled(seq, s.exiting))
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.stopping {
            return Err(CommitterError::Closed);
        }
        if timed_out.timed_out() {
            return Err(CommitterError::Timeout(format!(
                "the commit for group `{group}` was not answered within {} ms; it stays queued",
                timeout.as_millis()
            )));
        }
        let partitions = state.groups.get(group).map(|g| g.results_for(&wanted, seq)).unwrap_or_default();
        Ok(CommitOutcome { partitions })
    }

    fn submit(&self, group: &str, offsets: Vec<PartitionOffset>, metadata: &str) -> Result<u64, CommitterError> {
        if group.trim().is_empty() {
            return Err(CommitterError::InvalidArgument("the group id is empty".into()));
        }
        offsets::validate_metadata(metadata)?;
        if !protocol::commit_fits(offsets.iter().map(|o| o.topic.as_str())) {
            return Err(CommitterError::InvalidArgument(format!(
                "a commit of {} partitions is too large for one request to the commit helper; split it",
                offsets.len()
            )));
        }
        let shared = &self.cluster.shared;
        let seq = {
            let mut groups = lock(&self.groups);
            let mut state = lock(&shared.state);
            if state.stopping {
                return Err(CommitterError::Closed);
            }
            let group_state = state.groups.entry(group.to_string()).or_default();
            if groups.insert(group.to_string()) {
                group_state.acquire();
            }
            group_state.submit(offsets, metadata, Instant::now())
        };
        shared.wake.wake();
        Ok(seq)
    }

    /// Waits until everything this committer submitted has been attempted. Returns true when all
    /// of it is committed; false on timeout or when a group is parked after a permanent failure.
    pub fn flush(&self, timeout: Duration) -> bool {
        let groups: Vec<String> = lock(&self.groups).iter().cloned().collect();
        let state = self.cluster.shared.wait_until_settled(&groups, timeout);
        groups.iter().filter_map(|g| state.groups.get(g)).all(|group| group.flushed())
    }

    /// This committer's groups (last commit, last error, counters, latency) and the helper.
    pub fn status(&self) -> Status {
        let groups: Vec<String> = lock(&self.groups).iter().cloned().collect();
        let shared = &self.cluster.shared;
        let state = lock(&shared.state);
        Status::of(&shared.label, &state, &groups, Instant::now())
    }

    /// [`Committer::status`] as the JSON document of the Java API's `statusJson()`.
    pub fn status_json(&self) -> String {
        serde_json::to_string(&self.status()).expect("the status serialises (string keys, no floats)")
    }

    /// Flushes, then lets go of its groups and of the shared cluster (whose helper stops with its
    /// last committer).
    pub fn close(self, timeout: Duration) -> bool {
        self.flush(timeout)
    }

    /// Makes `token` (from the application's OAUTHBEARER login handler) the token of this committer's
    /// cluster: its helper gets it at once, and every restarted helper right after it starts. Only
    /// settings with `committer.oauthbearer.tokens.pushed=true` use it.
    pub fn set_oauth_token(&self, token: OAuthToken) -> Result<(), CommitterError> {
        if token.value.is_empty() {
            return Err(CommitterError::InvalidArgument("the OAUTHBEARER token is empty".into()));
        }
        self.set_oauth_login(OAuthLogin::Token(token))
    }

    /// The application's OAUTHBEARER login handler could not make a token: `reason` (which names
    /// no secret: the caller scrubs it, and the helper scrubs it again of the settings' secrets and
    /// the last token) is kept until the next token comes. librdkafka fails its login with it, and
    /// while no token lives commits fail at once with an authentication error that quotes it,
    /// instead of waiting for a token until they time out.
    pub fn set_oauth_token_failure(&self, reason: &str) -> Result<(), CommitterError> {
        self.set_oauth_login(OAuthLogin::Failed(oauth_failure_reason(reason)))
    }

    fn set_oauth_login(&self, login: OAuthLogin) -> Result<(), CommitterError> {
        let shared = &self.cluster.shared;
        let mut state = lock(&shared.state);
        if state.stopping {
            return Err(CommitterError::Closed);
        }
        state.oauth_login = Some(login);
        drop(state);
        shared.wake.wake();
        Ok(())
    }

    /// The JVM executor's channel, for the one caller that is to start its JVM thread: `None` when
    /// the cluster runs on the helper process or a JVM thread already serves it (see
    /// [`JvmChannel::take_service`]).
    pub fn jvm_executor(&self) -> Option<Arc<JvmChannel>> {
        self.cluster.jvm.as_ref().filter(|channel| channel.take_service()).cloned()
    }

    /// Test-only: makes this cluster's helper process crash right after its next commit reaches
    /// librdkafka, to prove that nothing but the helper dies.
    #[doc(hidden)]
    pub fn inject_helper_fault(&self, fault: Fault) {
        lock(&self.cluster.shared.state).faults.push(fault);
        self.cluster.shared.wake.wake();
    }
}

impl Drop for Committer {
    /// Lets go of its groups (the worker drops each once nobody owns it and its offsets are
    /// committed) and of the cluster (the worker retires it once no committer and no group is left).
    fn drop(&mut self) {
        let groups = std::mem::take(&mut *lock(&self.groups));
        let mut state = lock(&self.cluster.shared.state);
        for name in groups {
            if let Some(group) = state.groups.get_mut(&name) {
                group.release();
            }
        }
        state.committers = state.committers.saturating_sub(1);
        drop(state);
        self.cluster.shared.wake.wake();
    }
}

/// Shuts every cluster down: pending commits are flushed up to `timeout` (all clusters in the same
/// window), then every helper is closed. Called from the JVM's shutdown hook.
pub fn shut_down_all(timeout: Duration) {
    SHUT_DOWN.store(true, Ordering::SeqCst);
    let clusters: Vec<Arc<Cluster>> = lock(&CLUSTERS).drain().filter_map(|(_, slot)| slot.get().cloned()).collect();
    for cluster in &clusters {
        lock(&cluster.shared.state).exiting = true;
        cluster.shared.wake.wake();
    }
    let deadline = Instant::now() + timeout;
    for cluster in &clusters {
        let shared = &cluster.shared;
        let groups: Vec<String> = lock(&shared.state).groups.keys().cloned().collect();
        // Only the wait matters here: whatever is still pending is given up with the helper.
        drop(shared.wait_until_settled(&groups, deadline.saturating_duration_since(Instant::now())));
    }
    for cluster in clusters {
        cluster.shut_down();
    }
}

/// A login failure's reason is quoted in every failed commit's status: this many characters at most.
const MAX_OAUTH_FAILURE_CHARS: usize = 2000;

/// `reason` as the helper and the status carry it: one line, not empty, bounded, no NUL (which
/// librdkafka's C strings cannot hold).
fn oauth_failure_reason(reason: &str) -> String {
    let line: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_OAUTH_FAILURE_CHARS)
        .collect::<String>()
        .trim()
        .to_string();
    if line.is_empty() {
        "the login handler gave no reason".to_string()
    } else {
        line
    }
}

#[cfg(test)]
mod oauth_failure_tests {
    use super::*;

    #[test]
    fn login_failure_reasons_become_one_bounded_line() {
        assert_eq!(oauth_failure_reason("  401\0 from\nthe endpoint "), "401  from the endpoint");
        assert_eq!(oauth_failure_reason(" \n"), "the login handler gave no reason");
        assert_eq!(oauth_failure_reason(&"x".repeat(5000)).len(), MAX_OAUTH_FAILURE_CHARS);
    }
}
