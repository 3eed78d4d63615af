//! The JVM executor: runs a cluster's commit requests with Kafka's Java client, for logins
//! librdkafka cannot make (Kerberos, delegation tokens, other JAAS login modules).
//!
//! No native thread calls into the JVM. The worker puts requests into a [`JvmChannel`] (at most
//! one per group, so the queue is bounded by the number of groups); one JVM thread per cluster
//! pulls them through a blocking JNI call with a timeout and answers through another. A request the
//! JVM leaves unanswered past its deadline is given up like a killed helper's: the worker's
//! watchdog calls [`Executor::kill`], every request held is lost with [`RequestLoss::Killed`], and
//! an answer that comes later is dropped here.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::bindings::rd_kafka_resp_err_t;
use rdkafka::types::RDKafkaErrorCode;

use super::executor::{Executor, ExecutorEvent};
use crate::commit::{CommitRequest, CommitResponse, KafkaFailure, PartitionResponse, RequestLoss};
use crate::helper::protocol::{Fault, OAuthLogin};
use crate::helper::supervisor::{HelperStatus, WakeFn};
use crate::mailbox::lock;

/// What the JVM thread's pull gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Pulled {
    Request(CommitRequest),
    /// Nothing arrived within the wait.
    Nothing,
    /// The cluster is closed: the JVM thread ends.
    Closed,
}

/// One partition's outcome as the JVM reports it: Kafka's error code (0: committed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JvmPartitionAnswer {
    pub topic: String,
    pub partition: i32,
    pub error_code: i32,
    pub error_message: String,
}

/// The JVM's answer to one request. `request_error`: the call failed as a whole (e.g. it could
/// not be made, or authentication failed), with Kafka's error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JvmAnswer {
    pub request_id: u64,
    pub partitions: Vec<JvmPartitionAnswer>,
    pub request_error: Option<(i32, String)>,
}

#[derive(Default)]
struct Channel {
    queued: VecDeque<CommitRequest>,
    /// Requests the JVM pulled, by id, until their answer or a kill.
    pulled: HashMap<u64, CommitRequest>,
    answers: Vec<CommitResponse>,
    closed: bool,
}

/// The hand-off between the cluster's worker and its JVM thread.
pub struct JvmChannel {
    channel: Mutex<Channel>,
    arrived: Condvar,
    wake_worker: Arc<WakeFn>,
    /// Whether a JVM thread serves the channel (one per cluster).
    served: AtomicBool,
}

impl JvmChannel {
    pub fn new(wake_worker: Arc<WakeFn>) -> Arc<JvmChannel> {
        Arc::new(JvmChannel {
            channel: Mutex::new(Channel::default()),
            arrived: Condvar::new(),
            wake_worker,
            served: AtomicBool::new(false),
        })
    }

    /// True for the one caller that is to start the JVM thread; false while one serves it.
    pub fn take_service(&self) -> bool {
        !self.served.swap(true, Ordering::SeqCst)
    }

    /// The JVM thread ended (or never started): the next committer may start another.
    pub fn service_ended(&self) {
        self.served.store(false, Ordering::SeqCst);
    }

    /// The next request, waiting up to `wait` for one.
    pub fn pull(&self, wait: Duration) -> Pulled {
        let guard = lock(&self.channel);
        let (mut channel, _) = self
            .arrived
            .wait_timeout_while(guard, wait, |c| c.queued.is_empty() && !c.closed)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if channel.closed {
            return Pulled::Closed;
        }
        match channel.queued.pop_front() {
            Some(request) => {
                channel.pulled.insert(request.request_id, request.clone());
                Pulled::Request(request)
            }
            None => Pulled::Nothing,
        }
    }

    /// Takes an answer to a pulled request and wakes the worker; returns false (and drops it) when
    /// the request was given up meanwhile or never pulled.
    pub fn answer(&self, answer: JvmAnswer) -> bool {
        let mut channel = lock(&self.channel);
        let Some(request) = channel.pulled.remove(&answer.request_id) else {
            return false;
        };
        channel.answers.push(response(&request, answer));
        drop(channel);
        (self.wake_worker)();
        true
    }

    fn close(&self) {
        lock(&self.channel).closed = true;
        self.arrived.notify_all();
    }
}

/// Kafka's numeric error code as the engine's code type: broker errors share Kafka's numbers, and
/// client-side ones use librdkafka's negative codes (the JVM side sends `_AUTHENTICATION` for a
/// failed login); an unknown number stays visible as `Unknown`.
fn error_code(number: i32) -> RDKafkaErrorCode {
    rd_kafka_resp_err_t::try_from(number).map(RDKafkaErrorCode::from).unwrap_or(RDKafkaErrorCode::Unknown)
}

