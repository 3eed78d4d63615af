//! The worker of one cluster: the only thread that talks to the cluster's executor (the helper
//! process, or the JVM executor; see `executor`). It hands due requests to the executor, applies
//! the answers to the groups, kills an executor that leaves requests unanswered past their
//! deadline, settles the requests of an executor that ended as lost, and sleeps until the next
//! thing is due or it is woken.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use super::cluster::{lock, Shared, State};
use super::executor::{Executor, ExecutorEvent};
use super::group::{Group, Moment};
use crate::commit::{CommitRequest, CommitResponse, KafkaFailure, RequestLoss};
use crate::epoch_millis;
use crate::logging::{self, Level};

/// The longest sleep with nothing due: a safety net only, every change wakes the worker.
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// How long the worker sleeps at least while an executor it killed is ending.
const KILL_WAIT: Duration = Duration::from_millis(50);
/// After a panic in the loop (a bug), the worker pauses this long before going on.
const PANIC_PAUSE: Duration = Duration::from_secs(1);
/// At most this many requests of a cluster are in its executor's hands at once. A broker serves
/// one connection's requests one after another, so a longer queue adds no throughput; it would
/// only hold the offsets of every group that commits at once a second and third time (in the pipe
/// and in librdkafka), and with them both processes' memory. Groups beyond it keep their offsets
/// here, coalesced, and go first once a request ends (see `start_requests`).
const MAX_REQUESTS_IN_FLIGHT: usize = 128;

pub(super) fn run(shared: Arc<Shared>, mut executor: Box<dyn Executor>) {
    loop {
        let step = catch_unwind(AssertUnwindSafe(|| step(&shared, executor.as_mut())));
        match step {
            Ok(Some(wait)) => drop(shared.wake.take(wait)),
            Ok(None) => break,
            Err(panic) => {
                let message = crate::panic_message(panic.as_ref());
                logging::log(
                    Level::Error,
                    format!("[{}] internal error in the commit worker: {message}", shared.label),
                );
                drop(shared.wake.take(PANIC_PAUSE));
            }
        }
    }
    executor.shut_down();
    shared.progressed.notify_all();
}

/// One round; returns how long to sleep, or `None` when the cluster stops or retires.
fn step(shared: &Shared, executor: &mut dyn Executor) -> Option<Duration> {
    let now = Instant::now();
    let events = executor.poll(now);
    let mut state = lock(&shared.state);
    if state.stopping {
        return None;
    }
    for fault in state.faults.drain(..) {
        executor.inject_fault(fault);
    }
    if let Some(login) = state.oauth_login.take() {
        executor.set_oauth_login(login);
    }
    let mut kafka_answers = false;
    for event in events {
        match event {
            ExecutorEvent::Answer(response) => kafka_answers |= complete(shared, &mut state, response, now),
            ExecutorEvent::Refused { request_id, reason } => {
                let failure = KafkaFailure::new(RDKafkaErrorCode::InvalidArgument, reason);
                complete(shared, &mut state, CommitResponse::failed(request_id, failure), now);
            }
            ExecutorEvent::Ended { loss, description, restart_in } => {
                let lost = Loss { executor: executor.name(), loss, description: &description, restart_in };
                requests_lost(shared, &mut state, lost, now)
            }
            ExecutorEvent::Restarted { description } => {
                let waiting = state.groups.values().filter(|g| !g.flushed()).count();
                logging::log(
                    Level::Warn,
                    format!("[{}] {description}; handing it the offsets of {waiting} groups", shared.label),
                );
            }
        }
    }
    if kafka_answers {
        // Kafka answers again: nobody waits out a backoff or a cool-down that only Kafka's absence caused.
        state.groups.values_mut().for_each(Group::retry_now);
        state.next_probe_at = None;
    } else if state.exiting {
        // The JVM exits: a group parked while Kafka was away gets its retries in the exit window.
        state.groups.values_mut().for_each(Group::unpark_after_retries);
    }
    probe_parked_groups(shared, &mut state, now);
    let overdue = state.groups.values().filter(|g| g.overdue_request(now, &shared.settings).is_some()).count();
    if overdue > 0 && !executor.killing() {
        // Every executor answers each request by its deadline; one that did not is stuck. Its
        // `Ended` (reported by `poll`) settles every request it held.
        executor.kill(&format!("{overdue} commit requests unanswered past their deadline"));
    }
    state.groups.retain(|_, group| !group.can_be_dropped());
    if state.committers == 0 && state.groups.is_empty() {
        state.retired = true;
        return None;
    }
    let outgoing = if executor.ready() { start_requests(shared, &mut state, now) } else { Vec::new() };
    state.helper = executor.status();
    let full = state.groups.values().filter(|g| g.in_flight()).count() >= MAX_REQUESTS_IN_FLIGHT;
    // With no room, the next answer (which wakes the worker) or deadline frees some: the groups
    // waiting for room are not due before that.
    let groups_due =
        state.groups.values().filter(|g| !full || g.in_flight()).filter_map(|g| g.next_due(&shared.settings));
    let mut next_due = groups_due.chain(executor.next_due()).min();
    if executor.killing() {
        // The killed executor's end wakes the worker; its overdue requests need no busy wait.
        next_due = next_due.map(|due| due.max(now + KILL_WAIT));
    }
    drop(state);
    shared.progressed.notify_all();
    for request in outgoing {
        executor.send(request);
    }
    Some(next_due.map_or(IDLE_WAIT, |due| due.saturating_duration_since(Instant::now()).min(IDLE_WAIT)))
}

