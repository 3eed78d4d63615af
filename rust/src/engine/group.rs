//! One consumer group's commit state machine. Pure: every call takes the time (and the jitter)
//! from the caller, so cool-down, retries, watchdog, keep-alive and settling are unit-tested
//! without a broker or a sleep.
//!
//! Per group at most one request is in flight and at most one pending offset per partition is
//! kept (latest wins), so memory stays bounded however long Kafka is away, and an older batch
//! can never be committed after a newer one.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use crate::commit::{CommitResponse, KafkaFailure};
use crate::config::EngineSettings;
use crate::logging::Level;
use crate::offsets::PartitionOffset;

pub type TopicPartition = (String, i32);

/// A request older than its own timeout plus this margin is given up even if librdkafka never
/// answers, so no commit can hang forever.
pub const WATCHDOG_MARGIN: Duration = Duration::from_secs(10);
/// A group's failures are logged at most this often, whatever their kind (a broker that goes away
/// answers with transport failures, then time-outs, then the retries run out): the status always
/// has the latest.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// One partition's outcome of a commit attempt, as reported to `commit_sync` callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// `None` when committed; else the Kafka error's name and message.
    pub error: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct ErrorRecord {
    pub failure: KafkaFailure,
    pub retriable: bool,
    pub at_epoch_ms: u64,
    pub context: String,
}

#[derive(Debug)]
struct InFlight {
    request_id: u64,
    offsets: BTreeMap<TopicPartition, i64>,
    metadata: String,
    sent_at: Instant,
    covers_seq: u64,
    pending_since: Instant,
}

/// What to send for a group: its offsets and the metadata stored with them.
#[derive(Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub offsets: Vec<(String, i32, i64)>,
    pub metadata: String,
}

/// The clock readings a completion needs.
#[derive(Clone, Copy, Debug)]
pub struct Moment {
    pub now: Instant,
    pub epoch_ms: u64,
    /// A fraction in [0, 1) that spreads retries of many groups apart.
    pub jitter: f64,
}

#[derive(Debug, Default)]
pub struct Group {
    pub(super) pending: BTreeMap<TopicPartition, i64>,
    pending_metadata: String,
    pending_since: Option<Instant>,
    in_flight: Option<InFlight>,
    pub(super) committed: BTreeMap<TopicPartition, i64>,
    pub(super) committed_metadata: String,
    pub(super) last_success: Option<(Instant, u64)>,
    pub(super) last_latency: Option<Duration>,
    last_results: BTreeMap<TopicPartition, PartitionResult>,
    pub(super) last_error: Option<ErrorRecord>,
    pub(super) last_attempt_failed: bool,
    /// Backoff after a failure that retrying can fix.
    retry_at: Option<Instant>,
    /// Cool-down after a failure that retrying cannot fix (or after the retries ran out).
    parked_until: Option<Instant>,
    /// Parked because retriable failures outlasted the attempts (Kafka away), not for a refusal:
    /// the cluster's recovery wakes it early.
    parked_after_retries: bool,
    /// Failed attempts in the current failure episode.
    failed_attempts: u32,
    submitted_seq: u64,
    completed_seq: u64,
    pub(super) succeeded: u64,
    pub(super) failed: u64,
    last_failure_logged: Option<Instant>,
    owners: usize,
}

impl Group {
    /// Merges a batch's offsets (latest per partition wins); returns its sequence number.
    pub fn submit(&mut self, offsets: Vec<PartitionOffset>, metadata: &str, now: Instant) -> u64 {
        for offset in offsets {
            self.pending.insert((offset.topic, offset.partition), offset.offset);
        }
        self.pending_metadata = metadata.to_string();
        self.pending_since.get_or_insert(now);
        self.submitted_seq += 1;
        self.submitted_seq
    }

    pub fn acquire(&mut self) {
        self.owners += 1;
    }

