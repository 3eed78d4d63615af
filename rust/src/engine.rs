//! The commit engine: one Kafka client and one worker thread per cluster, shared by every
//! committer and group on that cluster.
//!
//! Callers only merge offsets into per-group state under a mutex and wake the worker, so a
//! submission never waits on the network. Per group at most one request is in flight and at
//! most one pending offset per partition is kept (latest wins), so memory stays bounded however
//! long Kafka is away, and an older batch can never be committed after a newer one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use once_cell::sync::Lazy;
use serde_json::{json, Value};

use crate::admin::{AdminConnection, CommitResponse, KafkaFailure};
use crate::config::{self, EngineSettings};
use crate::error::CommitterError;
use crate::logging::{self, Level};
use crate::offsets::{self, PartitionOffset};

type TopicPartition = (String, i32);

/// A request older than its own timeout plus this margin is given up even if librdkafka never
/// answers, so no commit can hang forever.
const WATCHDOG_MARGIN: Duration = Duration::from_secs(10);
/// The worker wakes at least this often to serve librdkafka's error and log callbacks.
const CALLBACK_INTERVAL: Duration = Duration::from_millis(500);
/// Repeated identical failures of one group are logged at most this often.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Clusters by identity (connection + security settings + engine settings). Weak, so a cluster's
/// client is destroyed when its last committer is closed.
static CLUSTERS: Lazy<Mutex<HashMap<String, Weak<Cluster>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn epoch_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Wakes the worker; a wake-up that arrives while the worker is busy is kept, never lost.
#[derive(Default)]
struct Notifier {
    signalled: Mutex<bool>,
    condvar: Condvar,
}

impl Notifier {
    fn notify(&self) {
        *lock(&self.signalled) = true;
        self.condvar.notify_one();
    }

    fn wait(&self, timeout: Duration) {
        let guard = lock(&self.signalled);
        let (mut signalled, _) = self
            .condvar
            .wait_timeout_while(guard, timeout, |signalled| !*signalled)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *signalled = false;
    }
}

#[derive(Clone, Debug)]
struct ErrorRecord {
    failure: KafkaFailure,
    retriable: bool,
    at_epoch_ms: u64,
    context: String,
}

struct InFlight {
    request_id: u64,
    offsets: BTreeMap<TopicPartition, i64>,
    metadata: String,
    sent_at: Instant,
    covers_seq: u64,
    pending_since: Instant,
}

/// One partition's outcome of a commit attempt, as reported to `commit_sync` callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// `None` when committed; else the Kafka error's name and message.
    pub error: Option<(String, String)>,
}

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

#[derive(Default)]
struct GroupState {
    pending: BTreeMap<TopicPartition, i64>,
    pending_metadata: String,
    pending_since: Option<Instant>,
    in_flight: Option<InFlight>,
    committed: BTreeMap<TopicPartition, i64>,
    committed_metadata: String,
    last_success: Option<(Instant, u64)>,
    last_latency: Option<Duration>,
    last_results: BTreeMap<TopicPartition, PartitionResult>,
    last_error: Option<ErrorRecord>,
    last_attempt_failed: bool,
    in_cooldown: bool,
    next_attempt_at: Option<Instant>,
    consecutive_retries: u32,
    submitted_seq: u64,
    completed_seq: u64,
    succeeded: u64,
    failed: u64,
    last_failure_logged: Option<(String, Instant)>,
}

impl GroupState {
    /// Whether everything submitted up to `target` has been attempted and nothing more will
    /// happen soon: committed, or parked after a failure that retrying cannot fix.
    fn settled(&self, target: u64) -> bool {
        self.completed_seq >= target && self.in_flight.is_none() && (self.pending.is_empty() || self.in_cooldown)
    }
}

struct State {
    groups: HashMap<String, GroupState>,
    next_request_id: u64,
    stopping: bool,
}

struct Shared {
    label: String,
    settings: EngineSettings,
    state: Mutex<State>,
    /// Signalled whenever a group's progress changes; `flush` and `commit_sync` wait on it.
    progressed: Condvar,
    wake: Notifier,
}

