//! The only raw librdkafka calls of the crate: AlterConsumerGroupOffsets on a private queue.
//!
//! rust-rdkafka has no safe binding for AlterConsumerGroupOffsets, which commits offsets for a
//! group without joining it. That is what lets one client per cluster serve any number of
//! groups (a consumer would be needed per group otherwise).

use std::ffi::{c_void, CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::raw::c_char;
use std::ptr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::bindings as rdsys;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use crate::commit::{CommitRequest, CommitResponse, KafkaFailure, PartitionResponse};
use crate::config::SecretValues;
use crate::helper::protocol::OAuthToken;
use crate::logging::{self, Level};
use crate::mailbox::lock;

/// The level of a librdkafka log line here. librdkafka writes a broker connection that failed or dropped
/// (`FAIL`) at its error level, but the client reconnects by itself and the engine retries the commits, so a
/// broker restart is no error: INFO (a lasting outage shows as the group's failure, logged at WARN).
/// Debug lines come only from the contexts `committer.librdkafka.debug` switches on: whoever sets it wants to
/// read them, so they are INFO too; at DEBUG they would need a second switch, the JVM logger's level, which a
/// Spark driver's log4j configuration does not reach.
fn librdkafka_level(level: RDKafkaLogLevel, facility: &str) -> Level {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error
            if facility == "FAIL" =>
        {
            Level::Info
        }
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
            Level::Error
        }
        RDKafkaLogLevel::Warning => Level::Warn,
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => Level::Info,
    }
}

/// Repeated global errors of the same kind (e.g. "all brokers down" every second while Kafka is
/// away) are logged at most this often.
const CLIENT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Whether the cluster's brokers answer, for one line when none does and one when one does again.
#[derive(Debug, Default)]
struct BrokerAbsence {
    /// When every broker was down, until one answers again.
    since: Option<Instant>,
}

impl BrokerAbsence {
    /// Every broker is down. True when that is news: the first time since Kafka last answered.
    fn all_down(&mut self, now: Instant) -> bool {
        let news = self.since.is_none();
        self.since.get_or_insert(now);
        news
    }

    /// A broker answered: how long every broker had been down, if they were.
    fn answered(&mut self, now: Instant) -> Option<Duration> {
        self.since.take().map(|since| now.saturating_duration_since(since))
    }
}

/// Whether a commit's answer came from a broker: a success, or an error a broker sent (Kafka's codes
/// are positive; librdkafka's own, such as a timeout or a failed connection, are negative).
fn answered_by_a_broker(response: &CommitResponse) -> bool {
    response.request_failure.as_ref().is_none_or(|failure| failure.code as i32 > 0)
}

/// Routes librdkafka's log lines and global errors into the log buffer, and remembers the last
/// permanent global error: a wrong password surfaces only there, while the request itself just
/// times out (and later "all brokers down" errors would hide it).
pub struct CommitterContext {
    cluster_label: String,
    /// Scrubbed from every line librdkafka writes about this client.
    secrets: SecretValues,
    last_permanent_error: Mutex<Option<(KafkaFailure, Instant)>>,
    last_logged_error: Mutex<Option<(RDKafkaErrorCode, Instant)>>,
    /// The start of the login failure the application reported (and the JVM side logged): the
    /// global error librdkafka makes of it is recorded but not logged a second time.
    reported_login_failure: Mutex<Option<String>>,
    broker_absence: Mutex<BrokerAbsence>,
}

/// How much of a reported login failure identifies librdkafka's global error about it (which
/// librdkafka may cut short).
const REPORTED_LOGIN_FAILURE_CHARS: usize = 200;