    /// Drops one owner; true when none is left, so the group's state can go.
    pub fn release(&mut self) -> bool {
        self.owners = self.owners.saturating_sub(1);
        self.owners == 0
    }

    /// Starts a request as `request_id` if one is due: offsets that differ from what Kafka has, or
    /// a keep-alive of unchanged offsets. Settles submissions that need no request.
    pub fn start_request(&mut self, request_id: u64, now: Instant, settings: &EngineSettings) -> Option<Outgoing> {
        if self.in_flight.is_some() || self.waiting(now) {
            return None;
        }
        if self.keepalive_due(now, settings) {
            // Member-less groups lose their offsets after the broker's retention: re-commit.
            for (tp, offset) in &self.committed {
                self.pending.entry(tp.clone()).or_insert(*offset);
            }
            if self.pending_metadata.is_empty() {
                self.pending_metadata = self.committed_metadata.clone();
            }
        } else {
            let committed = &self.committed;
            self.pending.retain(|tp, offset| committed.get(tp) != Some(offset));
        }
        if self.pending.is_empty() {
            // Everything submitted equals what Kafka already has.
            self.completed_seq = self.submitted_seq;
            self.pending_since = None;
            return None;
        }
        let offsets = std::mem::take(&mut self.pending);
        let outgoing = Outgoing {
            offsets: offsets.iter().map(|((t, p), o)| (t.clone(), *p, *o)).collect(),
            metadata: self.pending_metadata.clone(),
        };
        self.in_flight = Some(InFlight {
            request_id,
            offsets,
            metadata: self.pending_metadata.clone(),
            sent_at: now,
            covers_seq: self.submitted_seq,
            pending_since: self.pending_since.take().unwrap_or(now),
        });
        Some(outgoing)
    }

    /// When this group next needs the worker: its watchdog, retry, cool-down end or keep-alive.
    pub fn next_due(&self, settings: &EngineSettings) -> Option<Instant> {
        if let Some(in_flight) = &self.in_flight {
            return Some(in_flight.sent_at + settings.request_timeout + WATCHDOG_MARGIN);
        }
        if !self.pending.is_empty() {
            return Some(self.parked_until.or(self.retry_at).unwrap_or_else(Instant::now));
        }
        self.last_success.map(|(at, _)| at + settings.keepalive_interval)
    }

    /// The in-flight request, if librdkafka left it unanswered past its deadline plus a margin.
    pub fn overdue_request(&self, now: Instant, settings: &EngineSettings) -> Option<u64> {
        self.in_flight
            .as_ref()
            .filter(|f| now.saturating_duration_since(f.sent_at) > settings.request_timeout + WATCHDOG_MARGIN)
            .map(|f| f.request_id)
    }

    pub fn is_waiting_for(&self, request_id: u64) -> bool {
        self.in_flight.as_ref().is_some_and(|f| f.request_id == request_id)
    }

