//! The parent side: starts the helper process of one cluster, talks to it, notices when it dies,
//! restarts it with backoff and re-sends every request it had not answered. Pending offsets live
//! on this side until the helper reports them committed, so a helper crash loses nothing.
//!
//! Threads per helper: a writer (so the engine never blocks on a full pipe to a hung helper), a
//! reader of its answers and a reader of its stderr (a failed assertion's last words end up in the
//! log). None of them touches the JVM.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, BufWriter};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::executable;
use super::os;
use super::protocol::{read_frame, write_frame, Fault, FromHelper, OpenClient, ToHelper};
use super::restart::RestartSchedule;
use crate::commit::{CommitRequest, CommitResponse};
use crate::epoch_millis;
use crate::logging::{self, Level};

/// How long the first start may take before `open` gives up (librdkafka validates its settings).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a closing helper may take to destroy its client before it is killed.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

pub type WakeFn = dyn Fn() + Send + Sync;

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

enum Event {
    Frame(FromHelper),
    Ended,
}

/// Events from the reader threads, tagged with the helper generation they came from.
#[derive(Default)]
struct Events {
    queue: Mutex<VecDeque<(u64, Event)>>,
    arrived: Condvar,
}

impl Events {
    fn push(&self, generation: u64, event: Event) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back((generation, event));
        self.arrived.notify_all();
    }

    fn drain(&self) -> Vec<(u64, Event)> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect()
    }
}

struct Running {
    child: Child,
    started_at: Instant,
    commands: Sender<ToHelper>,
    threads: Vec<JoinHandle<()>>,
    /// Why we killed it, if we did.
    killed_because: Option<String>,
}