impl ClientContext for CommitterContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let level = librdkafka_level(level, facility);
        let message = self.secrets.scrub(message);
        logging::log(level, format!("librdkafka [{}] {facility}: {message}", self.cluster_label));
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let reason = self.secrets.scrub(reason);
        let label = &self.cluster_label;
        let Some(code) = error.rdkafka_error_code() else {
            logging::log(Level::Warn, format!("librdkafka [{label}] client error: {error}: {reason}"));
            return;
        };
        let now = Instant::now();
        if let RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::Resolve | RDKafkaErrorCode::AllBrokersDown =
            code
        {
            // Only every broker being down is news, once: a failed connection is librdkafka's `FAIL` line too
            // (INFO, identical repeats suppressed by librdkafka), and while no broker answers librdkafka
            // re-bootstraps and reports every broker down again, several times a second.
            if code == RDKafkaErrorCode::AllBrokersDown && lock(&self.broker_absence).all_down(now) {
                logging::log(
                    Level::Warn,
                    format!(
                        "[{label}] no broker of the cluster answers ({reason}); commits are kept and retried until \
                         one does"
                    ),
                );
            }
            return;
        }
        let reported = lock(&self.reported_login_failure)
            .as_ref()
            .is_some_and(|failure| code == RDKafkaErrorCode::Authentication && reason.contains(failure.as_str()));
        if !reported {
            let mut last_logged = lock(&self.last_logged_error);
            let repeated = last_logged
                .is_some_and(|(last, at)| last == code && now.duration_since(at) < CLIENT_ERROR_LOG_INTERVAL);
            if !repeated {
                *last_logged = Some((code, now));
                logging::log(Level::Warn, format!("librdkafka [{label}] client error: {error}: {reason}"));
            }
        }
        let failure = KafkaFailure { code, message: reason };
        if !failure.is_retriable() {
            *lock(&self.last_permanent_error) = Some((failure, now));
        }
    }
}

impl ProducerContext for CommitterContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {} // the client never produces
}

/// Log and error events served per worker wake-up at most, so a flood cannot starve commits.
const MAX_EVENTS_PER_SERVE: usize = 1000;

/// A librdkafka client plus the private queue its commit results arrive on.
pub struct AdminConnection {
    // A producer-type handle is the lightest client librdkafka offers and admin requests work on
    // it; rust-rdkafka's producer also dispatches log and error events to our context when polled.
    client: BaseProducer<CommitterContext>,
    main_queue: *mut rdsys::rd_kafka_queue_t,
    results: *mut rdsys::rd_kafka_queue_t,
    // Where librdkafka asks for a fresh OAUTHBEARER token when the application pushes tokens
    // (`enable_sasl_queue`); null otherwise. Served in `serve_callbacks`.
    sasl_queue: *mut rdsys::rd_kafka_queue_t,
    // The application's latest token: set when pushed, and again whenever librdkafka asks.
    oauth_token: Option<OAuthToken>,
    // Why the application's login handler made no token since the latest one (scrubbed): told
    // to librdkafka when it arrives and whenever librdkafka asks while no token lives.
    oauth_failure: Option<String>,
    // librdkafka writes a byte here when the result queue gets an event while empty (until the
    // queue is read again); kept open for as long as the queue may write to it.
    _results_ready: OwnedFd,
}

// SAFETY: librdkafka handles and queues are thread-safe; the connection is used from one worker
// thread at a time and only moved between threads as a whole.
unsafe impl Send for AdminConnection {}