    /// Records the answer to the in-flight request: committed partitions advance, failed ones go
    /// back to pending (unless a newer offset arrived meanwhile, or retrying cannot help that
    /// partition), and the next attempt is scheduled. Returns a log line, rate-limited.
    pub fn complete(
        &mut self,
        name: &str,
        response: &CommitResponse,
        at: Moment,
        settings: &EngineSettings,
    ) -> Option<(Level, String)> {
        let in_flight = self.in_flight.take_if(|f| f.request_id == response.request_id)?;
        let answered: HashMap<(&str, i32), &crate::commit::PartitionResponse> =
            response.partitions.iter().map(|p| ((p.topic.as_str(), p.partition), p)).collect();
        let request_failure =
            response.request_failure.clone().map(|f| explain_failure(f, response.client_error.as_ref()));

        let mut first_retriable: Option<(KafkaFailure, String)> = None;
        let mut first_permanent_partition: Option<(KafkaFailure, String)> = None;
        let mut any_committed = false;
        self.last_results.clear();
        for (tp, offset) in &in_flight.offsets {
            let failure = match (&request_failure, answered.get(&(tp.0.as_str(), tp.1))) {
                (Some(failure), _) => Some(failure.clone()),
                (None, Some(p)) => p.failure.clone(),
                (None, None) => Some(KafkaFailure::new(
                    RDKafkaErrorCode::UnknownTopicOrPartition,
                    "the broker's answer did not mention this partition",
                )),
            };
            let context = format!(" (group `{name}`, partition {}-{})", tp.0, tp.1);
            match &failure {
                None => {
                    self.committed.insert(tp.clone(), *offset);
                    any_committed = true;
                }
                // A partition-level refusal (deleted topic, denied topic) cannot heal by retrying:
                // the partition waits for its next offset instead of holding the group back.
                Some(f) if request_failure.is_none() && f.is_partition_specific() => {
                    first_permanent_partition.get_or_insert((f.clone(), context));
                }
                Some(f) => {
                    self.pending.entry(tp.clone()).or_insert(*offset);
                    first_retriable.get_or_insert((f.clone(), context));
                }
            }
            self.last_results.insert(
                tp.clone(),
                PartitionResult {
                    topic: tp.0.clone(),
                    partition: tp.1,
                    offset: *offset,
                    error: failure.map(|f| (f.kind(), f.message)),
                },
            );
        }
        self.completed_seq = self.completed_seq.max(in_flight.covers_seq);
        if any_committed {
            self.committed_metadata = in_flight.metadata.clone();
            self.last_success = Some((at.now, at.epoch_ms));
            self.last_latency = Some(at.now.saturating_duration_since(in_flight.pending_since));
        }
        match first_retriable.or(first_permanent_partition.clone()) {
            None => {
                self.succeeded += 1;
                self.last_attempt_failed = false;
                self.failed_attempts = 0;
                self.retry_at = None;
                self.parked_until = None;
                self.parked_after_retries = false;
                None
            }
            Some((failure, context)) => {
                self.failed += 1;
                self.last_attempt_failed = true;
                let delay = if failure.is_partition_specific() {
                    // Only partitions were refused; the rest of the group goes on.
                    self.failed_attempts = 0;
                    self.retry_at = None;
                    self.parked_until = None;
                    self.parked_after_retries = false;
                    None
                } else {
                    self.pending_since.get_or_insert(in_flight.pending_since);
                    if self.pending_metadata.is_empty() {
                        self.pending_metadata = in_flight.metadata;
                    }
                    self.failed_attempts += 1;
                    if failure.is_retriable() && self.failed_attempts < settings.retry_max_attempts {
                        let delay = backoff(settings, self.failed_attempts, at.jitter);
                        self.retry_at = Some(at.now + delay);
                        Some(delay)
                    } else {
                        // Permanent (or persistent) failure: keep the offsets, report, and try again
                        // only after the cool-down, so a denied group is never hammered.
                        self.failed_attempts = 0;
                        self.retry_at = None;
                        self.parked_until = Some(at.now + settings.failure_cooldown);
                        self.parked_after_retries = failure.is_retriable();
                        Some(settings.failure_cooldown)
                    }
                };
                let retriable = self.retry_at.is_some();
                let line = self.failure_log_line(name, &failure, &context, retriable, delay, at.now);
                self.last_error = Some(ErrorRecord { failure, retriable, at_epoch_ms: at.epoch_ms, context });
                line
            }
        }
    }

    /// Kafka answers again (another group's commit went through): a group waiting out a backoff,
    /// or parked because its retries ran out while Kafka was away, tries again at once instead of
    /// leaving the group behind for up to a cool-down.
    pub fn retry_now(&mut self) {
        self.retry_at = None;
        if self.parked_after_retries {
            self.parked_until = None;
            self.parked_after_retries = false;
        }
    }

