//! One consumer group's commit state machine. Pure: every call takes the time (and the jitter)
//! from the caller, so cool-down, retries, watchdog, keep-alive, the re-commit of unconfirmed
//! partitions and settling are unit-tested without a broker or a sleep.
//!
//! The group owns its one request: at most one is in flight, it ends only with an answer or with
//! the loss of the helper that held it, and a lost request's offsets go back to pending (latest
//! wins), so an older batch is never sent after a newer one. At most one pending offset per
//! partition is kept, so memory stays bounded however long Kafka is away.
//!
//! An outcome that is not a definite answer (a timeout, a transport failure, the helper's death)
//! leaves the broker's state unknown: the request may still land later. Its partitions become
//! *unconfirmed*: they are never skipped as unchanged, and once a stale request can no longer land
//! (request timeout plus [`WATCHDOG_MARGIN`] after the outcome) their latest offsets are committed
//! once more, so a stale commit that landed late is overwritten instead of staying hidden.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use crate::commit::{CommitResponse, KafkaFailure, RequestLoss};
use crate::config::EngineSettings;
use crate::logging::Level;
use crate::offsets::PartitionOffset;

pub type TopicPartition = (Arc<str>, i32);

/// A request older than its own timeout plus this margin is given up even if librdkafka never
/// answers, so no commit can hang forever; a request whose outcome is unknown is assumed unable
/// to land once this margin has passed after its timeout.
pub const WATCHDOG_MARGIN: Duration = Duration::from_secs(10);
/// A group's failures are logged at most this often, whatever their kind (a broker that goes away
/// answers with transport failures, then time-outs, then the retries run out): the status always
/// has the latest.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Helper crashes with the same group's request in hand after which that request is refused.
const CRASHES_BEFORE_REFUSAL: u32 = 2;

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

/// Why a group waits out a cool-down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParkCause {
    /// Retriable failures outlasted the attempts (Kafka away): the cluster's recovery, or the
    /// JVM's exit, wakes it early.
    RetriesRanOut,
    /// A failure retrying cannot fix (a denied group, a request that crashes the helper).
    Refused,
}

/// Where the group's one request stands. Pending offsets may exist in every phase.
#[derive(Debug, Default)]
enum Phase {
    /// Nothing in flight and nothing to wait for.
    #[default]
    Idle,
    InFlight(InFlight),
    /// Backoff after a failure that retrying can fix.
    Backoff {
        until: Instant,
    },
    /// Cool-down after a failure that retrying cannot fix, or after the retries ran out.
    Parked {
        until: Instant,
        cause: ParkCause,
    },
}

/// What to send for a group: its offsets and the metadata stored with them.
#[derive(Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub offsets: Vec<(Arc<str>, i32, i64)>,
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
    phase: Phase,
    pub(super) pending: BTreeMap<TopicPartition, i64>,
    pending_metadata: String,
    pending_since: Option<Instant>,
    /// Partitions whose last outcome was unknown, and from when a request can confirm them.
    unconfirmed: BTreeMap<TopicPartition, Instant>,
    pub(super) committed: BTreeMap<TopicPartition, i64>,
    pub(super) committed_metadata: String,
    pub(super) last_success: Option<(Instant, u64)>,
    pub(super) last_latency: Option<Duration>,
    /// The partitions the last answer refused, with the offset tried and the Kafka error's name
    /// and message; a partition not here was committed (or not in that request).
    last_refusals: BTreeMap<TopicPartition, (i64, (String, String))>,
    pub(super) last_error: Option<ErrorRecord>,
    pub(super) last_attempt_failed: bool,
    /// Failed attempts in the current failure episode.
    failed_attempts: u32,
    /// Helper crashes in a row with this group's request in hand.
    crashes_in_hand: u32,
    submitted_seq: u64,
    completed_seq: u64,
    pub(super) succeeded: u64,
    pub(super) failed: u64,
    /// When a failure of this group was last logged above DEBUG, and whether it was a refusal.
    last_failure_logged: Option<(Instant, bool)>,
    /// The retries ran out since the group last committed: its failure persists (logged at WARN).
    persisting: bool,
    owners: usize,
}

