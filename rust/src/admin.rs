//! The only raw librdkafka calls of the crate: AlterConsumerGroupOffsets on a private queue.
//!
//! rust-rdkafka has no safe binding for AlterConsumerGroupOffsets, which commits offsets for a
//! group without joining it. That is what lets one client per cluster serve any number of
//! groups (a consumer would be needed per group otherwise).

use std::ffi::{c_void, CStr, CString};
use std::os::raw::c_char;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::bindings as rdsys;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use crate::commit::{CommitRequest, CommitResponse, KafkaFailure, PartitionResponse};
use crate::logging::{self, Level};

/// Repeated global errors of the same kind (e.g. "all brokers down" every second while Kafka is
/// away) are logged at most this often.
const CLIENT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Routes librdkafka's log lines and global errors into the log buffer, and remembers the last
/// permanent global error: a wrong password surfaces only there, while the request itself just
/// times out (and later "all brokers down" errors would hide it).
pub struct CommitterContext {
    cluster_label: String,
    last_permanent_error: Mutex<Option<(KafkaFailure, Instant)>>,
    last_logged_error: Mutex<Option<(RDKafkaErrorCode, Instant)>>,
}

impl ClientContext for CommitterContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let level = match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                Level::Error
            }
            RDKafkaLogLevel::Warning => Level::Warn,
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => Level::Info,
            RDKafkaLogLevel::Debug => Level::Debug,
        };
        logging::log(level, format!("librdkafka [{}] {facility}: {message}", self.cluster_label));
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let Some(code) = error.rdkafka_error_code() else {
            logging::log(Level::Warn, format!("Kafka client [{}]: {error}: {reason}", self.cluster_label));
            return;
        };
        let now = Instant::now();
        {
            let mut last_logged = self.last_logged_error.lock().unwrap_or_else(|p| p.into_inner());
            let repeated = last_logged
                .is_some_and(|(last, at)| last == code && now.duration_since(at) < CLIENT_ERROR_LOG_INTERVAL);
            if !repeated {
                *last_logged = Some((code, now));
                logging::log(Level::Warn, format!("Kafka client [{}]: {error}: {reason}", self.cluster_label));
            }
        }
        let failure = KafkaFailure { code, message: reason.to_string() };
        if !failure.is_retriable() {
            *self.last_permanent_error.lock().unwrap_or_else(|p| p.into_inner()) = Some((failure, now));
        }
    }
}

impl ProducerContext for CommitterContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {} // the client never produces
}

/// Called by librdkafka (on one of its threads) when the result queue becomes non-empty.
pub type WakeFn = dyn Fn() + Send + Sync;

/// Log and error events served per worker wake-up at most, so a flood cannot starve commits.
const MAX_EVENTS_PER_SERVE: usize = 1000;

/// A librdkafka client plus the private queue its commit results arrive on.
pub struct AdminConnection {
    // A producer-type handle is the lightest client librdkafka offers and admin requests work on
    // it; rust-rdkafka's producer also dispatches log and error events to our context when polled.
    client: BaseProducer<CommitterContext>,
    main_queue: *mut rdsys::rd_kafka_queue_t,
    results: *mut rdsys::rd_kafka_queue_t,
    // Kept alive for as long as librdkafka may call `wake_trampoline` with a pointer to it.
    wake: *mut Arc<WakeFn>,
}

// SAFETY: librdkafka handles and queues are thread-safe; the connection is used from one worker
// thread at a time and only moved between threads as a whole.
unsafe impl Send for AdminConnection {}

unsafe extern "C" fn wake_trampoline(_rk: *mut rdsys::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `*mut Arc<WakeFn>` installed in `connect`, freed only after the
    // callback has been disabled. A panic must not unwind into C.
    let wake = unsafe { &*(opaque as *const Arc<WakeFn>) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wake()));
}

impl AdminConnection {
    /// Creates the client. librdkafka validates every setting here, so a bad value fails at
    /// configuration time with librdkafka's own message.
    pub fn connect(settings: &[(String, String)], cluster_label: &str, wake: Arc<WakeFn>) -> Result<Self, String> {
        let mut config = ClientConfig::new();
        for (key, value) in settings {
            config.set(key, value);
        }
        config.set_log_level(RDKafkaLogLevel::Info);
        let context = CommitterContext {
            cluster_label: cluster_label.to_string(),
            last_permanent_error: Mutex::new(None),
            last_logged_error: Mutex::new(None),
        };
        let client: BaseProducer<CommitterContext> = config.create_with_context(context).map_err(|e| e.to_string())?;
        let wake = Box::into_raw(Box::new(wake));
        // SAFETY: the client pointer is valid for the client's lifetime; the queues and the
        // callback are torn down in `Drop` before the client.
        let (main_queue, results) = unsafe {
            let rk = client.client().native_ptr();
            let results = rdsys::rd_kafka_queue_new(rk);
            rdsys::rd_kafka_queue_cb_event_enable(results, Some(wake_trampoline), wake as *mut c_void);
            (rdsys::rd_kafka_queue_get_main(rk), results)
        };
        Ok(AdminConnection { client, main_queue, results, wake })
    }