pub struct Supervisor {
    label: String,
    settings: Vec<(String, String)>,
    executable: PathBuf,
    events: Arc<Events>,
    wake: Arc<WakeFn>,
    running: Option<Running>,
    /// Counts helpers started; events of an earlier one are ignored.
    generation: u64,
    /// Sent to a helper and not answered yet: re-sent to the next one if it dies.
    unanswered: BTreeMap<u64, CommitRequest>,
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
            generation: 0,
            unanswered: BTreeMap::new(),
            schedule: RestartSchedule::default(),
            status: HelperStatus::default(),
        };
        supervisor.spawn(Instant::now()).map_err(|e| format!("cannot start the commit helper: {e}"))?;
        let generation = supervisor.generation;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let mut queue = supervisor.events.queue.lock().unwrap_or_else(|p| p.into_inner());
            let position = queue.iter().position(|(g, event)| {
                *g == generation
                    && matches!(event, Event::Frame(FromHelper::Ready | FromHelper::OpenFailed(_)) | Event::Ended)
            });
            if let Some(position) = position {
                let (_, event) = queue.remove(position).expect("found above");
                drop(queue);
                return match event {
                    Event::Frame(FromHelper::Ready) => Ok(supervisor),
                    Event::Frame(FromHelper::OpenFailed(reason)) => Err(reason),
                    _ => Err(format!("the commit helper ended at start-up ({})", supervisor.reap())),
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(queue);
                supervisor.kill("it did not start in time");
                return Err(format!("the commit helper did not start within {} s", START_TIMEOUT.as_secs()));
            }
            let _ = supervisor.events.arrived.wait_timeout(queue, left);
        }
    }

    /// Hands a request to the helper; its answer comes from `poll`, also if the helper dies first.
    pub fn send(&mut self, request: CommitRequest) {
        if let Some(running) = &self.running {
            let _ = running.commands.send(ToHelper::Commit(request.clone()));
        }
        self.unanswered.insert(request.request_id, request);
    }

    /// Drops a request the engine gave up on, so it is not re-sent after a restart.
    pub fn forget(&mut self, request_id: u64) {
        self.unanswered.remove(&request_id);
    }

    /// Takes the answers that arrived, notices an ended helper and restarts one that is due.
    pub fn poll(&mut self, now: Instant) -> Vec<CommitResponse> {
        let mut answers = Vec::new();
        for (generation, event) in self.events.drain() {
            if generation != self.generation {
                continue;
            }
            match event {
                Event::Frame(FromHelper::Response(response)) => {
                    if self.unanswered.remove(&response.request_id).is_some() {
                        answers.push(response);
                    }
                }
                Event::Frame(FromHelper::OpenFailed(reason)) => {
                    logging::log(
                        Level::Error,
                        format!("[{}] the restarted commit helper failed: {reason}", self.label),
                    );
                }
                Event::Frame(FromHelper::Ready | FromHelper::Log(_)) => {}
                Event::Ended => self.helper_ended(now),
            }
        }
        if self.running.is_none() && self.schedule.due(now) {
            self.restart(now);
        }
        answers
    }

    /// When `poll` should run next to restart the helper.
    pub fn next_due(&self) -> Option<Instant> {
        self.running.is_none().then(|| self.schedule.next_start()).flatten()
    }

    pub fn status(&self) -> HelperStatus {
        self.status.clone()
    }

    /// Test-only: makes the helper crash right after its next commit reaches librdkafka.
    pub fn inject_fault(&self, fault: Fault) {
        if let Some(running) = &self.running {
            let _ = running.commands.send(ToHelper::Fault(fault));
        }
    }

    /// Kills a helper that stopped answering; `poll` restarts it.
    pub fn kill(&mut self, reason: &str) {
        if let Some(running) = &mut self.running {
            running.killed_because.get_or_insert_with(|| reason.to_string());
            let _ = running.child.kill();
        }
    }

    /// Asks the helper to destroy its client and exit; kills it if it takes too long.
    pub fn shut_down(&mut self) {
        let Some(mut running) = self.running.take() else { return };
        let _ = running.commands.send(ToHelper::Close);
        drop(running.commands);
        let deadline = Instant::now() + CLOSE_GRACE;
        while Instant::now() < deadline && matches!(running.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = running.child.kill();
        let _ = running.child.wait();
        for thread in running.threads {
            let _ = thread.join();
        }
    }

    fn spawn(&mut self, now: Instant) -> std::io::Result<()> {
        let mut command = Command::new(&self.executable);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C meant for the driver must not kill the helper before
            // the driver's shutdown has flushed the last commits through it.
            .process_group(0);
        os::inherit_only_stdio(&mut command);
        let mut child = command.spawn()?;
        self.generation += 1;
        let generation = self.generation;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (commands, outgoing) = mpsc::channel::<ToHelper>();
        let label = self.label.clone();
        let writer = std::thread::Builder::new().name(format!("kafka-offset-committer-helper-writer[{label}]")).spawn(
            move || {
                let mut stdin = BufWriter::new(stdin);
                for command in outgoing {
                    if write_frame(&mut stdin, &command).is_err() {
                        return; // the helper is gone; its reader reports that
                    }
                }
            },
        )?;
        let reader = self.spawn_reader(generation, stdout)?;
        let errors = spawn_stderr_forwarder(&self.label, child.id(), stderr)?;
        let _ = commands
            .send(ToHelper::Open(OpenClient { cluster_label: self.label.clone(), settings: self.settings.clone() }));
        self.status.pid = Some(child.id());
        self.running = Some(Running {
            child,
            started_at: now,
            commands,
            threads: vec![writer, reader, errors],
            killed_because: None,
        });
        self.schedule.started();
        Ok(())
    }

    fn spawn_reader(&self, generation: u64, stdout: ChildStdout) -> std::io::Result<JoinHandle<()>> {
        let events = self.events.clone();
        let wake = self.wake.clone();
        std::thread::Builder::new().name(format!("kafka-offset-committer-helper-reader[{}]", self.label)).spawn(
            move || {
                let mut stdout = BufReader::new(stdout);
                while let Ok(Some(frame)) = read_frame::<FromHelper>(&mut stdout) {
                    match frame {
                        FromHelper::Log(line) => forward_log_line(&line),
                        frame => {
                            events.push(generation, Event::Frame(frame));
                            wake();
                        }
                    }
                }
                events.push(generation, Event::Ended);
                wake();
            },
        )
    }

    fn restart(&mut self, now: Instant) {
        match self.spawn(now) {
            Ok(()) => {
                self.status.restarts += 1;
                let running = self.running.as_ref().expect("just spawned");
                for request in self.unanswered.values() {
                    let _ = running.commands.send(ToHelper::Commit(request.clone()));
                }
                logging::log(
                    Level::Warn,
                    format!(
                        "[{}] commit helper restarted (pid {}, restart {}); {} unanswered commits re-sent",
                        self.label,
                        running.child.id(),
                        self.status.restarts,
                        self.unanswered.len()
                    ),
                );
            }
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

    fn helper_ended(&mut self, now: Instant) {
        let Some(running) = &self.running else { return };
        let (pid, started_at) = (running.child.id(), running.started_at);
        let how = self.reap();
        let delay = self.schedule.helper_exited(now, started_at);
        self.status.pid = None;
        self.status.last_exit = Some(HelperExit { description: how.clone(), at_epoch_ms: epoch_millis() });
        logging::log(
            Level::Error,
            format!(
                "[{}] the commit helper (pid {pid}) {how}; the JVM is unaffected; restarting it in {} ms, \
                 then re-sending {} unanswered commits",
                self.label,
                delay.as_millis(),
                self.unanswered.len()
            ),
        );
    }

    /// Waits for the ended helper (killing it if it lingers) and says how it ended.
    fn reap(&mut self) -> String {
        let Some(mut running) = self.running.take() else { return "was not running".into() };
        drop(running.commands);
        let deadline = Instant::now() + CLOSE_GRACE;
        let status = loop {
            match running.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = running.child.kill();
                    break running.child.wait().ok();
                }
            }
        };
        for thread in running.threads {
            let _ = thread.join();
        }
        let how = status.map_or_else(|| "ended".to_string(), describe_exit);
        match running.killed_because {
            Some(reason) => format!("{how} (killed by us: {reason})"),
            None => how,
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn spawn_stderr_forwarder(label: &str, pid: u32, stderr: ChildStderr) -> std::io::Result<JoinHandle<()>> {
    let label = label.to_string();
    std::thread::Builder::new().name(format!("kafka-offset-committer-helper-stderr[{label}]")).spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            logging::log(Level::Warn, format!("[{label}] commit helper (pid {pid}): {line}"));
        }
    })
}

/// A helper's log line arrives rendered `LEVEL message`; it joins this process's buffer as such.
fn forward_log_line(line: &str) {
    let (level, message) = line.split_once(' ').unwrap_or(("INFO", line));
    let level = match level {
        "ERROR" => Level::Error,
        "WARN" => Level::Warn,
        "DEBUG" => Level::Debug,
        _ => Level::Info,
    };
    logging::log(level, message);
}

fn describe_exit(status: ExitStatus) -> String {
    if let Some(signal) = status.signal() {
        let name = match signal {
            6 => " (SIGABRT)",
            9 => " (SIGKILL)",
            11 => " (SIGSEGV)",
            15 => " (SIGTERM)",
            7 => " (SIGBUS)",
            _ => "",
        };
        return format!("was ended by signal {signal}{name}");
    }
    format!("exited with code {}", status.code().unwrap_or(-1))
}