impl Group {
    /// Merges a batch's offsets (latest per partition wins); returns its sequence number.
    pub fn submit(&mut self, offsets: Vec<PartitionOffset>, metadata: &str, now: Instant) -> u64 {
        // A group holds its many partitions of few topics under one shared name per topic: the
        // offsets come sorted by topic, so a name is made once per run of equal ones.
        let mut topic: Option<Arc<str>> = None;
        for offset in offsets {
            let name = match &topic {
                Some(name) if **name == *offset.topic => name.clone(),
                _ => topic.insert(Arc::from(offset.topic)).clone(),
            };
            self.pending.insert((name, offset.partition), offset.offset);
        }
        self.pending_metadata = metadata.to_string();
        self.pending_since.get_or_insert(now);
        self.submitted_seq += 1;
        self.submitted_seq
    }

    pub fn acquire(&mut self) {
        self.owners += 1;
    }

    /// Drops one owner. A group nobody owns keeps its unconfirmed offsets until they are
    /// committed (see [`Group::can_be_dropped`]), without keep-alive.
    pub fn release(&mut self) {
        self.owners = self.owners.saturating_sub(1);
    }

    /// Whether the group's state can go: nobody owns it, no request is in flight, and nothing is
    /// left to commit (or what is left was refused for good).
    pub fn can_be_dropped(&self) -> bool {
        self.owners == 0
            && match self.phase {
                Phase::InFlight(_) => false,
                Phase::Parked { cause: ParkCause::Refused, .. } => true,
                _ => self.pending.is_empty() && self.unconfirmed.is_empty(),
            }
    }

    /// Starts a request as `request_id` if one is due: offsets that differ from what Kafka has,
    /// unconfirmed partitions whose stale requests can no longer land, or a keep-alive of unchanged
    /// offsets. Settles submissions that need no request.
    pub fn start_request(&mut self, request_id: u64, now: Instant, settings: &EngineSettings) -> Option<Outgoing> {
        if self.waiting(now) {
            return None;
        }
        if self.owners > 0 && self.keepalive_due(now, settings) {
            // Member-less groups lose their offsets after the broker's retention: re-commit.
            for (tp, offset) in &self.committed {
                self.pending.entry(tp.clone()).or_insert(*offset);
            }
        } else {
            self.recommit_unconfirmed(now);
            let (committed, unconfirmed) = (&self.committed, &self.unconfirmed);
            self.pending.retain(|tp, offset| committed.get(tp) != Some(offset) || unconfirmed.contains_key(tp));
        }
        if self.pending.is_empty() {
            // Everything submitted equals what Kafka already has.
            self.completed_seq = self.submitted_seq;
            self.pending_since = None;
            return None;
        }
        if self.pending_metadata.is_empty() {
            self.pending_metadata = self.committed_metadata.clone();
        }
        let offsets = std::mem::take(&mut self.pending);
        let outgoing = Outgoing {
            offsets: offsets.iter().map(|((t, p), o)| (t.clone(), *p, *o)).collect(),
            metadata: self.pending_metadata.clone(),
        };
        self.phase = Phase::InFlight(InFlight {
            request_id,
            offsets,
            metadata: self.pending_metadata.clone(),
            sent_at: now,
            covers_seq: self.submitted_seq,
            pending_since: self.pending_since.take().unwrap_or(now),
        });
        Some(outgoing)
    }

