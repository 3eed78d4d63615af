//! The contract between the worker, which owns every request, and whoever runs them against Kafka:
//! the helper process with librdkafka (`helper::supervisor`) or Kafka's Java client in the JVM
//! (`engine::jvm_executor`). The worker never learns which one it talks to.

use std::time::{Duration, Instant};

use crate::commit::{CommitRequest, CommitResponse, RequestLoss};
use crate::helper::protocol::{Fault, OAuthLogin};
use crate::helper::supervisor::HelperStatus;

/// What happened to an executor since the last [`Executor::poll`].
#[derive(Debug)]
pub enum ExecutorEvent {
    /// A request's answer. An answer to a request the worker no longer waits for is ignored.
    Answer(CommitResponse),
    /// A request that could not be sent at all: a definite refusal.
    Refused { request_id: u64, reason: String },
    /// Every request the executor held is lost, its outcome unknown (it may have reached the
    /// broker). `restart_in`: when the executor takes requests again, if it has to restart first;
    /// `None` when it goes on at once.
    Ended { loss: RequestLoss, description: String, restart_in: Option<Duration> },
    /// A restarted executor takes requests again; `description` says which, for the log.
    Restarted { description: String },
}

pub trait Executor: Send {
    /// What the log calls it, e.g. "commit helper".
    fn name(&self) -> &'static str;

    /// Whether it takes requests now.
    fn ready(&self) -> bool;

    /// Hands over a request; its outcome comes from `poll`, an answer or a loss. The worker
    /// checks [`Executor::ready`] first and sends at most one request per group at a time.
    fn send(&mut self, request: CommitRequest);

    /// What happened since the last call; also starts what is due (a restart).
    fn poll(&mut self, now: Instant) -> Vec<ExecutorEvent>;

    /// When `poll` should run next without being woken.
    fn next_due(&self) -> Option<Instant>;

    /// Gives up every request it holds (some went unanswered past their deadline); the loss
    /// comes from `poll` as [`ExecutorEvent::Ended`] with [`RequestLoss::Killed`].
    fn kill(&mut self, reason: &str);

    /// Whether a `kill` is under way (its `Ended` has not been polled yet).
    fn killing(&self) -> bool;

    /// Test-only faults of the helper process; other executors ignore them.
    fn inject_fault(&mut self, fault: Fault);

    /// The application's latest OAUTHBEARER token, or why its login handler made none (executors
    /// that log in themselves ignore it).
    fn set_oauth_login(&mut self, login: OAuthLogin);

    fn status(&self) -> HelperStatus;

    /// Stops for good: the cluster is closed.
    fn shut_down(&mut self);
}