impl Shared {
    /// Waits until each of `groups` has settled what was submitted to it so far (see
    /// [`GroupState::settled`]), the cluster stops, or `timeout` passes; returns the state so the
    /// caller can judge the outcome under the same lock.
    fn wait_until_settled(&self, groups: &[String], timeout: Duration) -> MutexGuard<'_, State> {
        let state = lock(&self.state);
        let targets: Vec<(&String, u64)> =
            groups.iter().filter_map(|g| state.groups.get(g).map(|s| (g, s.submitted_seq))).collect();
        let (state, _) = self
            .progressed
            .wait_timeout_while(state, timeout, |s| {
                !s.stopping && targets.iter().any(|(g, target)| !s.groups[*g].settled(*target))
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state
    }
}

/// One Kafka cluster: its client lives on the worker thread.
pub struct Cluster {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Cluster {
    fn open(settings: &config::Translated) -> Result<Arc<Cluster>, CommitterError> {
        let label = settings
            .client
            .iter()
            .find(|(key, _)| *key == "bootstrap.servers")
            .map(|(_, servers)| servers.to_string())
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            label: label.clone(),
            settings: settings.engine.clone(),
            state: Mutex::new(State { groups: HashMap::new(), next_request_id: 1, stopping: false }),
            progressed: Condvar::new(),
            wake: Notifier::default(),
        });
        let waker = Arc::downgrade(&shared);
        let connection = AdminConnection::connect(
            &settings.client,
            &label,
            Arc::new(move || {
                if let Some(shared) = waker.upgrade() {
                    shared.wake.notify();
                }
            }),
        )
        .map_err(CommitterError::Client)?;
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name(format!("kafka-offset-committer[{label}]"))
            .spawn(move || run_worker(worker_shared, connection))
            .map_err(|e| CommitterError::Client(format!("cannot start the commit thread: {e}")))?;
        for (key, reason) in &settings.dropped {
            logging::log(Level::Info, format!("[{label}] setting `{key}` is not passed to librdkafka: {reason}"));
        }
        Ok(Arc::new(Cluster { shared, worker: Mutex::new(Some(worker)) }))
    }