/// The answer in the engine's terms. Kafka's Java client reports a failure of the whole request
/// (group authorization, coordinator) on every partition; when all partitions failed with the same
/// error that does not concern one partition, it is the request's failure, as librdkafka reports it.
fn response(request: &CommitRequest, answer: JvmAnswer) -> CommitResponse {
    let offsets: HashMap<(&str, i32), i64> =
        request.offsets.iter().map(|(topic, partition, offset)| ((&**topic, *partition), *offset)).collect();
    let partitions: Vec<PartitionResponse> = answer
        .partitions
        .into_iter()
        .map(|p| PartitionResponse {
            offset: offsets.get(&(p.topic.as_str(), p.partition)).copied().unwrap_or(-1),
            failure: (p.error_code != 0).then(|| KafkaFailure::new(error_code(p.error_code), p.error_message)),
            topic: p.topic,
            partition: p.partition,
        })
        .collect();
    let shared_failure = match partitions.split_first() {
        Some((first, rest)) => first
            .failure
            .clone()
            .filter(|failure| !failure.is_partition_specific())
            .filter(|failure| rest.iter().all(|p| p.failure.as_ref().is_some_and(|f| f.code == failure.code))),
        None => None,
    };
    let request_failure =
        answer.request_error.map(|(code, message)| KafkaFailure::new(error_code(code), message)).or(shared_failure);
    CommitResponse { request_id: request.request_id, request_failure, partitions, client_error: None }
}

/// The worker's side of a [`JvmChannel`].
pub struct JvmExecutor {
    channel: Arc<JvmChannel>,
    /// Set by `kill` until `poll` reports the loss.
    killed_because: Option<String>,
}

impl JvmExecutor {
    pub fn new(channel: Arc<JvmChannel>) -> JvmExecutor {
        JvmExecutor { channel, killed_because: None }
    }
}

impl Executor for JvmExecutor {
    fn name(&self) -> &'static str {
        "JVM executor"
    }

    fn ready(&self) -> bool {
        !lock(&self.channel.channel).closed
    }

    fn send(&mut self, request: CommitRequest) {
        lock(&self.channel.channel).queued.push_back(request);
        self.channel.arrived.notify_all();
    }

    fn poll(&mut self, _now: Instant) -> Vec<ExecutorEvent> {
        let mut channel = lock(&self.channel.channel);
        let mut happened: Vec<ExecutorEvent> = channel.answers.drain(..).map(ExecutorEvent::Answer).collect();
        if let Some(reason) = self.killed_because.take() {
            // Under the same lock as the answers above: an answer is either reported or dropped.
            channel.queued.clear();
            channel.pulled.clear();
            happened.push(ExecutorEvent::Ended {
                loss: RequestLoss::Killed,
                description: format!("(Kafka's Java client in this JVM) was given up on: {reason}"),
                restart_in: None,
            });
        }
        happened
    }

    fn next_due(&self) -> Option<Instant> {
        None
    }

    fn kill(&mut self, reason: &str) {
        self.killed_because = Some(reason.to_string());
        (self.channel.wake_worker)();
    }

    fn killing(&self) -> bool {
        self.killed_because.is_some()
    }

    fn inject_fault(&mut self, _fault: Fault) {
        // Faults crash the helper process, which this executor does not have.
    }

    fn set_oauth_login(&mut self, _login: OAuthLogin) {
        // Kafka's Java client runs the settings' login handler itself.
    }

    fn status(&self) -> HelperStatus {
        HelperStatus::default()
    }

    fn shut_down(&mut self) {
        self.channel.close();
    }
}

