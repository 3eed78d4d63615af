//! The child side: one librdkafka client, driven by the frames the parent writes to our stdin,
//! answered on a private copy of our stdout (stdout itself then writes to stderr, so nothing else
//! can write between two frames). Whatever librdkafka does wrong ends this process only; the parent
//! notices, restarts us and re-sends what was unanswered.
//!
//! Threads: `main` owns the client (librdkafka handles are used from one thread) and waits in
//! `poll(2)` for its two inputs: stdin, whose frames it reads itself (a frame may arrive in pieces:
//! the start is kept until the rest comes), and a pipe librdkafka writes a byte to when an answer
//! waits in the result queue. No other thread stands between a command and librdkafka, or between an
//! answer and the parent. It ends the process when stdin closes (the parent is gone, also after
//! `kill -9`). A forwarder moves the log buffer's lines to the parent.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::types::RDKafkaErrorCode;

use super::protocol::{frame_bytes, read_frame, write_frame, Fault, FromHelper, ToHelper};
use super::{executable, launch, os};
use crate::admin::AdminConnection;
use crate::commit::{CommitResponse, KafkaFailure};
use crate::logging;
use crate::mailbox::lock;

/// librdkafka's log and error events are served at least this often.
const CALLBACK_INTERVAL: Duration = Duration::from_millis(500);
/// A permanent client error older than a request's timeout plus this no longer explains it.
const CLIENT_ERROR_WINDOW_MARGIN: Duration = Duration::from_secs(10);

/// The main thread's name, what `top` and `ps -e` show (the kernel keeps 15 bytes; `argv[0]`, what
/// `ps -f` shows, is the full `kafka-offset-committer-helper`).
const THREAD_NAME: &str = "koc-helper";

/// Exit codes the parent reports.
const EXIT_PROTOCOL: i32 = 2;
const EXIT_OPEN_FAILED: i32 = 3;
const EXIT_SETUP_FAILED: i32 = 4;

type Frames = Mutex<BufWriter<File>>;

/// Runs the helper until the parent closes it or goes away; returns the process exit code.
///
/// Nothing here prints with `println!`/`eprintln!`: they panic when the parent is gone (EPIPE), and
/// a panicking thread skips the `_exit` that must follow, so the helper would outlive its JVM.
pub fn run() -> i32 {
    // Before anything else: no descriptor of the JVM's stays open here (see `os`).
    os::close_inherited_descriptors();
    let frames = match os::private_frame_output() {
        Ok(frames) => frames,
        Err(error) => {
            report(format_args!("cannot move the frames off stdout: {error}"));
            return EXIT_SETUP_FAILED;
        }
    };
    os::name_this_thread(THREAD_NAME);
    if std::env::var_os(launch::CORE_DUMPS_VARIABLE).as_deref() != Some(OsStr::new("1")) {
        if let Err(error) = os::forbid_core_dumps() {
            report(format_args!("cannot switch core dumps off: {error}"));
            return EXIT_SETUP_FAILED;
        }
    }
    let output = Arc::new(Mutex::new(BufWriter::new(frames)));
    if std::env::args_os().nth(1).as_deref() == Some(OsStr::new("--version")) {
        let mut output = lock(&output);
        let printed = writeln!(output, "{} {}", executable::FILE_NAME, crate::VERSION).and_then(|()| output.flush());
        return if printed.is_ok() { 0 } else { EXIT_PROTOCOL };
    }
    let mut input = os::take_stdin();
    let open = match read_frame::<ToHelper>(&mut input) {
        Ok(Some(ToHelper::Open(open))) => open,
        Ok(None) => return 0,
        other => {
            report(format_args!("expected an Open frame first, got {other:?}"));
            return EXIT_PROTOCOL;
        }
    };
    let (results_ready, results_signal) = match os::nonblocking_pipe() {
        Ok(ends) => ends,
        Err(error) => {
            report(format_args!("cannot create the result queue's pipe: {error}"));
            return EXIT_SETUP_FAILED;
        }
    };
    if let Err(error) = os::set_nonblocking(input.as_fd()) {
        report(format_args!("cannot make stdin non-blocking: {error}"));
        return EXIT_SETUP_FAILED;
    }
    let connection = match AdminConnection::connect(&open.settings, &open.cluster_label, results_signal) {
        Ok(connection) => connection,
        Err(reason) => {
            send(&output, &FromHelper::OpenFailed(reason));
            return EXIT_OPEN_FAILED;
        }
    };
    send(&output, &FromHelper::Ready);
    let log_output = output.clone();
    std::thread::Builder::new()
        .name("forward-logs".into())
        .spawn(move || loop {
            for line in logging::drain(Duration::from_secs(1)) {
                send(&log_output, &FromHelper::Log(line));
            }
        })
        .expect("cannot start the log forwarder");
    serve(connection, input, File::from(results_ready), &output)
}