    /// Stops the worker and destroys the Kafka client; later submissions fail with `Closed`.
    fn shut_down(&self) {
        lock(&self.shared.state).stopping = true;
        self.shared.wake.notify();
        self.shared.progressed.notify_all();
        if let Some(worker) = lock(&self.worker).take() {
            let _ = worker.join();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A handle on a shared cluster client, remembering the groups it committed to so that its
/// `flush` and `status` speak of those only.
pub struct Committer {
    cluster: Arc<Cluster>,
    groups: Mutex<BTreeSet<String>>,
}

impl Committer {
    /// Creates a committer from Java-client-style Kafka settings. Invalid settings fail here,
    /// never at commit time.
    pub fn open(java_settings: &[(String, String)]) -> Result<Committer, CommitterError> {
        let translated = config::translate(java_settings)?;
        let identity = format!("{}|{:?}", translated.client.cluster_key(), translated.engine);
        let mut clusters = lock(&CLUSTERS);
        clusters.retain(|_, cluster| cluster.strong_count() > 0);
        let cluster = match clusters.get(&identity).and_then(Weak::upgrade) {
            Some(cluster) => cluster,
            None => {
                let cluster = Cluster::open(&translated)?;
                clusters.insert(identity, Arc::downgrade(&cluster));
                cluster
            }
        };
        Ok(Committer { cluster, groups: Mutex::new(BTreeSet::new()) })
    }

    /// Queues offsets (Spark's end-offset JSON) for `group`; returns without touching the network.
    pub fn commit_async(&self, group: &str, offsets_json: &str, metadata: &str) -> Result<(), CommitterError> {
        let offsets = offsets::parse_end_offsets(offsets_json)?;
        self.submit(group, offsets, metadata).map(|_| ())
    }

    /// Queues offsets and waits until they have been attempted, returning each partition's result.
    pub fn commit_sync(
        &self,
        group: &str,
        offsets_json: &str,
        metadata: &str,
        timeout: Duration,
    ) -> Result<CommitOutcome, CommitterError> {
        let offsets = offsets::parse_end_offsets(offsets_json)?;
        let wanted: Vec<TopicPartition> = offsets.iter().map(|o| (o.topic.clone(), o.partition)).collect();
        let seq = self.submit(group, offsets, metadata)?;
        let shared = &self.cluster.shared;
        let state = lock(&shared.state);
        let (state, timed_out) = shared
            .progressed
            .wait_timeout_while(state, timeout, |s| {
                !s.stopping && s.groups.get(group).is_some_and(|g| g.completed_seq < seq)
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
        let group_state = &state.groups[group];
        let partitions = wanted
            .into_iter()
            .map(|tp| {
                group_state.last_results.get(&tp).cloned().unwrap_or_else(|| PartitionResult {
                    offset: group_state.committed.get(&tp).copied().unwrap_or(-1),
                    topic: tp.0,
                    partition: tp.1,
                    error: None,
                })
            })
            .collect();
        Ok(CommitOutcome { partitions })
    }

    fn submit(&self, group: &str, offsets: Vec<PartitionOffset>, metadata: &str) -> Result<u64, CommitterError> {
        if group.trim().is_empty() {
            return Err(CommitterError::InvalidOffsets(offsets::OffsetsError("the group id is empty".into())));
        }
        offsets::validate_metadata(metadata)?;
        let shared = &self.cluster.shared;
        let seq = {
            let mut state = lock(&shared.state);
            if state.stopping {
                return Err(CommitterError::Closed);
            }
            let group_state = state.groups.entry(group.to_string()).or_default();
            for offset in offsets {
                group_state.pending.insert((offset.topic, offset.partition), offset.offset);
            }
            group_state.pending_metadata = metadata.to_string();
            group_state.pending_since.get_or_insert_with(Instant::now);
            group_state.submitted_seq += 1;
            group_state.submitted_seq
        };
        {
            let mut groups = lock(&self.groups);
            if !groups.contains(group) {
                groups.insert(group.to_string());
            }
        }
        shared.wake.notify();
        Ok(seq)
    }

    /// Waits until everything this committer submitted has been attempted. Returns true when all
    /// of it is committed; false on timeout or when a group is parked after a permanent failure.
    pub fn flush(&self, timeout: Duration) -> bool {
        let groups: Vec<String> = lock(&self.groups).iter().cloned().collect();
        let state = self.cluster.shared.wait_until_settled(&groups, timeout);
        groups
            .iter()
            .filter_map(|g| state.groups.get(g))
            .all(|group| group.pending.is_empty() && group.in_flight.is_none())
    }

    /// This committer's groups: last commit, last error, counters and latency, as JSON.
    pub fn status_json(&self) -> String {
        let groups: Vec<String> = lock(&self.groups).iter().cloned().collect();
        let shared = &self.cluster.shared;
        let state = lock(&shared.state);
        let now = Instant::now();
        let group_entries: Vec<Value> = groups
            .iter()
            .filter_map(|name| state.groups.get(name).map(|g| group_status(name, g, now)))
            .collect();
        json!({"version": crate::VERSION, "cluster": shared.label, "groups": group_entries}).to_string()
    }

    /// Flushes, then lets go of the shared cluster (its client closes with its last committer).
    pub fn close(self, timeout: Duration) -> bool {
        self.flush(timeout)
    }
}

fn group_status(name: &str, group: &GroupState, now: Instant) -> Value {
    let offsets_json = |offsets: &BTreeMap<TopicPartition, i64>| -> Value {
        let list: Vec<PartitionOffset> = offsets
            .iter()
            .map(|((topic, partition), offset)| PartitionOffset { topic: topic.clone(), partition: *partition, offset: *offset })
            .collect();
        serde_json::from_str(&offsets::offsets_to_json(&list)).unwrap_or(Value::Null)
    };
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
        "inFlight": group.in_flight.is_some(),
        "nextAttemptInMs": group.next_attempt_at.map(|t| t.saturating_duration_since(now).as_millis() as u64),
        "lastCommit": last_commit,
        "lastError": last_error,
    })
}

/// Shuts every cluster down: pending commits are flushed up to `timeout`, then every librdkafka
/// client is destroyed. Called from the JVM's shutdown hook, so no client outlives the JVM.
pub fn shut_down_all(timeout: Duration) {
    let clusters: Vec<Arc<Cluster>> = lock(&CLUSTERS).values().filter_map(Weak::upgrade).collect();
    let deadline = Instant::now() + timeout;
    for cluster in &clusters {
        let shared = &cluster.shared;
        let groups: Vec<String> = lock(&shared.state).groups.keys().cloned().collect();
        // Only the wait matters here: whatever is still pending is given up with the client.
        drop(shared.wait_until_settled(&groups, deadline.saturating_duration_since(Instant::now())));
    }
    for cluster in clusters {
        cluster.shut_down();
    }
}

// ---------------------------------------------------------------------------------------------
// Worker: the only thread that talks to librdkafka for a cluster.

struct OutgoingRequest {
    request_id: u64,
    group: String,
    offsets: Vec<(String, i32, i64)>,
    metadata: String,
}

fn run_worker(shared: Arc<Shared>, connection: AdminConnection) {
    loop {
        connection.serve_callbacks();
        while let Some(response) = connection.poll_response() {
            let client_error = connection
                .recent_permanent_client_error(shared.settings.request_timeout + WATCHDOG_MARGIN);
            complete_request(&shared, response, client_error);
        }
        let now = Instant::now();
        let (outgoing, next_due) = {
            let mut state = lock(&shared.state);
            if state.stopping {
                break;
            }
            expire_stuck_requests(&shared, &mut state, now);
            prepare_requests(&shared, &mut state, now)
        };
        for request in outgoing {
            let sent = connection.send_commit(
                request.request_id,
                &request.group,
                &request.offsets,
                &request.metadata,
                shared.settings.request_timeout,
            );
            if let Err(reason) = sent {
                // Only a malformed request fails here (e.g. a NUL byte): retrying cannot help.
                let failure = KafkaFailure { code: rdkafka::types::RDKafkaErrorCode::InvalidArgument, message: reason };
                complete_request(&shared, failed_response(request.request_id, failure), None);
            }
        }
        let wait = next_due.map_or(CALLBACK_INTERVAL, |due| due.saturating_duration_since(Instant::now()).min(CALLBACK_INTERVAL));
        shared.wake.wait(wait);
    }
    // Dropping the connection here, on the worker, destroys the librdkafka client outside any
    // librdkafka callback.
    drop(connection);
    shared.progressed.notify_all();
}

fn failed_response(request_id: u64, failure: KafkaFailure) -> CommitResponse {
    CommitResponse { request_id, request_failure: Some(failure), partitions: Vec::new() }
}

/// Starts a request for every group that has something due; returns them and the next time
/// something becomes due (backoff, cooldown, keep-alive or watchdog).
fn prepare_requests(shared: &Shared, state: &mut State, now: Instant) -> (Vec<OutgoingRequest>, Option<Instant>) {
    let settings = &shared.settings;
    let mut outgoing = Vec::new();
    let mut next_due: Option<Instant> = None;
    let mut consider = |at: Instant| next_due = Some(next_due.map_or(at, |due: Instant| due.min(at)));
    let mut next_request_id = state.next_request_id;
    let mut settled_any = false;
    for (name, group) in state.groups.iter_mut() {
        if let Some(in_flight) = &group.in_flight {
            consider(in_flight.sent_at + settings.request_timeout + WATCHDOG_MARGIN);
            continue;
        }
        if let Some(at) = group.next_attempt_at.filter(|at| *at > now) {
            if !group.pending.is_empty() {
                consider(at);
                continue;
            }
        }
        let keepalive_due = group.last_success.map(|(at, _)| at + settings.keepalive_interval);
        let refresh = keepalive_due.is_some_and(|due| due <= now);
        if refresh {
            // Member-less groups lose their offsets after the broker's retention: re-commit.
            for (tp, offset) in &group.committed {
                group.pending.entry(tp.clone()).or_insert(*offset);
            }
            if group.pending_metadata.is_empty() {
                group.pending_metadata = group.committed_metadata.clone();
            }
        } else {
            let committed = &group.committed;
            group.pending.retain(|tp, offset| committed.get(tp) != Some(offset));
            if let Some(due) = keepalive_due {
                consider(due);
            }
        }
        if group.pending.is_empty() {
            if group.completed_seq < group.submitted_seq {
                // Everything submitted equals what Kafka already has.
                group.completed_seq = group.submitted_seq;
                group.pending_since = None;
                group.in_cooldown = false;
                settled_any = true;
            }
            continue;
        }
        let offsets = std::mem::take(&mut group.pending);
        let request_id = next_request_id;
        next_request_id += 1;
        outgoing.push(OutgoingRequest {
            request_id,
            group: name.clone(),
            offsets: offsets.iter().map(|((t, p), o)| (t.clone(), *p, *o)).collect(),
            metadata: group.pending_metadata.clone(),
        });
        group.in_flight = Some(InFlight {
            request_id,
            offsets,
            metadata: group.pending_metadata.clone(),
            sent_at: now,
            covers_seq: group.submitted_seq,
            pending_since: group.pending_since.take().unwrap_or(now),
        });
        consider(now + settings.request_timeout + WATCHDOG_MARGIN);
    }
    state.next_request_id = next_request_id;
    if settled_any {
        shared.progressed.notify_all();
    }
    (outgoing, next_due)
}

/// Gives up requests librdkafka has not answered well past their deadline.
fn expire_stuck_requests(shared: &Shared, state: &mut State, now: Instant) {
    let limit = shared.settings.request_timeout + WATCHDOG_MARGIN;
    let stuck: Vec<u64> = state
        .groups
        .values()
        .filter_map(|g| g.in_flight.as_ref())
        .filter(|f| now.duration_since(f.sent_at) > limit)
        .map(|f| f.request_id)
        .collect();
    for request_id in stuck {
        let failure = KafkaFailure {
            code: rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            message: format!("no answer within {} ms", limit.as_millis()),
        };
        apply_response(shared, state, failed_response(request_id, failure), None);
    }
}

fn complete_request(shared: &Shared, response: CommitResponse, client_error: Option<KafkaFailure>) {
    let mut state = lock(&shared.state);
    apply_response(shared, &mut state, response, client_error);
}

/// Records a response: committed partitions advance, failed ones go back to pending unless a
/// newer offset arrived meanwhile, and the group's next attempt is scheduled.
fn apply_response(shared: &Shared, state: &mut State, response: CommitResponse, client_error: Option<KafkaFailure>) {
    let Some((name, group)) = state
        .groups
        .iter_mut()
        .find(|(_, g)| g.in_flight.as_ref().is_some_and(|f| f.request_id == response.request_id))
    else {
        return; // answered after the watchdog gave it up
    };
    let in_flight = group.in_flight.take().expect("matched on in_flight");
    let now = Instant::now();
    let answered: HashMap<TopicPartition, &crate::admin::PartitionResponse> =
        response.partitions.iter().map(|p| ((p.topic.clone(), p.partition), p)).collect();

    let mut first_failure: Option<(KafkaFailure, String)> = None;
    group.last_results.clear();
    for (tp, offset) in &in_flight.offsets {
        let failure = match (&response.request_failure, answered.get(tp)) {
            (Some(failure), _) => Some(explain_failure(failure.clone(), client_error.as_ref())),
            (None, Some(p)) => p.failure.clone(),
            (None, None) => Some(KafkaFailure {
                code: rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
                message: "the broker's answer did not mention this partition".into(),
            }),
        };
        match &failure {
            None => {
                group.committed.insert(tp.clone(), *offset);
            }
            Some(f) => {
                group.pending.entry(tp.clone()).or_insert(*offset);
                if first_failure.is_none() {
                    first_failure = Some((f.clone(), format!(" (group `{name}`, partition {}-{})", tp.0, tp.1)));
                }
            }
        }
        group.last_results.insert(
            tp.clone(),
            PartitionResult {
                topic: tp.0.clone(),
                partition: tp.1,
                offset: *offset,
                error: failure.map(|f| (f.kind(), f.message)),
            },
        );
    }
    group.completed_seq = group.completed_seq.max(in_flight.covers_seq);

    match first_failure {
        None => {
            group.succeeded += 1;
            group.committed_metadata = in_flight.metadata;
            group.last_success = Some((now, epoch_millis()));
            group.last_latency = Some(now.duration_since(in_flight.pending_since));
            group.last_attempt_failed = false;
            group.in_cooldown = false;
            group.consecutive_retries = 0;
            group.next_attempt_at = None;
        }
        Some((failure, context)) => {
            group.failed += 1;
            group.last_attempt_failed = true;
            group.pending_since.get_or_insert(in_flight.pending_since);
            if group.pending_metadata.is_empty() {
                group.pending_metadata = in_flight.metadata;
            }
            let settings = &shared.settings;
            let retriable = failure.is_retriable() && group.consecutive_retries < settings.retry_max_attempts;
            let delay = if retriable {
                group.consecutive_retries += 1;
                group.in_cooldown = false;
                backoff_with_jitter(settings.retry_backoff, settings.retry_backoff_max, group.consecutive_retries)
            } else {
                // Permanent (or persistent) failure: keep the offsets, report, and try again only
                // after the cool-down, so a denied group is never hammered.
                group.consecutive_retries = 0;
                group.in_cooldown = true;
                settings.failure_cooldown
            };
            group.next_attempt_at = Some(now + delay);
            log_failure(&shared.label, name, group, &failure, &context, retriable, delay, now);
            group.last_error =
                Some(ErrorRecord { failure, retriable, at_epoch_ms: epoch_millis(), context });
        }
    }
    shared.progressed.notify_all();
    shared.wake.notify();
}

/// A wrong password or an unreachable broker surfaces as a timed-out request; the client's last
/// global error says why, and makes the report actionable.
fn explain_failure(failure: KafkaFailure, client_error: Option<&KafkaFailure>) -> KafkaFailure {
    match client_error {
        Some(client) if failure.is_retriable() && !client.is_retriable() => KafkaFailure {
            code: client.code,
            message: format!("{} (request failed with: {})", client.message, failure.message),
        },
        _ => failure,
    }
}

#[allow(clippy::too_many_arguments)]
fn log_failure(
    cluster: &str,
    group_name: &str,
    group: &mut GroupState,
    failure: &KafkaFailure,
    context: &str,
    retriable: bool,
    delay: Duration,
    now: Instant,
) {
    let kind = failure.kind();
    let repeated = group
        .last_failure_logged
        .as_ref()
        .is_some_and(|(last_kind, at)| *last_kind == kind && now.duration_since(*at) < FAILURE_LOG_INTERVAL);
    if repeated {
        return;
    }
    group.last_failure_logged = Some((kind.clone(), now));
    let next = if retriable { "retrying" } else { "offsets kept; next attempt" };
    logging::log(
        if retriable { Level::Warn } else { Level::Error },
        format!(
            "[{cluster}] commit to group `{group_name}` failed: {kind}: {}{context}; {next} in {} ms",
            failure.message,
            delay.as_millis()
        ),
    );
}

/// Exponential backoff with "equal jitter": half fixed, half random, capped at `max`.
fn backoff_with_jitter(base: Duration, max: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20)).min(max);
    let half = exponential / 2;
    half + half.mul_f64(pseudo_random_fraction())
}

/// A fraction in [0, 1) from a per-thread xorshift; jitter needs spread, not cryptography.
fn pseudo_random_fraction() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static SEED: Cell<u64> = Cell::new(
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1,
        );
    }
    SEED.with(|seed| {
        let mut x = seed.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        seed.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 1..=12 {
            let exponential = (base * (1 << (attempt - 1))).min(max);
            let delay = backoff_with_jitter(base, max, attempt);
            assert!(delay >= exponential / 2 && delay <= exponential, "attempt {attempt}: {delay:?}");
        }
    }

    #[test]
    fn timeouts_are_explained_by_a_permanent_client_error() {
        let timeout = KafkaFailure { code: rdkafka::types::RDKafkaErrorCode::OperationTimedOut, message: "timed out".into() };
        let auth = KafkaFailure {
            code: rdkafka::types::RDKafkaErrorCode::Authentication,
            message: "SASL authentication error: Authentication failed".into(),
        };
        let explained = explain_failure(timeout.clone(), Some(&auth));
        assert_eq!(explained.code, auth.code);
        assert!(!explained.is_retriable());
        assert!(explained.message.contains("timed out"));
        assert_eq!(explain_failure(timeout.clone(), None), timeout);
    }
}