    /// Unconfirmed partitions whose stale requests can no longer land are committed once more,
    /// with the latest offset known for them.
    fn recommit_unconfirmed(&mut self, now: Instant) {
        let Group { unconfirmed, pending, committed, .. } = self;
        unconfirmed.retain(|tp, confirmable_from| {
            if *confirmable_from > now || pending.contains_key(tp) {
                return true;
            }
            match committed.get(tp) {
                Some(offset) => {
                    pending.insert(tp.clone(), *offset);
                    true
                }
                None => false, // nothing was ever committed there: nothing a stale request can hide
            }
        });
    }

    /// When this group next needs the worker: its watchdog, retry, cool-down end, the re-commit of
    /// an unconfirmed partition, or keep-alive.
    pub fn next_due(&self, settings: &EngineSettings) -> Option<Instant> {
        if let Phase::InFlight(in_flight) = &self.phase {
            return Some(in_flight.sent_at + settings.request_timeout + WATCHDOG_MARGIN);
        }
        if !self.pending.is_empty() {
            return Some(self.next_attempt_at().unwrap_or_else(Instant::now));
        }
        let keepalive = self.last_success.filter(|_| self.owners > 0).map(|(at, _)| at + settings.keepalive_interval);
        let recommit =
            self.unconfirmed.values().min().map(|at| self.next_attempt_at().map_or(*at, |next| next.max(*at)));
        keepalive.into_iter().chain(recommit).min()
    }

    /// The in-flight request, if librdkafka left it unanswered past its deadline plus a margin.
    pub fn overdue_request(&self, now: Instant, settings: &EngineSettings) -> Option<u64> {
        match &self.phase {
            Phase::InFlight(f)
                if now.saturating_duration_since(f.sent_at) > settings.request_timeout + WATCHDOG_MARGIN =>
            {
                Some(f.request_id)
            }
            _ => None,
        }
    }

    pub fn is_waiting_for(&self, request_id: u64) -> bool {
        matches!(&self.phase, Phase::InFlight(f) if f.request_id == request_id)
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
        let in_flight = self.take_in_flight(response.request_id)?;
        self.crashes_in_hand = 0;
        let answered: HashMap<(&str, i32), &crate::commit::PartitionResponse> =
            response.partitions.iter().map(|p| ((p.topic.as_str(), p.partition), p)).collect();
        let request_failure =
            response.request_failure.clone().map(|f| explain_failure(f, response.client_error.as_ref()));
        let failures = in_flight
            .offsets
            .keys()
            .map(|tp| match (&request_failure, answered.get(&(&*tp.0, tp.1))) {
                (Some(failure), _) => Some(failure.clone()),
                (None, Some(p)) => p.failure.clone(),
                (None, None) => Some(KafkaFailure::new(
                    RDKafkaErrorCode::UnknownTopicOrPartition,
                    "the broker's answer did not mention this partition",
                )),
            })
            .collect();
        self.apply_outcome(name, in_flight, failures, request_failure.is_some(), at, settings)
    }

    /// The executor holding the in-flight request (`executor` names it in messages) ended, or was
    /// given up on, before answering it: the request's outcome is unknown. Its offsets go back to
    /// pending for the executor's next round; a request in hand at [`CRASHES_BEFORE_REFUSAL`]
    /// crashes in a row is refused, for this group only.
    pub fn request_lost(
        &mut self,
        name: &str,
        loss: RequestLoss,
        executor: &str,
        how: &str,
        at: Moment,
        settings: &EngineSettings,
    ) -> Option<(Level, String)> {
        let Phase::InFlight(in_flight) = &self.phase else { return None };
        let request_id = in_flight.request_id;
        let failure = if loss == RequestLoss::Crash {
            self.crashes_in_hand += 1;
            if self.crashes_in_hand >= CRASHES_BEFORE_REFUSAL {
                self.crashes_in_hand = 0;
                KafkaFailure::new(
                    RDKafkaErrorCode::Fail,
                    format!(
                        "the {executor} crashed twice on this request (last: it {how}); the offsets are kept and \
                         tried again after the cool-down"
                    ),
                )
            } else {
                KafkaFailure::new(RDKafkaErrorCode::OperationTimedOut, format!("the {executor} {how} before answering"))
            }
        } else {
            KafkaFailure::new(RDKafkaErrorCode::OperationTimedOut, format!("no answer: the {executor} {how}"))
        };
        let in_flight = self.take_in_flight(request_id)?;
        let partitions: Vec<TopicPartition> = in_flight.offsets.keys().cloned().collect();
        let failures = vec![Some(failure); partitions.len()];
        let line = self.apply_outcome(name, in_flight, failures, true, at, settings);
        // The helper may have sent the request before it ended, whatever ended it.
        self.mark_unconfirmed(partitions.iter(), at.now, settings);
        if matches!(self.phase, Phase::Backoff { .. }) {
            // No backoff: the worker hands the offsets to the next helper as soon as it is ready.
            self.phase = Phase::Idle;
        }
        line
    }