impl AdminConnection {
    /// Creates the client. librdkafka validates every setting here, so a bad value fails at
    /// configuration time with librdkafka's own reason. The message names the setting and never
    /// shows a secret value (see `creation_failure`). `results_ready` is a non-blocking pipe's write
    /// end: a byte arrives at its read end when an answer waits for `poll_response`.
    pub fn connect(settings: &[(String, String)], cluster_label: &str, results_ready: OwnedFd) -> Result<Self, String> {
        // rust-rdkafka would refuse a NUL with an error that does not say which setting.
        if let Some((key, _)) = settings.iter().find(|(key, value)| key.contains('\0') || value.contains('\0')) {
            return Err(format!("the Kafka setting `{}` contains a NUL character", key.replace('\0', "\\0")));
        }
        let secrets = SecretValues::of(settings);
        let mut config = ClientConfig::new();
        for (key, value) in settings {
            config.set(key, value);
        }
        // rust-rdkafka sets this level after librdkafka created the client, over the debug level librdkafka
        // chose for the `debug` property: with debug contexts only their creation lines would show.
        let debugging = settings.iter().any(|(key, _)| key == "debug");
        config.set_log_level(if debugging { RDKafkaLogLevel::Debug } else { RDKafkaLogLevel::Info });
        let context = CommitterContext {
            cluster_label: cluster_label.to_string(),
            secrets: secrets.clone(),
            last_permanent_error: Mutex::new(None),
            last_logged_error: Mutex::new(None),
            reported_login_failure: Mutex::new(None),
            broker_absence: Mutex::new(BrokerAbsence::default()),
        };
        logging::name_bridged_records(cluster_label, secrets.clone());
        let client: BaseProducer<CommitterContext> =
            config.create_with_context(context).map_err(|e| creation_failure(&e, &secrets))?;
        // A descriptor rather than a callback: the helper's main thread waits for it in `poll`
        // beside its stdin, so an answer wakes the one thread that sends it on.
        const EVENT: &[u8] = b"!";
        // SAFETY: the client pointer is valid for the client's lifetime; librdkafka copies the
        // payload; the queues are torn down in `Drop` before the client, and the descriptor after them.
        let (main_queue, results, sasl_queue) = unsafe {
            let rk = client.client().native_ptr();
            let results = rdsys::rd_kafka_queue_new(rk);
            rdsys::rd_kafka_queue_io_event_enable(
                results,
                results_ready.as_raw_fd(),
                EVENT.as_ptr() as *const c_void,
                EVENT.len(),
            );
            (rdsys::rd_kafka_queue_get_main(rk), results, rdsys::rd_kafka_queue_get_sasl(rk))
        };
        Ok(AdminConnection {
            client,
            main_queue,
            results,
            sasl_queue,
            oauth_token: None,
            oauth_failure: None,
            _results_ready: results_ready,
        })
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
                    self.note_answer(&response);
                    return Some(response);
                }
            }
        }
    }

    /// One line when a broker answers again after every broker was away.
    fn note_answer(&self, response: &CommitResponse) {
        if !answered_by_a_broker(response) {
            return;
        }
        let context = self.client.context();
        if let Some(away) = lock(&context.broker_absence).answered(Instant::now()) {
            logging::log(
                Level::Info,
                format!(
                    "[{}] a broker of the cluster answers again, after {:.1} s away; the kept commits go on",
                    context.cluster_label,
                    away.as_secs_f64()
                ),
            );
        }
    }

    /// Makes `token` (the application's latest) the client's OAUTHBEARER token, now and whenever
    /// librdkafka asks for a fresh one. On refusal librdkafka is told the token failed, and the
    /// reason (librdkafka's, scrubbed of the token) is returned for one log line.
    pub fn set_oauth_token(&mut self, token: OAuthToken) -> Result<(), String> {
        let applied = self.apply_oauth_token(&token);
        self.oauth_token = Some(token);
        self.oauth_failure = None;
        *lock(&self.client.context().reported_login_failure) = None;
        applied
    }

    /// The application's login handler could not make a token: librdkafka is told at once (it
    /// keeps a token that still lives, fails its login otherwise), and is answered with `reason`
    /// whenever it asks for a token until the next one comes. The reason is scrubbed of the
    /// settings' secrets and of the last token before it goes anywhere.
    pub fn set_oauth_token_failure(&mut self, reason: &str) {
        let reason = self.scrub_oauth(reason);
        *lock(&self.client.context().reported_login_failure) =
            Some(reason.chars().take(REPORTED_LOGIN_FAILURE_CHARS).collect());
        self.report_oauth_token_failure(&reason);
        self.oauth_failure = Some(reason);
    }

    /// Why a commit cannot authenticate now: the login handler failed and no token it made still
    /// lives, so librdkafka would hold the request until it times out. `None` when a token lives
    /// or no failure is known.
    pub fn oauth_login_failure(&self) -> Option<KafkaFailure> {
        let reason = self.oauth_failure.as_ref()?;
        if self.living_oauth_token().is_some() {
            return None;
        }
        Some(KafkaFailure::new(RDKafkaErrorCode::Authentication, format!("OAUTHBEARER login failed: {reason}")))
    }

    fn living_oauth_token(&self) -> Option<&OAuthToken> {
        self.oauth_token.as_ref().filter(|token| token.expires_at_epoch_ms > crate::epoch_millis() as i64)
    }

    /// `text` with neither a secret of the settings nor the last token (or an extension value) in it.
    fn scrub_oauth(&self, text: &str) -> String {
        let text = self.client.context().secrets.scrub(text);
        match &self.oauth_token {
            Some(token) => token.redact_from(text),
            None => text,
        }
    }

    fn apply_oauth_token(&self, token: &OAuthToken) -> Result<(), String> {
        let refused = |reason: String| -> String {
            let reason = token.redact_from(reason);
            self.report_oauth_token_failure(&reason);
            format!("librdkafka refused the OAUTHBEARER token: {reason}")
        };
        let c_string = |text: &str, what: &str| {
            CString::new(text).map_err(|_| refused(format!("the {what} contains a NUL character")))
        };
        let value = c_string(&token.value, "token")?;
        let principal = c_string(&token.principal, "principal")?;
        let mut extensions = Vec::with_capacity(token.extensions.len() * 2);
        for (key, extension) in &token.extensions {
            extensions.push(c_string(key, "name of an extension")?);
            extensions.push(c_string(extension, "value of an extension")?);
        }
        let extension_pointers: Vec<*const c_char> = extensions.iter().map(|text| text.as_ptr()).collect();
        let mut errstr = [0 as c_char; 512];
        // SAFETY: every pointer is valid for the call; librdkafka copies what it keeps.
        let code = unsafe {
            rdsys::rd_kafka_oauthbearer_set_token(
                self.client.client().native_ptr(),
                value.as_ptr(),
                token.expires_at_epoch_ms,
                principal.as_ptr(),
                extension_pointers.as_ptr() as *mut *const c_char,
                extension_pointers.len(),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if code == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Ok(());
        }
        // SAFETY: librdkafka wrote a NUL-terminated message into `errstr`.
        Err(refused(unsafe { CStr::from_ptr(errstr.as_ptr()) }.to_string_lossy().into_owned()))
    }

    /// Tells librdkafka that no usable token is at hand: it keeps a token that still lives and asks
    /// again in 10 s, and reports the reason as a client error once per distinct reason.
    fn report_oauth_token_failure(&self, reason: &str) {
        let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the client and the message are valid for the call.
        unsafe { rdsys::rd_kafka_oauthbearer_set_token_failure(self.client.client().native_ptr(), reason.as_ptr()) };
    }

    /// Answers librdkafka's token refresh requests (at 80 % of a token's life, and 10 s after a
    /// failure) with the application's latest token. Before the first token arrives there is
    /// nothing to answer: it comes right after the client's start, and is set when it does.
    fn serve_oauth_token_refresh(&self) {
        if self.sasl_queue.is_null() {
            return;
        }
        loop {
            // SAFETY: the queue is valid until `Drop`; each event is destroyed once read.
            let refresh_requested = unsafe {
                let event = rdsys::rd_kafka_queue_poll(self.sasl_queue, 0);
                if event.is_null() {
                    return;
                }
                let requested = rdsys::rd_kafka_event_type(event) == rdsys::RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH;
                rdsys::rd_kafka_event_destroy(event);
                requested
            };
            if !refresh_requested {
                continue;
            }
            match (self.living_oauth_token(), &self.oauth_failure) {
                (Some(token), _) => {
                    if let Err(reason) = self.apply_oauth_token(token) {
                        logging::log(Level::Warn, reason);
                    }
                }
                (None, Some(reason)) => self.report_oauth_token_failure(reason),
                (None, None) if self.oauth_token.is_some() => self.report_oauth_token_failure(
                    "the OAUTHBEARER token expired before the JVM's login handler renewed it",
                ),
                (None, None) => {}
            }
        }
    }

    /// Serves the client's log and error events; they queue up on the main queue otherwise.
    pub fn serve_callbacks(&self) {
        self.serve_oauth_token_refresh();
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
        let last = lock(&self.client.context().last_permanent_error);
        last.as_ref().filter(|(_, at)| at.elapsed() <= within).map(|(failure, _)| failure.clone())
    }
}