/// Starts due requests, up to [`MAX_REQUESTS_IN_FLIGHT`] in all: the offsets that have waited
/// longest first, crash suspects last and one at a time (a request that crashes librdkafka every
/// time must not take the other groups' requests down with it again).
fn start_requests(shared: &Shared, state: &mut State, now: Instant) -> Vec<CommitRequest> {
    let State { groups, next_request_id, .. } = state;
    let mut suspect_in_flight = groups.values().any(|g| g.crash_suspect() && g.in_flight());
    let mut room = MAX_REQUESTS_IN_FLIGHT.saturating_sub(groups.values().filter(|g| g.in_flight()).count());
    let mut order: Vec<(&String, &mut Group)> = groups.iter_mut().collect();
    if order.len() > room {
        // Only when not everyone fits: who goes first matters then, and sorting costs a little.
        order.sort_by_key(|(_, g)| (g.crash_suspect(), g.waiting_since().unwrap_or(now)));
    } else {
        order.sort_by_key(|(_, g)| g.crash_suspect());
    }
    let mut outgoing = Vec::new();
    for (name, group) in order {
        if room == 0 || (group.crash_suspect() && suspect_in_flight) {
            break;
        }
        if let Some(request) = group.start_request(*next_request_id, now, &shared.settings) {
            outgoing.push(CommitRequest {
                request_id: *next_request_id,
                group: name.clone(),
                offsets: request.offsets,
                metadata: request.metadata,
                timeout_ms: shared.settings.request_timeout.as_millis() as u64,
            });
            *next_request_id += 1;
            suspect_in_flight |= group.crash_suspect();
            room -= 1;
        }
    }
    outgoing
}

/// Applies an answer to its group; true when it committed something (Kafka is there).
fn complete(shared: &Shared, state: &mut State, response: CommitResponse, now: Instant) -> bool {
    let Some((name, group)) = state.groups.iter_mut().find(|(_, g)| g.is_waiting_for(response.request_id)) else {
        return false; // cannot happen: a group with a request in flight stays until it is settled
    };
    let at = moment(now);
    if let Some((level, line)) = group.complete(name, &response, at, &shared.settings) {
        logging::log(level, format!("[{}] {line}", shared.label));
    }
    group.last_attempt_succeeded()
}

/// How an executor lost every request it held.
struct Loss<'a> {
    executor: &'static str,
    loss: RequestLoss,
    description: &'a str,
    restart_in: Option<Duration>,
}

/// The executor lost every request it held (the helper ended, or requests went unanswered past
/// their deadline): their outcome is unknown. Each group takes its offsets back and hands them to
/// the executor again once it is ready.
fn requests_lost(shared: &Shared, state: &mut State, lost: Loss<'_>, now: Instant) {
    let at = moment(now);
    let mut in_hand = 0;
    for (name, group) in state.groups.iter_mut().filter(|(_, g)| g.in_flight()) {
        in_hand += 1;
        if let Some((level, line)) =
            group.request_lost(name, lost.loss, lost.executor, lost.description, at, &shared.settings)
        {
            logging::log(level, format!("[{}] {line}", shared.label));
        }
    }
    let Loss { executor, description, .. } = lost;
    let next = match lost.restart_in {
        Some(restart_in) => format!(
            "the JVM is unaffected; restarting it in {} ms; {in_hand} commit requests were in its hand and go to the \
             next helper",
            restart_in.as_millis()
        ),
        None => format!("{in_hand} commit requests were in its hand and are handed to it again"),
    };
    logging::log(Level::Error, format!("[{}] the {executor} {description}; {next}", shared.label));
}

fn moment(now: Instant) -> Moment {
    Moment { now, epoch_ms: epoch_millis(), jitter: pseudo_random_fraction() }
}

/// While groups are parked because Kafka did not answer, one of them tries again every
/// `retry.backoff.max.ms`: a bounded probe, whose success wakes them all (see `Group::retry_now`).
fn probe_parked_groups(shared: &Shared, state: &mut State, now: Instant) {
    let Some(probe) = state.groups.values_mut().find(|g| g.parked_after_retries()) else {
        state.next_probe_at = None;
        return;
    };
    match state.next_probe_at {
        Some(at) if at <= now => {
            probe.retry_now();
            state.next_probe_at = Some(now + shared.settings.retry_backoff_max);
        }
        Some(_) => {}
        None => state.next_probe_at = Some(now + shared.settings.retry_backoff_max),
    }
}

/// A fraction in [0, 1) from a per-thread xorshift; jitter needs spread, not cryptography.
fn pseudo_random_fraction() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static SEED: Cell<u64> = Cell::new(epoch_millis().wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
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
