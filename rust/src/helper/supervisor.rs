//! The parent side of one cluster's helper: owns the process (start, notice its end, reap,
//! restart with backoff) and turns what its threads report into [`ExecutorEvent`]s: the engine's
//! [`Executor`] for clusters librdkafka can log in to. It owns no
//! request: the engine's worker owns every request until an answer or a loss settles it, and
//! hands the offsets of lost requests to the next helper itself.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::executable;
pub use super::process::WakeFn;
use super::process::{Event, Events, HelperProcess};
use super::protocol::{Fault, FromHelper, OAuthLogin, OAuthToken, OpenClient, ToHelper};
use super::restart::RestartSchedule;
use crate::commit::{CommitRequest, RequestLoss};
use crate::engine::executor::{Executor, ExecutorEvent};
use crate::epoch_millis;
use crate::logging::{self, Level};

/// How long the first start may take before `open` gives up (librdkafka validates its settings).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the status reports about the helper of a cluster.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelperStatus {
    pub pid: Option<u32>,
    pub restarts: u64,
    pub last_exit: Option<HelperExit>,
}

/// How the last helper ended (e.g. killed by SIGABRT), and when.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelperExit {
    pub description: String,
    pub at_epoch_ms: u64,
}

pub struct Supervisor {
    label: String,
    settings: Vec<(String, String)>,
    executable: PathBuf,
    events: Arc<Events>,
    wake: Arc<WakeFn>,
    running: Option<HelperProcess>,
    /// Whether the running helper said it is ready for requests.
    ready: bool,
    /// Counts helpers started; events of an earlier one are ignored.
    generation: u64,
    /// Faults every new helper gets (test-only).
    lasting_faults: Vec<Fault>,
    /// The cluster's latest OAUTHBEARER token: every new helper gets it right after its Open frame.
    oauth_token: Option<OAuthToken>,
    /// Why the login handler made no token since the latest one: every new helper gets it after
    /// the token (which librdkafka keeps while it lives).
    oauth_failure: Option<String>,
    schedule: RestartSchedule,
    status: HelperStatus,
}

impl Supervisor {
    /// Starts the helper and waits until its client exists, so that settings librdkafka refuses
    /// fail here, with librdkafka's message.
    pub fn start(label: &str, settings: Vec<(String, String)>, wake: Arc<WakeFn>) -> Result<Supervisor, String> {
        let executable = executable::resolve()?;
        let mut supervisor = Supervisor {
            label: label.to_string(),
            settings,
            executable,
            events: Arc::new(Events::default()),
            wake,
            running: None,
            ready: false,
            generation: 0,
            lasting_faults: Vec::new(),
            oauth_token: None,
            oauth_failure: None,
            schedule: RestartSchedule::default(),
            status: HelperStatus::default(),
        };
        supervisor.spawn().map_err(|e| format!("cannot start the commit helper: {e}"))?;
        let generation = supervisor.generation;
        let first = supervisor.events.take_first(START_TIMEOUT, |(g, event)| {
            *g == generation
                && matches!(
                    event,
                    Event::Frame(FromHelper::Ready | FromHelper::OpenFailed(_)) | Event::Desync(_) | Event::Ended
                )
        });
        match first.map(|(_, event)| event) {
            Some(Event::Frame(FromHelper::Ready)) => {
                supervisor.ready = true;
                Ok(supervisor)
            }
            Some(Event::Frame(FromHelper::OpenFailed(reason))) => Err(reason),
            Some(_) => {
                let how = supervisor.running.take().map_or_else(|| "ended".into(), |p| p.reap().description);
                Err(format!("the commit helper ended at start-up ({how})"))
            }
            None => {
                if let Some(mut process) = supervisor.running.take() {
                    process.kill("it did not start in time");
                    process.reap();
                }
                Err(format!("the commit helper did not start within {} s", START_TIMEOUT.as_secs()))
            }
        }
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let open = OpenClient { cluster_label: self.label.clone(), settings: self.settings.clone() };
        let process =
            HelperProcess::spawn(&self.executable, &self.label, self.generation + 1, open, &self.events, &self.wake)?;
        self.generation = process.generation();
        if let Some(token) = &self.oauth_token {
            process.send(ToHelper::OAuthToken(token.clone()));
        }
        if let Some(reason) = &self.oauth_failure {
            process.send(ToHelper::OAuthTokenFailure(reason.clone()));
        }
        for fault in &self.lasting_faults {
            process.send(ToHelper::Fault(fault.clone()));
        }
        self.status.pid = Some(process.pid());
        self.running = Some(process);
        self.ready = false;
        self.schedule.started();
        Ok(())
    }

    fn restart(&mut self, now: Instant) {
        match self.spawn() {
            Ok(()) => self.status.restarts += 1,
            Err(error) => {
                let delay = self.schedule.start_failed(now);
                logging::log(
                    Level::Error,
                    format!(
                        "[{}] cannot restart the commit helper {}: {error}; next try in {} ms",
                        self.label,
                        self.executable.display(),
                        delay.as_millis()
                    ),
                );
            }
        }
    }