impl Drop for JvmExecutor {
    fn drop(&mut self) {
        self.channel.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn executor() -> (JvmExecutor, Arc<JvmChannel>, Arc<AtomicUsize>) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = wakes.clone();
        let channel = JvmChannel::new(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        (JvmExecutor::new(channel.clone()), channel, wakes)
    }

    fn request(request_id: u64, group: &str) -> CommitRequest {
        CommitRequest {
            request_id,
            group: group.into(),
            offsets: vec![("t".into(), 0, 10), ("t".into(), 1, 20)],
            metadata: "m".into(),
            timeout_ms: 30_000,
        }
    }

    fn partition(partition: i32, error_code: i32) -> JvmPartitionAnswer {
        let error_message = if error_code == 0 { String::new() } else { format!("error {error_code}") };
        JvmPartitionAnswer { topic: "t".into(), partition, error_code, error_message }
    }

    fn answer(request_id: u64, codes: [i32; 2]) -> JvmAnswer {
        JvmAnswer { request_id, partitions: vec![partition(0, codes[0]), partition(1, codes[1])], request_error: None }
    }

    fn pulled(channel: &JvmChannel) -> CommitRequest {
        match channel.pull(Duration::ZERO) {
            Pulled::Request(request) => request,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn answers(events: Vec<ExecutorEvent>) -> Vec<CommitResponse> {
        events
            .into_iter()
            .map(|event| match event {
                ExecutorEvent::Answer(response) => response,
                other => panic!("expected an answer, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn requests_are_pulled_in_order_and_answered_with_their_offsets() {
        let (mut executor, channel, wakes) = executor();
        assert!(executor.ready());
        executor.send(request(1, "a"));
        executor.send(request(2, "b"));
        assert_eq!(pulled(&channel).group, "a");
        assert_eq!(pulled(&channel).group, "b");
        assert_eq!(channel.pull(Duration::from_millis(1)), Pulled::Nothing);
        assert!(channel.answer(answer(2, [0, 0])));
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let responses = answers(executor.poll(Instant::now()));
        assert_eq!(responses.len(), 1);
        let response = &responses[0];
        assert_eq!((response.request_id, &response.request_failure), (2, &None));
        let committed: Vec<(i32, i64, bool)> =
            response.partitions.iter().map(|p| (p.partition, p.offset, p.failure.is_none())).collect();
        assert_eq!(committed, vec![(0, 10, true), (1, 20, true)]);
        assert!(executor.poll(Instant::now()).is_empty());
    }

    #[test]
    fn a_pull_waits_for_a_request_sent_meanwhile() {
        let (mut executor, channel, _) = executor();
        let puller = std::thread::spawn(move || channel.pull(Duration::from_secs(60)));
        executor.send(request(7, "a"));
        assert!(matches!(puller.join().unwrap(), Pulled::Request(r) if r.request_id == 7));
    }

    #[test]
    fn a_kill_loses_every_held_request_and_drops_late_answers() {
        let (mut executor, channel, _) = executor();
        executor.send(request(1, "a"));
        executor.send(request(2, "b"));
        executor.send(request(3, "c"));
        pulled(&channel);
        pulled(&channel);
        assert!(channel.answer(answer(1, [0, 0])));
        executor.kill("1 commit requests unanswered past their deadline");
        assert!(executor.killing());
        let events = executor.poll(Instant::now());
        assert!(matches!(&events[0], ExecutorEvent::Answer(r) if r.request_id == 1), "{events:?}");
        assert!(
            matches!(
                &events[1..],
                [ExecutorEvent::Ended { loss: RequestLoss::Killed, restart_in: None, description }]
                    if description.contains("unanswered past their deadline")
            ),
            "{events:?}"
        );
        assert!(!executor.killing());
        assert!(executor.ready(), "the executor takes the lost requests again at once");
        // The pulled request answers late, the queued one was never pulled: neither reaches the worker.
        assert!(!channel.answer(answer(2, [0, 0])));
        assert_eq!(channel.pull(Duration::ZERO), Pulled::Nothing);
        assert!(executor.poll(Instant::now()).is_empty());
    }

    #[test]
    fn closing_ends_a_waiting_pull_and_the_service_is_taken_once_at_a_time() {
        let (mut executor, channel, _) = executor();
        assert!(channel.take_service());
        assert!(!channel.take_service());
        let waiting = channel.clone();
        let puller = std::thread::spawn(move || waiting.pull(Duration::from_secs(600)));
        executor.send(request(1, "a"));
        executor.shut_down();
        // Whether the request was pulled first or not, the next pull says the cluster is closed.
        let first = puller.join().unwrap();
        assert!(matches!(first, Pulled::Request(_) | Pulled::Closed), "{first:?}");
        assert_eq!(channel.pull(Duration::from_secs(600)), Pulled::Closed);
        assert!(!executor.ready());
        channel.service_ended();
        assert!(channel.take_service());
    }

    #[test]
    fn a_failure_of_every_partition_alike_is_the_requests_failure() {
        let failure_of = |codes: [i32; 2], request_error: Option<(i32, String)>| {
            let response = response(&request(1, "a"), JvmAnswer { request_error, ..answer(1, codes) });
            response.request_failure.map(|f| f.code)
        };
        use RDKafkaErrorCode::*;
        assert_eq!(failure_of([30, 30], None), Some(GroupAuthorizationFailed));
        assert_eq!(failure_of([29, 29], None), None, "a topic denial stays with its partitions");
        assert_eq!(failure_of([0, 30], None), None);
        assert_eq!(failure_of([7, 30], None), None);
        assert_eq!(failure_of([0, 0], Some((-169, "login failed".into()))), Some(Authentication));
        assert_eq!(failure_of([0, 0], Some((7, "timed out".into()))), Some(RequestTimedOut));
        assert_eq!(failure_of([0, 0], Some((123_456, "?".into()))), Some(Unknown));
    }
}