fn serve(mut connection: AdminConnection, mut input: File, mut results_ready: File, output: &Frames) -> i32 {
    let mut incoming = IncomingFrames::default();
    let mut timeouts: HashMap<u64, Duration> = HashMap::new();
    let mut armed_fault: Option<Fault> = None;
    // Groups whose every commit crashes this helper, for the rest of its life.
    let mut poisoned_groups: HashSet<String> = HashSet::new();
    // Which of stdin and the result queue's pipe `poll` found readable (both at first: frames may
    // have come with the Open frame). Only those are read, so an answer costs one read and one write.
    let mut readable = [true, true];
    loop {
        if readable[0] {
            incoming.read_available(&mut input);
        }
        while let Some(command) = incoming.next_command() {
            match command {
                ToHelper::Commit(request) => {
                    if poisoned_groups.contains(&request.group) {
                        std::process::abort();
                    }
                    if let Some(failure) = connection.oauth_login_failure() {
                        // librdkafka would hold the request until it timed out, waiting for a token.
                        send(output, &FromHelper::Response(CommitResponse::failed(request.request_id, failure)));
                    } else if let Err(reason) = connection.send_commit(&request) {
                        // Only a malformed request fails here (e.g. a NUL byte): retrying cannot help.
                        let failure = KafkaFailure::new(RDKafkaErrorCode::InvalidArgument, reason);
                        send(output, &FromHelper::Response(CommitResponse::failed(request.request_id, failure)));
                    } else {
                        timeouts.insert(request.request_id, Duration::from_millis(request.timeout_ms));
                    }
                    if let Some(fault) = armed_fault.take() {
                        crash(fault);
                    }
                }
                ToHelper::Fault(Fault::AbortOnGroup(group)) => {
                    poisoned_groups.insert(group);
                }
                ToHelper::Fault(fault) => armed_fault = Some(fault),
                ToHelper::OAuthToken(token) => {
                    if let Err(reason) = connection.set_oauth_token(token) {
                        logging::log(logging::Level::Warn, reason);
                    }
                }
                // The JVM side already logged the failure once: no second line here.
                ToHelper::OAuthTokenFailure(reason) => connection.set_oauth_token_failure(&reason),
                ToHelper::Close => {
                    drop(connection);
                    return 0;
                }
                ToHelper::Open(_) => {
                    report(format_args!("a second Open frame"));
                    return EXIT_PROTOCOL;
                }
            }
        }
        connection.serve_callbacks();
        if readable[1] {
            // Emptied before the queue is read: an answer that comes after this writes a new byte.
            let _ = results_ready.read(&mut [0u8; 64]);
        }
        while let Some(mut response) = connection.poll_response() {
            let window = timeouts.remove(&response.request_id).unwrap_or_default() + CLIENT_ERROR_WINDOW_MARGIN;
            response.client_error = connection.recent_permanent_client_error(window);
            send(output, &FromHelper::Response(response));
        }
        match os::wait_readable(&[input.as_fd(), results_ready.as_fd()], CALLBACK_INTERVAL) {
            Ok(ready) => readable = [ready[0], ready[1]],
            Err(error) => {
                report(format_args!("cannot wait for the parent and librdkafka: {error}"));
                os::exit_now(EXIT_SETUP_FAILED);
            }
        }
    }
}

fn crash(fault: Fault) -> ! {
    match fault {
        Fault::Abort | Fault::AbortOnGroup(_) => std::process::abort(),
        Fault::Segfault => os::segfault(),
    }
}

/// The bytes read from the parent that were not taken as commands yet: whole frames, then at most
/// the start of one more.
struct IncomingFrames {
    bytes: Vec<u8>,
    /// Where the next frame starts in `bytes` (the frames before it were taken).
    start: usize,
    chunk: Box<[u8]>,
}

/// How many bytes one read of stdin takes at most (a pipe's default capacity).
const READ_CHUNK: usize = 64 * 1024;

impl Default for IncomingFrames {
    fn default() -> Self {
        IncomingFrames { bytes: Vec::new(), start: 0, chunk: vec![0; READ_CHUNK].into() }
    }
}

impl IncomingFrames {
    /// Reads what the parent wrote, until a read would wait or takes less than it could (the pipe
    /// is then empty for now; `poll` reports what comes next). Ends the process when stdin closes:
    /// after whole frames the parent is gone (exited or killed) and nobody is left to serve; inside
    /// a frame it died while writing it, and the frame is cut.
    fn read_available(&mut self, input: &mut File) {
        self.bytes.drain(..self.start);
        self.start = 0;
        loop {
            match input.read(&mut self.chunk) {
                Ok(0) if self.holds_whole_frames_only() => os::exit_now(0),
                Ok(0) => fail(format_args!("a frame from the parent was cut short")),
                Ok(read) => {
                    self.bytes.extend_from_slice(&self.chunk[..read]);
                    if read < self.chunk.len() {
                        return;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => fail(format_args!("cannot read from the parent: {error}")),
            }
        }
    }

    /// The next whole frame's command, if one was read.
    fn next_command(&mut self) -> Option<ToHelper> {
        let unread = &self.bytes[self.start..];
        let whole = match frame_bytes(unread) {
            Ok(Some(whole)) if whole <= unread.len() => whole,
            Ok(_) => return None,
            // An impossible length is refused before its body is waited for (and held).
            Err(error) => fail(format_args!("cannot read from the parent: {error}")),
        };
        let command = match read_frame::<ToHelper>(&mut &unread[..whole]) {
            Ok(Some(command)) => command,
            Ok(None) => unreachable!("a whole frame was there"),
            Err(error) => fail(format_args!("cannot read from the parent: {error}")),
        };
        self.start += whole;
        Some(command)
    }

    fn holds_whole_frames_only(&self) -> bool {
        let mut unread = &self.bytes[self.start..];
        while let Ok(Some(whole)) = frame_bytes(unread) {
            let Some(rest) = unread.get(whole..) else { return false };
            unread = rest;
        }
        unread.is_empty()
    }
}

fn fail(why: fmt::Arguments) -> ! {
    report(why);
    os::exit_now(EXIT_PROTOCOL)
}

fn send(output: &Frames, message: &FromHelper) {
    let mut output = lock(output);
    if write_frame(&mut *output, message).and_then(|_| output.flush()).is_err() {
        // The parent no longer reads us: it is gone.
        os::exit_now(0);
    }
}

/// Writes a line to stderr, ignoring failure: the parent may be gone, and nobody else would read it.
fn report(message: fmt::Arguments) {
    let _ = writeln!(io::stderr(), "{}: {message}", executable::FILE_NAME);
}