    fn helper_ended(&mut self, now: Instant) -> Option<ExecutorEvent> {
        let process = self.running.take()?;
        let (pid, started_at) = (process.pid(), process.started_at());
        let exit = process.reap();
        self.ready = false;
        let restart_in = self.schedule.helper_exited(now, started_at);
        self.status.pid = None;
        self.status.last_exit = Some(HelperExit { description: exit.description.clone(), at_epoch_ms: epoch_millis() });
        let loss = if exit.killed_by_us { RequestLoss::Killed } else { RequestLoss::Crash };
        let description = format!("(pid {pid}) {}", exit.description);
        Some(ExecutorEvent::Ended { loss, description, restart_in: Some(restart_in) })
    }
}

impl Executor for Supervisor {
    fn name(&self) -> &'static str {
        "commit helper"
    }

    /// Whether a helper is running and ready for requests.
    fn ready(&self) -> bool {
        self.running.is_some() && self.ready
    }

    /// Hands a request to the ready helper; its outcome comes from `poll`, also if the helper dies
    /// first. The caller checks [`Executor::ready`] first.
    fn send(&mut self, request: CommitRequest) {
        if let Some(process) = &self.running {
            process.send(ToHelper::Commit(request));
        }
    }

    /// Takes what happened since the last call and starts a helper whose restart is due.
    fn poll(&mut self, now: Instant) -> Vec<ExecutorEvent> {
        let mut happened = Vec::new();
        for (generation, event) in self.events.take(Duration::ZERO) {
            if generation != self.generation {
                continue;
            }
            match event {
                Event::Frame(FromHelper::Response(response)) => happened.push(ExecutorEvent::Answer(response)),
                Event::Frame(FromHelper::Ready) => {
                    self.ready = true;
                    let pid = self.running.as_ref().map_or(0, HelperProcess::pid);
                    let restarts = self.status.restarts;
                    if restarts > 0 {
                        let description = format!("commit helper restarted (pid {pid}, restart {restarts})");
                        happened.push(ExecutorEvent::Restarted { description });
                    }
                }
                Event::Frame(FromHelper::OpenFailed(reason)) => logging::log(
                    Level::Error,
                    format!("[{}] the restarted commit helper refused the client settings: {reason}", self.label),
                ),
                Event::Frame(FromHelper::Log(_)) => {} // the reader forwards log lines itself
                Event::Refused { request_id, reason } => happened.push(ExecutorEvent::Refused { request_id, reason }),
                Event::Desync(reason) => {
                    let pid = self.running.as_ref().map_or(0, HelperProcess::pid);
                    logging::log(
                        Level::Error,
                        format!(
                            "[{}] protocol desync with the commit helper (pid {pid}): {reason}; killing it",
                            self.label
                        ),
                    );
                    self.kill("protocol desync");
                }
                Event::Ended => happened.extend(self.helper_ended(now)),
            }
        }
        if self.running.is_none() && self.schedule.due(now) {
            self.restart(now);
        }
        happened
    }

    /// When `poll` should run next to restart the helper.
    fn next_due(&self) -> Option<Instant> {
        self.running.is_none().then(|| self.schedule.next_start()).flatten()
    }

    fn status(&self) -> HelperStatus {
        self.status.clone()
    }

    /// Test-only: hands a fault to the helper; a fault on a group also goes to every later helper.
    fn inject_fault(&mut self, fault: Fault) {
        if matches!(fault, Fault::AbortOnGroup(_)) {
            self.lasting_faults.push(fault.clone());
        }
        if let Some(process) = &self.running {
            process.send(ToHelper::Fault(fault));
        }
    }

    /// Hands the application's latest OAUTHBEARER token, or why its login handler made none, to the
    /// running helper and to every later one.
    fn set_oauth_login(&mut self, login: OAuthLogin) {
        let frame = match login {
            OAuthLogin::Token(token) => {
                self.oauth_failure = None;
                self.oauth_token = Some(token.clone());
                ToHelper::OAuthToken(token)
            }
            OAuthLogin::Failed(reason) => {
                self.oauth_failure = Some(reason.clone());
                ToHelper::OAuthTokenFailure(reason)
            }
        };
        if let Some(process) = &self.running {
            process.send(frame);
        }
    }

    /// Kills a helper that stopped answering; its end comes from `poll`, which restarts it.
    fn kill(&mut self, reason: &str) {
        if let Some(process) = &mut self.running {
            process.kill(reason);
        }
    }

    /// Whether the running helper is being killed by us (its end is on its way).
    fn killing(&self) -> bool {
        self.running.as_ref().is_some_and(|process| process.killed_because().is_some())
    }

    /// Asks the helper to destroy its client and exit; kills it if it takes too long.
    fn shut_down(&mut self) {
        self.ready = false;
        if let Some(process) = self.running.take() {
            process.close();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shut_down();
    }
}