    /// Whether the group's last lost request makes it a crash suspect: the worker hands suspects
    /// to a new helper one at a time, after everyone else, so a request that crashes librdkafka
    /// every time is found and refused without stalling the other groups.
    pub fn crash_suspect(&self) -> bool {
        self.crashes_in_hand > 0
    }

    fn take_in_flight(&mut self, request_id: u64) -> Option<InFlight> {
        match std::mem::take(&mut self.phase) {
            Phase::InFlight(f) if f.request_id == request_id => Some(f),
            other => {
                self.phase = other;
                None
            }
        }
    }

    fn mark_unconfirmed<'a>(
        &mut self,
        partitions: impl Iterator<Item = &'a TopicPartition>,
        now: Instant,
        settings: &EngineSettings,
    ) {
        let confirmable_from = now + settings.request_timeout + WATCHDOG_MARGIN;
        for tp in partitions {
            let at = self.unconfirmed.entry(tp.clone()).or_insert(confirmable_from);
            *at = (*at).max(confirmable_from);
        }
    }

    /// Applies one outcome per partition of `in_flight` (`None` = committed) and schedules the next
    /// attempt. `request_failed` says the whole request failed (not single partitions).
    fn apply_outcome(
        &mut self,
        name: &str,
        in_flight: InFlight,
        failures: Vec<Option<KafkaFailure>>,
        request_failed: bool,
        at: Moment,
        settings: &EngineSettings,
    ) -> Option<(Level, String)> {
        let mut first_retriable: Option<(KafkaFailure, String)> = None;
        let mut first_permanent_partition: Option<(KafkaFailure, String)> = None;
        let mut any_committed = false;
        let mut unknown = Vec::new();
        self.last_refusals.clear();
        let context = |tp: &TopicPartition| format!(" (group `{name}`, partition {}-{})", tp.0, tp.1);
        for ((tp, offset), failure) in in_flight.offsets.iter().zip(failures) {
            match &failure {
                None => {
                    self.committed.insert(tp.clone(), *offset);
                    // Confirmed only by a request sent once no stale one can land any more.
                    if self.unconfirmed.get(tp).is_some_and(|from| *from <= in_flight.sent_at) {
                        self.unconfirmed.remove(tp);
                    }
                    any_committed = true;
                }
                // A partition-level refusal (deleted topic, denied topic) cannot heal by retrying:
                // the partition waits for its next offset instead of holding the group back.
                Some(f) if !request_failed && f.is_partition_specific() => {
                    self.unconfirmed.remove(tp);
                    first_permanent_partition.get_or_insert_with(|| (f.clone(), context(tp)));
                }
                Some(f) => {
                    self.pending.entry(tp.clone()).or_insert(*offset);
                    if f.outcome_unknown() {
                        unknown.push(tp.clone());
                    }
                    first_retriable.get_or_insert_with(|| (f.clone(), context(tp)));
                }
            }
            if let Some(f) = failure {
                self.last_refusals.insert(tp.clone(), (*offset, (f.kind(), f.message)));
            }
        }
        self.mark_unconfirmed(unknown.iter(), at.now, settings);
        self.completed_seq = self.completed_seq.max(in_flight.covers_seq);
        if any_committed {
            self.persisting = false;
            self.committed_metadata = in_flight.metadata.clone();
            self.last_success = Some((at.now, at.epoch_ms));
            self.last_latency = Some(at.now.saturating_duration_since(in_flight.pending_since));
        }
        let Some((failure, context)) = first_retriable.or(first_permanent_partition) else {
            self.succeeded += 1;
            self.last_attempt_failed = false;
            self.failed_attempts = 0;
            return None;
        };
        self.failed += 1;
        self.last_attempt_failed = true;
        let delay = if failure.is_partition_specific() && !request_failed {
            // Only partitions were refused; the rest of the group goes on.
            self.failed_attempts = 0;
            None
        } else {
            self.pending_since.get_or_insert(in_flight.pending_since);
            if self.pending_metadata.is_empty() {
                self.pending_metadata = in_flight.metadata;
            }
            self.failed_attempts += 1;
            if failure.is_retriable() && self.failed_attempts < settings.retry_max_attempts {
                let delay = backoff(settings, self.failed_attempts, at.jitter);
                self.phase = Phase::Backoff { until: at.now + delay };
                Some(delay)
            } else {
                // Permanent (or persistent) failure: keep the offsets, report, and try again only
                // after the cool-down, so a denied group is never hammered.
                self.failed_attempts = 0;
                let cause = if failure.is_retriable() { ParkCause::RetriesRanOut } else { ParkCause::Refused };
                self.persisting |= cause == ParkCause::RetriesRanOut;
                self.phase = Phase::Parked { until: at.now + settings.failure_cooldown, cause };
                Some(settings.failure_cooldown)
            }
        };
        let retriable = matches!(self.phase, Phase::Backoff { .. });
        let line = self.failure_log_line(name, &failure, &context, retriable, delay, at.now);
        self.last_error = Some(ErrorRecord { failure, retriable, at_epoch_ms: at.epoch_ms, context });
        line
    }

    /// Kafka answers again (another group's commit went through): a group waiting out a backoff,
    /// or parked because its retries ran out while Kafka was away, tries again at once instead of
    /// leaving the group behind for up to a cool-down.
    pub fn retry_now(&mut self) {
        if matches!(self.phase, Phase::Backoff { .. } | Phase::Parked { cause: ParkCause::RetriesRanOut, .. }) {
            self.phase = Phase::Idle;
        }
    }

    /// Ends a cool-down that only Kafka's absence caused (the JVM exits: last chance to commit).
    pub fn unpark_after_retries(&mut self) {
        if self.parked_after_retries() {
            self.phase = Phase::Idle;
        }
    }

    /// Whether the group is parked only because Kafka did not answer (see [`Group::retry_now`]).
    pub fn parked_after_retries(&self) -> bool {
        matches!(self.phase, Phase::Parked { cause: ParkCause::RetriesRanOut, .. })
    }

    /// Whether the last answer committed something.
    pub fn last_attempt_succeeded(&self) -> bool {
        !self.last_attempt_failed
    }

    /// Whether everything submitted up to `target` has been attempted and nothing more will happen
    /// soon: committed, or parked in a cool-down. At the JVM's exit only a refusal counts as
    /// settled: a group parked while Kafka was away is tried again within the exit window.
    pub fn settled(&self, target: u64, exiting: bool) -> bool {
        match self.phase {
            Phase::InFlight(_) => false,
            Phase::Parked { cause: ParkCause::Refused, .. } => true,
            Phase::Parked { cause: ParkCause::RetriesRanOut, .. } if !exiting => true,
            _ => self.pending.is_empty() && self.completed_seq >= target,
        }
    }

    /// Whether nothing is pending or in flight.
    pub fn flushed(&self) -> bool {
        !self.in_flight() && self.pending.is_empty()
    }

    pub fn submitted_seq(&self) -> u64 {
        self.submitted_seq
    }

    /// Since when the group's newest offsets have waited to be committed, if any wait.
    pub fn waiting_since(&self) -> Option<Instant> {
        self.pending_since
    }

    pub fn in_flight(&self) -> bool {
        matches!(self.phase, Phase::InFlight(_))
    }

    /// When the next attempt of pending offsets may start, if it has to wait.
    pub fn next_attempt_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Backoff { until } | Phase::Parked { until, .. } => Some(until),
            Phase::Idle | Phase::InFlight(_) => None,
        }
    }

    pub fn parked(&self) -> bool {
        matches!(self.phase, Phase::Parked { .. })
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
            .map(|tp| {
                let (offset, error) = match (&parked_error, self.last_refusals.get(tp)) {
                    (Some(error), _) => (self.pending.get(tp).copied().unwrap_or(-1), Some(error.clone())),
                    (None, Some((offset, error))) => (*offset, Some(error.clone())),
                    // Committed by the last answer, or by an earlier one when not in the last request.
                    (None, None) => (self.committed.get(tp).copied().unwrap_or(-1), None),
                };
                PartitionResult { topic: tp.0.to_string(), partition: tp.1, offset, error }
            })
            .collect()
    }

    /// Whether a request must wait: one is in flight, or a backoff or cool-down has not ended.
    fn waiting(&self, now: Instant) -> bool {
        match self.phase {
            Phase::InFlight(_) => true,
            Phase::Backoff { until } | Phase::Parked { until, .. } => until > now,
            Phase::Idle => false,
        }
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
        // A coordinator still settling (a new group's first commit, a coordinator that moved) is answered by the
        // retries themselves: DEBUG. Other failures that retrying may fix (Kafka away) are INFO while the retries
        // last, WARN once they ran out since the group last committed: a lasting condition, not a refusal (ERROR).
        let refusal = !failure.is_retriable();
        let level = if refusal {
            Level::Error
        } else if self.persisting {
            Level::Warn
        } else if coordinator_settling(failure) {
            return Some((
                Level::Debug,
                format!("group `{name}`: its coordinator is not ready ({}); retrying", failure.kind()),
            ));
        } else {
            Level::Info
        };
        // Within the interval only an escalation is logged: a refusal after retriable failures.
        let repeated = self.last_failure_logged.is_some_and(|(at, was_refusal)| {
            now.saturating_duration_since(at) < FAILURE_LOG_INTERVAL && (!refusal || was_refusal)
        });
        if repeated {
            return None;
        }
        self.last_failure_logged = Some((now, refusal));
        let kind = failure.kind();
        let next = match delay {
            Some(delay) if retriable => format!("retrying in {} ms", delay.as_millis()),
            Some(delay) => format!("offsets kept; next attempt in {} ms", delay.as_millis()),
            None => "the partition waits for its next offset; the group goes on".to_string(),
        };
        let advice = if means_active_members(failure) {
            format!(
                " (the group has active members: a consumer uses group id `{name}`, and Kafka takes commits only \
                 from its members; give the query a group id of its own, e.g. the source option \
                 kafka.consumer.commit.groupid)"
            )
        } else {
            String::new()
        };
        Some((level, format!("commit to group `{name}` failed: {kind}: {}{context}{advice}; {next}", failure.message)))
    }
}

/// The group's coordinator is being found or loads the group: Kafka's own clients retry this silently.
fn coordinator_settling(failure: &KafkaFailure) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(failure.code, NotCoordinator | CoordinatorLoadInProgress | CoordinatorNotAvailable | WaitingForCoordinator)
}

/// Kafka refuses a commit from outside a group that has members with these.
fn means_active_members(failure: &KafkaFailure) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(failure.code, UnknownMemberId | IllegalGeneration | RebalanceInProgress)
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
