//! The worker of one cluster: the only thread that talks to the cluster's helper. It hands due
//! requests to the helper, applies the answers to the groups, gives up requests the helper never
//! answers (and restarts that helper), and sleeps until the next thing is due or it is woken.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use super::cluster::{lock, Shared, State};
use super::group::{Group, Moment};
use crate::commit::{CommitRequest, CommitResponse, KafkaFailure};
use crate::epoch_millis;
use crate::helper::supervisor::Supervisor;
use crate::logging::{self, Level};

/// The longest sleep with nothing due: a safety net only, every change wakes the worker.
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// After a panic in the loop (a bug), the worker pauses this long before going on.
const PANIC_PAUSE: Duration = Duration::from_secs(1);

pub(super) fn run(shared: Arc<Shared>, mut supervisor: Supervisor) {
    loop {
        let step = catch_unwind(AssertUnwindSafe(|| step(&shared, &mut supervisor)));
        match step {
            Ok(Some(wait)) => shared.wake.wait(wait),
            Ok(None) => break,
            Err(panic) => {
                let message = crate::panic_message(panic.as_ref());
                logging::log(
                    Level::Error,
                    format!("[{}] internal error in the commit worker: {message}", shared.label),
                );
                shared.wake.wait(PANIC_PAUSE);
            }
        }
    }
    supervisor.shut_down();
    shared.progressed.notify_all();
}

/// One round; returns how long to sleep, or `None` when the cluster stops.
fn step(shared: &Shared, supervisor: &mut Supervisor) -> Option<Duration> {
    let now = Instant::now();
    let answers = supervisor.poll(now);
    let mut state = lock(&shared.state);
    if state.stopping {
        return None;
    }
    for fault in state.faults.drain(..) {
        supervisor.inject_fault(fault);
    }
    let mut kafka_answers = false;
    for answer in answers {
        kafka_answers |= complete(shared, &mut state, answer, now);
    }
    if kafka_answers {
        state.groups.values_mut().for_each(Group::retry_now);
        state.next_probe_at = None;
    }
    probe_parked_groups(shared, &mut state, now);
    let overdue: Vec<u64> = state.groups.values().filter_map(|g| g.overdue_request(now, &shared.settings)).collect();
    if !overdue.is_empty() {
        // librdkafka answers every request by its deadline; one that did not is stuck. A new
        // helper guarantees the abandoned request can no longer land after a newer one.
        supervisor.kill(&format!("{} commit requests unanswered past their deadline", overdue.len()));
        for request_id in overdue {
            supervisor.forget(request_id);
            let limit = shared.settings.request_timeout + super::group::WATCHDOG_MARGIN;
            let failure = KafkaFailure::new(
                RDKafkaErrorCode::OperationTimedOut,
                format!("no answer within {} ms", limit.as_millis()),
            );
            complete(shared, &mut state, CommitResponse::failed(request_id, failure), now);
        }
    }
    let outgoing = start_requests(shared, &mut state, now);
    state.helper = supervisor.status();
    let next_due =
        state.groups.values().filter_map(|g| g.next_due(&shared.settings)).chain(supervisor.next_due()).min();
    drop(state);
    shared.progressed.notify_all();
    for request in outgoing {
        supervisor.send(request);
    }
    Some(next_due.map_or(IDLE_WAIT, |due| due.saturating_duration_since(Instant::now()).min(IDLE_WAIT)))
}

fn start_requests(shared: &Shared, state: &mut State, now: Instant) -> Vec<CommitRequest> {
    let State { groups, next_request_id, .. } = state;
    let mut outgoing = Vec::new();
    for (name, group) in groups.iter_mut() {
        if let Some(request) = group.start_request(*next_request_id, now, &shared.settings) {
            outgoing.push(CommitRequest {
                request_id: *next_request_id,
                group: name.clone(),
                offsets: request.offsets,
                metadata: request.metadata,
                timeout_ms: shared.settings.request_timeout.as_millis() as u64,
            });
            *next_request_id += 1;
        }
    }
    outgoing
}

/// Applies an answer to its group; true when it committed something (Kafka is there).
fn complete(shared: &Shared, state: &mut State, response: CommitResponse, now: Instant) -> bool {
    let Some((name, group)) = state.groups.iter_mut().find(|(_, g)| g.is_waiting_for(response.request_id)) else {
        return false; // the group was closed, or the watchdog gave the request up
    };
    let at = Moment { now, epoch_ms: epoch_millis(), jitter: pseudo_random_fraction() };
    if let Some((level, line)) = group.complete(name, &response, at, &shared.settings) {
        logging::log(level, format!("[{}] {line}", shared.label));
    }
    group.last_attempt_succeeded()
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