impl Drop for AdminConnection {
    fn drop(&mut self) {
        // SAFETY: disabling the event before destroying the queue guarantees librdkafka no longer
        // writes to `_results_ready` (closed after this); the client is destroyed afterwards by its
        // own Drop.
        unsafe {
            rdsys::rd_kafka_queue_io_event_enable(self.results, -1, ptr::null(), 0);
            rdsys::rd_kafka_queue_destroy(self.results);
            rdsys::rd_kafka_queue_destroy(self.main_queue);
            if !self.sasl_queue.is_null() {
                rdsys::rd_kafka_queue_destroy(self.sasl_queue);
            }
        }
    }
}

/// Why librdkafka refused to create the client, from the setting's name and librdkafka's own
/// reason only. rust-rdkafka's `Display` of `ClientConfig` appends the refused value, a password
/// if that is what was refused, so the error is never formatted as a whole. librdkafka's reason
/// echoes the value for some refusals ("Invalid value for configuration property ...: <value>",
/// in `rd_kafka_anyconf_set_prop`); no secret-valued property takes those paths today, and the
/// reason is scrubbed of every secret value anyway, as are the reasons `rd_kafka_new` gives
/// (OpenSSL's, for unreadable keys and certificates).
fn creation_failure(error: &KafkaError, secrets: &SecretValues) -> String {
    match error {
        KafkaError::ClientConfig(_, reason, key, _value) => {
            format!("librdkafka refused the setting `{key}`: {}", secrets.scrub(reason.trim_end()))
        }
        KafkaError::ClientCreation(reason) => {
            format!("librdkafka refused the settings: {}", secrets.scrub(reason.trim_end()))
        }
        other => match other.rdkafka_error_code() {
            Some(code) => format!("librdkafka could not set up the client: {code}"),
            None => "librdkafka could not set up the client".to_string(),
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_connection_failure_is_no_error_but_other_errors_are() {
        assert_eq!(librdkafka_level(RDKafkaLogLevel::Error, "FAIL"), Level::Info);
        assert_eq!(librdkafka_level(RDKafkaLogLevel::Error, "SSL"), Level::Error);
        assert_eq!(librdkafka_level(RDKafkaLogLevel::Warning, "FAIL"), Level::Warn);
        assert_eq!(librdkafka_level(RDKafkaLogLevel::Debug, "BROKER"), Level::Info, "asked for");
    }

    #[test]
    fn a_broker_absence_is_logged_once_and_its_end_once_with_its_length() {
        let t0 = Instant::now();
        let mut absence = BrokerAbsence::default();
        assert_eq!(absence.answered(t0), None, "nothing was away");
        assert!(absence.all_down(t0), "every broker down: logged");
        assert!(!absence.all_down(t0 + Duration::from_secs(9)), "once per absence");
        assert_eq!(absence.answered(t0 + Duration::from_secs(20)), Some(Duration::from_secs(20)));
        assert_eq!(absence.answered(t0 + Duration::from_secs(21)), None, "its end is logged once");
        assert!(absence.all_down(t0 + Duration::from_secs(40)), "the next absence is logged again");
    }

    #[test]
    fn only_a_success_or_a_brokers_error_proves_an_answer() {
        let failed = |code| CommitResponse::failed(1, KafkaFailure::new(code, "x"));
        assert!(answered_by_a_broker(&CommitResponse {
            request_id: 1,
            request_failure: None,
            partitions: Vec::new(),
            client_error: None
        }));
        assert!(answered_by_a_broker(&failed(RDKafkaErrorCode::NotCoordinator)));
        assert!(answered_by_a_broker(&failed(RDKafkaErrorCode::GroupAuthorizationFailed)));
        assert!(!answered_by_a_broker(&failed(RDKafkaErrorCode::OperationTimedOut)));
        assert!(!answered_by_a_broker(&failed(RDKafkaErrorCode::BrokerTransportFailure)));
        assert!(!answered_by_a_broker(&failed(RDKafkaErrorCode::AllBrokersDown)));
    }

    #[test]
    fn librdkafka_takes_every_debug_context_the_settings_accept() {
        for context in crate::config::engine_keys::LIBRDKAFKA_DEBUG_CONTEXTS {
            if let Err(refusal) = connect(&owned(&[("debug", context)])) {
                panic!("librdkafka refused the debug context `{context}`: {refusal}");
            }
        }
        let refusal = connect(&owned(&[("debug", "sockets")])).err().expect("an unknown context is refused");
        assert!(refusal.contains("`debug`"), "{refusal}");
    }

    /// A throwaway EC key, encrypted with a passphrase no test uses: any password given for it is
    /// refused by OpenSSL ("bad decrypt").
    const ENCRYPTED_KEY: &str = include_str!("../tests/fixtures/encrypted_key.pem");

    /// A value no librdkafka or OpenSSL text contains by chance, distinct per case.
    fn canary(case: usize) -> String {
        format!("Canary{case}xQz7Vw")
    }

    fn pem(label: &str, body: &str) -> String {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    }

    fn connect(settings: &[(String, String)]) -> Result<AdminConnection, String> {
        // Nobody waits for results here: the event byte may go nowhere.
        let results_ready = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
        AdminConnection::connect(settings, "secrets-test", results_ready.into())
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut settings = vec![("bootstrap.servers".to_string(), "localhost:1".to_string())];
        settings.extend(pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())));
        settings
    }

    /// Everything the client logged so far, after serving its queued log events.
    fn drained_lines() -> Vec<String> {
        logging::drain(Duration::ZERO)
    }

    fn assert_no_canary(label: &str, canary: &str, text: &str) {
        let shown = text.to_ascii_lowercase();
        assert!(!shown.contains(&canary.to_ascii_lowercase()), "{label}: the planted secret shows in: {text}");
    }

    #[test]
    fn librdkafka_refusing_a_secret_setting_names_the_setting_never_the_value() {
        let keystore_file = std::env::temp_dir().join(format!("not-a-keystore-{}.p12", std::process::id()));
        std::fs::write(&keystore_file, "not PKCS#12").unwrap();
        let keystore_path = keystore_file.to_string_lossy().into_owned();
        // (what librdkafka refuses, a setting holding the planted secret -> the other settings,
        // what the refusal must name)
        type Case = (&'static str, fn(&str, &str) -> Vec<(String, String)>, &'static str);
        let cases: Vec<Case> = vec![
            (
                "OIDC client secret: not supported in this build",
                |c, _| owned(&[("sasl.oauthbearer.client.secret", c)]),
                "sasl.oauthbearer.client.secret",
            ),
            (
                "OIDC client secret under its alias",
                |c, _| owned(&[("sasl.oauthbearer.client.credentials.client.secret", c)]),
                "sasl.oauthbearer.client.credentials.client.secret",
            ),
            (
                "JWT assertion key passphrase: not supported in this build",
                |c, _| owned(&[("sasl.oauthbearer.assertion.private.key.passphrase", c)]),
                "sasl.oauthbearer.assertion.private.key.passphrase",
            ),
            (
                "JWT assertion key: not supported in this build",
                |c, _| owned(&[("sasl.oauthbearer.assertion.private.key.pem", &pem("PRIVATE KEY", c))]),
                "sasl.oauthbearer.assertion.private.key.pem",
            ),
            ("the internal key setting: not settable", |c, _| owned(&[("ssl_key", c)]), "ssl_key"),
            (
                "an unparsable PEM key",
                |c, _| owned(&[("security.protocol", "ssl"), ("ssl.key.pem", &pem("PRIVATE KEY", c))]),
                "ssl.key.pem",
            ),
            (
                "a wrong key password",
                |c, _| owned(&[("security.protocol", "ssl"), ("ssl.key.pem", ENCRYPTED_KEY), ("ssl.key.password", c)]),
                "ssl.key.pem",
            ),
            (
                "an unparsable client certificate",
                |c, _| owned(&[("security.protocol", "ssl"), ("ssl.certificate.pem", &pem("CERTIFICATE", c))]),
                "ssl.certificate.pem",
            ),
            (
                "unparsable CA certificates",
                |c, _| owned(&[("security.protocol", "ssl"), ("ssl.ca.pem", &pem("CERTIFICATE", c))]),
                "ssl.ca.pem",
            ),
            (
                "a keystore password for a file that is no keystore",
                |c, path| {
                    owned(&[
                        ("security.protocol", "ssl"),
                        ("ssl.keystore.location", path),
                        ("ssl.keystore.password", c),
                    ])
                },
                "ssl.keystore.location",
            ),
            (
                "a SASL password without a user name",
                |c, _| {
                    owned(&[("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"), ("sasl.password", c)])
                },
                "sasl.password",
            ),
            (
                "a SASL password with a NUL character",
                |c, _| owned(&[("sasl.username", "u"), ("sasl.password", &format!("{c}\0{c}"))]),
                "sasl.password",
            ),
        ];
        for (index, (label, settings, named)) in cases.into_iter().enumerate() {
            let canary = canary(index);
            let settings = settings(&canary, &keystore_path);
            assert!(settings.iter().any(|(_, value)| value.contains(&canary)), "{label}: no secret planted");
            let refusal = match connect(&settings) {
                Ok(_) => panic!("{label}: librdkafka accepted the settings"),
                Err(refusal) => refusal,
            };
            assert!(refusal.contains(&format!("`{named}`")) || refusal.contains(named), "{label}: {refusal}");
            assert_no_canary(label, &canary, &refusal);
            for line in drained_lines() {
                assert_no_canary(label, &canary, &line);
            }
        }
        std::fs::remove_file(keystore_file).unwrap();
    }

    #[test]
    fn a_login_failure_fails_commits_at_once_while_no_token_lives_and_shows_no_secret() {
        let canary = canary(200);
        let settings = owned(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("enable_sasl_queue", "true"),
            ("ssl.key.password", &canary),
        ]);
        let mut connection = match connect(&settings) {
            Ok(connection) => connection,
            Err(refusal) => panic!("client not created: {refusal}"),
        };
        assert!(connection.oauth_login_failure().is_none(), "no failure is known yet");
        connection.set_oauth_token_failure(&format!("the endpoint answered 401 for {canary}"));
        let failure = connection.oauth_login_failure().expect("no token lives: commits fail at once");
        assert_eq!(failure.code, RDKafkaErrorCode::Authentication);
        assert!(failure.message.contains("the endpoint answered 401 for [redacted]"), "{}", failure.message);
        connection.serve_callbacks();
        let told = connection.recent_permanent_client_error(Duration::from_secs(60)).expect("librdkafka was told");
        assert_eq!(told.code, RDKafkaErrorCode::Authentication);
        assert!(told.message.contains("the endpoint answered 401 for [redacted]"), "{}", told.message);
        let lines = drained_lines();
        // The JVM side logs the failure once; librdkafka's global error about it is no second line.
        assert!(!lines.iter().any(|line| line.contains("the endpoint answered 401")), "{lines:?}");
        for line in &lines {
            assert_no_canary("login failure", &canary, line);
        }
        let token_value = "eyJ.token-canary-200.sig";
        let token = OAuthToken {
            value: token_value.into(),
            expires_at_epoch_ms: crate::epoch_millis() as i64 + 600_000,
            principal: "committer".into(),
            extensions: Vec::new(),
        };
        connection.set_oauth_token(token).expect("librdkafka takes the token");
        assert!(connection.oauth_login_failure().is_none(), "a token came");
        connection.set_oauth_token_failure(&format!("refresh refused; last token {token_value}"));
        assert!(connection.oauth_login_failure().is_none(), "the last token still lives");
        let kept = connection.oauth_failure.clone().unwrap_or_default();
        assert!(kept.contains("refresh refused") && !kept.contains(token_value), "{kept}");
        connection.serve_callbacks();
        for line in drained_lines() {
            assert_no_canary("login failure", &canary, &line);
            assert!(!line.contains(token_value), "{line}");
        }
    }

    #[test]
    fn librdkafkas_reason_for_a_plain_value_is_kept() {
        let refusal = match connect(&owned(&[("security.protocol", "carrier-pigeon")])) {
            Ok(_) => panic!("librdkafka accepted an unknown security protocol"),
            Err(refusal) => refusal,
        };
        assert_eq!(
            refusal,
            "librdkafka refused the setting `security.protocol`: Invalid value \"carrier-pigeon\" for \
             configuration property \"security.protocol\""
        );
    }

    #[test]
    fn librdkafkas_configuration_dump_shows_no_secret() {
        // librdkafka redacts what it marks sensitive in its debug dump of the configuration, but
        // not `ssl.certificate.pem`, which Java types PASSWORD; without TLS nothing parses it.
        let canary = canary(100);
        let certificate = pem("CERTIFICATE", &canary);
        let settings = owned(&[
            ("debug", "conf"),
            ("ssl.certificate.pem", &certificate),
            ("sasl.username", "dump-user"),
            ("sasl.password", &canary),
        ]);
        let connection = match connect(&settings) {
            Ok(connection) => connection,
            Err(refusal) => panic!("client not created: {refusal}"),
        };
        connection.serve_callbacks();
        let lines = drained_lines();
        drop(connection);
        let dumped = lines.iter().find(|line| line.contains("ssl.certificate.pem = ")).unwrap_or_else(|| {
            panic!("no configuration dump line for ssl.certificate.pem in {lines:#?}");
        });
        assert!(dumped.contains("ssl.certificate.pem = [redacted]"), "{dumped}");
        for line in &lines {
            assert_no_canary("configuration dump", &canary, line);
        }
    }
}