    /// Whether the group is parked only because Kafka did not answer (see [`Group::retry_now`]).
    pub fn parked_after_retries(&self) -> bool {
        self.parked_after_retries
    }

    /// Whether the last answer committed something.
    pub fn last_attempt_succeeded(&self) -> bool {
        !self.last_attempt_failed
    }

    /// Whether everything submitted up to `target` has been attempted and nothing more will happen
    /// soon: committed, or parked in a cool-down after a failure that retrying cannot fix.
    pub fn settled(&self, target: u64) -> bool {
        self.in_flight.is_none()
            && (self.parked_until.is_some() || (self.pending.is_empty() && self.completed_seq >= target))
    }

    /// Whether nothing is pending or in flight.
    pub fn flushed(&self) -> bool {
        self.in_flight.is_none() && self.pending.is_empty()
    }

    pub fn submitted_seq(&self) -> u64 {
        self.submitted_seq
    }

    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// When the next attempt of pending offsets may start, if it has to wait.
    pub fn next_attempt_at(&self) -> Option<Instant> {
        self.parked_until.or(self.retry_at)
    }

    pub fn parked(&self) -> bool {
        self.parked_until.is_some()
    }

    /// The outcome of submission `seq` for the partitions asked for: each partition's last result
    /// once attempted, or the error that parks the group.
    pub fn results_for(&self, wanted: &[TopicPartition], seq: u64) -> Vec<PartitionResult> {
        let parked_error = (self.completed_seq < seq)
            .then(|| {
                self.last_error.as_ref().map(|e| (e.failure.kind(), format!("{}{}", e.failure.message, e.context)))
            })
            .flatten();
        wanted
            .iter()
            .map(|tp| match (&parked_error, self.last_results.get(tp)) {
                (Some(error), _) => PartitionResult {
                    topic: tp.0.clone(),
                    partition: tp.1,
                    offset: self.pending.get(tp).copied().unwrap_or(-1),
                    error: Some(error.clone()),
                },
                (None, Some(result)) => result.clone(),
                (None, None) => PartitionResult {
                    topic: tp.0.clone(),
                    partition: tp.1,
                    offset: self.committed.get(tp).copied().unwrap_or(-1),
                    error: None,
                },
            })
            .collect()
    }

    fn waiting(&self, now: Instant) -> bool {
        !self.pending.is_empty() && self.next_attempt_at().is_some_and(|at| at > now)
    }

    fn keepalive_due(&self, now: Instant, settings: &EngineSettings) -> bool {
        self.last_success.is_some_and(|(at, _)| at + settings.keepalive_interval <= now)
    }

    fn failure_log_line(
        &mut self,
        name: &str,
        failure: &KafkaFailure,
        context: &str,
        retriable: bool,
        delay: Option<Duration>,
        now: Instant,
    ) -> Option<(Level, String)> {
        let repeated =
            self.last_failure_logged.is_some_and(|at| now.saturating_duration_since(at) < FAILURE_LOG_INTERVAL);
        if repeated {
            return None;
        }
        self.last_failure_logged = Some(now);
        let kind = failure.kind();
        let next = match delay {
            Some(delay) if retriable => format!("retrying in {} ms", delay.as_millis()),
            Some(delay) => format!("offsets kept; next attempt in {} ms", delay.as_millis()),
            None => "the partition waits for its next offset; the group goes on".to_string(),
        };
        let level = if retriable { Level::Warn } else { Level::Error };
        Some((level, format!("commit to group `{name}` failed: {kind}: {}{context}; {next}", failure.message)))
    }
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

/// Exponential backoff with "equal jitter": half fixed, half spread by `jitter`, capped.
fn backoff(settings: &EngineSettings, failed_attempts: u32, jitter: f64) -> Duration {
    let exponential = settings
        .retry_backoff
        .saturating_mul(1u32 << failed_attempts.saturating_sub(1).min(20))
        .min(settings.retry_backoff_max);
    let half = exponential / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