    /// Sends one commit request without waiting; its answer comes from `poll_response`.
    pub fn send_commit(&self, request: &CommitRequest) -> Result<(), String> {
        let mut partitions = TopicPartitionList::with_capacity(request.offsets.len());
        for (topic, partition, offset) in &request.offsets {
            partitions
                .add_partition_offset(topic, *partition, rdkafka::Offset::Offset(*offset))
                .map_err(|e| e.to_string())?;
        }
        for mut element in partitions.elements() {
            element.set_metadata(&request.metadata);
        }
        let group =
            CString::new(request.group.as_str()).map_err(|_| "group id contains a NUL character".to_string())?;
        let timeout_ms = i32::try_from(request.timeout_ms).unwrap_or(i32::MAX);
        let mut errstr = [0 as c_char; 256];
        // SAFETY: every pointer passed is valid for the call; librdkafka copies the request and
        // the options, so both are destroyed right after it returns.
        unsafe {
            let rk = self.client.client().native_ptr();
            let options = rdsys::rd_kafka_AdminOptions_new(
                rk,
                rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
            );
            let set = rdsys::rd_kafka_AdminOptions_set_request_timeout(
                options,
                timeout_ms,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
            if set != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                rdsys::rd_kafka_AdminOptions_destroy(options);
                return Err(CStr::from_ptr(errstr.as_ptr()).to_string_lossy().into_owned());
            }
            rdsys::rd_kafka_AdminOptions_set_opaque(options, request.request_id as usize as *mut c_void);
            let mut alter = rdsys::rd_kafka_AlterConsumerGroupOffsets_new(group.as_ptr(), partitions.ptr());
            rdsys::rd_kafka_AlterConsumerGroupOffsets(rk, &mut alter, 1, options, self.results);
            rdsys::rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
            rdsys::rd_kafka_AdminOptions_destroy(options);
        }
        Ok(())
    }

    /// Takes one finished request's response, if any, without blocking.
    pub fn poll_response(&self) -> Option<CommitResponse> {
        loop {
            // SAFETY: the queue is valid; each event is destroyed once read.
            unsafe {
                let event = rdsys::rd_kafka_queue_poll(self.results, 0);
                if event.is_null() {
                    return None;
                }
                let response = read_response(event);
                rdsys::rd_kafka_event_destroy(event);
                if let Some(response) = response {
                    return Some(response);
                }
            }
        }
    }

    /// Serves the client's log and error events; they queue up on the main queue otherwise.
    pub fn serve_callbacks(&self) {
        for _ in 0..MAX_EVENTS_PER_SERVE {
            // SAFETY: the main queue handle stays valid until `Drop`.
            if unsafe { rdsys::rd_kafka_queue_length(self.main_queue) } == 0 {
                return;
            }
            self.client.poll(Duration::ZERO);
        }
    }

    /// The last permanent global error (e.g. SASL authentication failed), if it happened within
    /// `within`: older ones no longer explain a failure.
    pub fn recent_permanent_client_error(&self, within: Duration) -> Option<KafkaFailure> {
        let last = self.client.context().last_permanent_error.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref().filter(|(_, at)| at.elapsed() <= within).map(|(failure, _)| failure.clone())
    }
}

impl Drop for AdminConnection {
    fn drop(&mut self) {
        // SAFETY: disabling the callback before destroying the queue guarantees librdkafka no
        // longer holds `wake`; the client is destroyed afterwards by its own Drop.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(self.results, None, ptr::null_mut());
            rdsys::rd_kafka_queue_destroy(self.results);
            rdsys::rd_kafka_queue_destroy(self.main_queue);
            drop(Box::from_raw(self.wake));
        }
    }
}

fn failure_from(code: rdsys::rd_kafka_resp_err_t, message: *const c_char) -> Option<KafkaFailure> {
    if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return None;
    }
    let code = RDKafkaErrorCode::from(code);
    let message = if message.is_null() {
        code.to_string()
    } else {
        // SAFETY: librdkafka returns NUL-terminated strings owned by the event.
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
    };
    Some(KafkaFailure { code, message })
}

/// Reads an AlterConsumerGroupOffsets result event; other event types yield `None`.
///
/// # Safety
/// `event` must be a valid event from the results queue, not yet destroyed.
unsafe fn read_response(event: *mut rdsys::rd_kafka_event_t) -> Option<CommitResponse> {
    if rdsys::rd_kafka_event_type(event) != rdsys::RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT {
        return None;
    }
    let request_id = rdsys::rd_kafka_event_opaque(event) as usize as u64;
    let mut response = CommitResponse {
        request_id,
        request_failure: failure_from(rdsys::rd_kafka_event_error(event), rdsys::rd_kafka_event_error_string(event)),
        partitions: Vec::new(),
        client_error: None,
    };
    let result = rdsys::rd_kafka_event_AlterConsumerGroupOffsets_result(event);
    if result.is_null() {
        return Some(response);
    }
    let mut group_count = 0usize;
    let groups = rdsys::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &mut group_count);
    for index in 0..group_count {
        let group = *groups.add(index);
        let group_error = rdsys::rd_kafka_group_result_error(group);
        if !group_error.is_null() && response.request_failure.is_none() {
            response.request_failure =
                failure_from(rdsys::rd_kafka_error_code(group_error), rdsys::rd_kafka_error_string(group_error));
        }
        let list = rdsys::rd_kafka_group_result_partitions(group);
        if list.is_null() || (*list).cnt <= 0 {
            continue;
        }
        let elements = std::slice::from_raw_parts((*list).elems, (*list).cnt as usize);
        for element in elements {
            response.partitions.push(PartitionResponse {
                topic: CStr::from_ptr(element.topic).to_string_lossy().into_owned(),
                partition: element.partition,
                offset: element.offset,
                failure: failure_from(element.err, ptr::null()),
            });
        }
    }
    Some(response)
}
