//! One Kafka cluster: its groups' state, shared by every committer on the cluster, and the worker
//! thread that owns the cluster's executor (the helper process, or the JVM executor).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::executor::Executor;
use super::group::Group;
use super::jvm_executor::{JvmChannel, JvmExecutor};
use super::worker;
use crate::config::{self, EngineSettings, Translated};
use crate::error::CommitterError;
use crate::helper::protocol::{Fault, OAuthLogin};
use crate::helper::supervisor::{HelperStatus, Supervisor, WakeFn};
use crate::logging::{self, Level};
pub(super) use crate::mailbox::lock;
use crate::mailbox::Mailbox;

pub(super) struct State {
    pub(super) groups: HashMap<String, Group>,
    pub(super) next_request_id: u64,
    pub(super) stopping: bool,
    /// Open committers on this cluster. With none and no group left, the worker retires the
    /// cluster (see `worker::step`); a retired cluster takes no new committer.
    pub(super) committers: usize,
    pub(super) retired: bool,
    /// The JVM exits: groups parked while Kafka was away are tried again within the exit window.
    pub(super) exiting: bool,
    /// The helper as the worker last saw it.
    pub(super) helper: HelperStatus,
    /// Test-only faults for the worker to hand to the helper.
    pub(super) faults: Vec<Fault>,
    /// The latest OAUTHBEARER token the application pushed, or why its login handler made none,
    /// for the worker to hand to the helper.
    pub(super) oauth_login: Option<OAuthLogin>,
    /// When a group parked after its retries ran out tries again (see `worker::probe_parked_groups`).
    pub(super) next_probe_at: Option<Instant>,
}

pub(super) struct Shared {
    pub(super) label: String,
    pub(super) settings: EngineSettings,
    pub(super) state: Mutex<State>,
    /// Signalled whenever a group's progress changes; `flush` and `commit_sync` wait on it.
    pub(super) progressed: Condvar,
    /// Wakes the worker; submissions, answers and helper events all do.
    pub(super) wake: Mailbox<()>,
}

impl Shared {
    /// Waits until each of `groups` has settled what was submitted to it so far (see
    /// [`Group::settled`]), the cluster stops, or `timeout` passes; returns the state so the
    /// caller can judge the outcome under the same lock.
    pub(super) fn wait_until_settled(&self, groups: &[String], timeout: Duration) -> MutexGuard<'_, State> {
        let state = lock(&self.state);
        let targets: Vec<(&String, u64)> =
            groups.iter().filter_map(|g| state.groups.get(g).map(|s| (g, s.submitted_seq()))).collect();
        let (state, _) = self
            .progressed
            .wait_timeout_while(state, timeout, |s| {
                !s.stopping
                    && targets
                        .iter()
                        .any(|(g, target)| s.groups.get(*g).is_some_and(|group| !group.settled(*target, s.exiting)))
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state
    }
}

pub struct Cluster {
    pub(super) shared: Arc<Shared>,
    /// The JVM thread's side of the JVM executor, when the cluster has one.
    pub(super) jvm: Option<Arc<JvmChannel>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Cluster {
    /// Starts the cluster's executor (for the helper, librdkafka validates the settings there) and
    /// its worker. The caller is counted in as its first committer: the worker, running from here
    /// on, must never find a new cluster without committers and retire it before its opener is in.
    pub(super) fn open(settings: &Translated) -> Result<Arc<Cluster>, CommitterError> {
        let label =
            settings.client.get("bootstrap.servers").map(|servers| servers.expose().to_string()).unwrap_or_default();
        let shared = Arc::new(Shared {
            label: label.clone(),
            settings: settings.engine.clone(),
            state: Mutex::new(State {
                groups: HashMap::new(),
                next_request_id: 1,
                stopping: false,
                committers: 1,
                retired: false,
                exiting: false,
                helper: HelperStatus::default(),
                faults: Vec::new(),
                oauth_login: None,
                next_probe_at: None,
            }),
            progressed: Condvar::new(),
            wake: Mailbox::default(),
        });
        let waker = Arc::downgrade(&shared);
        let wake: Arc<WakeFn> = Arc::new(move || {
            if let Some(shared) = waker.upgrade() {
                shared.wake.wake();
            }
        });
        let (executor, jvm): (Box<dyn Executor>, _) = match settings.executor.executor {
            config::Executor::Native => {
                let client_settings = settings.client.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                let supervisor = Supervisor::start(&label, client_settings, wake).map_err(CommitterError::Client)?;
                (Box::new(supervisor), None)
            }
            config::Executor::Jvm { .. } => {
                let channel = JvmChannel::new(wake);
                (Box::new(JvmExecutor::new(channel.clone())), Some(channel))
            }
        };
        lock(&shared.state).helper = executor.status();
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name(format!("kafka-offset-committer[{label}]"))
            .spawn(move || worker::run(worker_shared, executor))
            .map_err(|e| CommitterError::Client(format!("cannot start the commit thread: {e}")))?;
        let executor =
            if jvm.is_some() { "JVM executor (Kafka's Java client)" } else { "native executor (librdkafka)" };
        logging::log(Level::Info, format!("[{label}] commits run on the {executor}: {}", settings.executor.reason));
        for (key, reason) in &settings.dropped {
            logging::log(Level::Info, format!("[{label}] setting `{key}` is not passed to librdkafka: {reason}"));
        }
        Ok(Arc::new(Cluster { shared, jvm, worker: Mutex::new(Some(worker)) }))
    }

    /// Counts a new committer in, unless the cluster retired or stops (then the caller opens a
    /// new cluster).
    pub(super) fn add_committer(&self) -> bool {
        let mut state = lock(&self.shared.state);
        let open = !state.retired && !state.stopping;
        if open {
            state.committers += 1;
        }
        open
    }

    /// Whether the worker retired the cluster (no committer, no group left) or it was shut down.
    pub(super) fn retired(&self) -> bool {
        let state = lock(&self.shared.state);
        state.retired || state.stopping
    }

    /// Stops the worker and the helper; later submissions fail with `Closed`.
    pub(super) fn shut_down(&self) {
        lock(&self.shared.state).stopping = true;
        self.shared.wake.wake();
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
