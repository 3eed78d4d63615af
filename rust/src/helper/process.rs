//! One running helper process, its stdin written by the engine's worker itself, and the threads
//! that serve its pipes: a reader of its frames, a reader of its stderr (a failed assertion's last
//! words end up in the log), and a writer that takes over only the rest of a frame that does not
//! fit into the stdin pipe (the worker never blocks on a full pipe to a hung helper). None of them
//! touches the JVM; each reports to the supervisor's mailbox, tagged with the helper's generation.

use std::collections::VecDeque;
use std::io::{self, BufReader, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::protocol::{read_frame, write_frame, FromHelper, OpenClient, ToHelper};
use super::{launch, os};
use crate::logging::{self, Level};
use crate::mailbox::{lock, Mailbox};

/// How long a closing helper may take to destroy its client before it is killed.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// How long a helper whose frames stopped may take to finish dying on its own (so its own exit
/// status, e.g. SIGABRT, is reported) before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(200);

pub type WakeFn = dyn Fn() + Send + Sync;

/// What the threads of one helper report.
pub(super) enum Event {
    Frame(FromHelper),
    /// A commit whose frame exceeds the protocol's limit was refused; nothing was written.
    Refused {
        request_id: u64,
        reason: String,
    },
    /// The helper's frames stopped making sense (garbage, an impossible length, a cut frame).
    Desync(String),
    /// The helper's frames ended: it exited, crashed, was killed or closed its stdout.
    Ended,
}

pub(super) type Events = Mailbox<(u64, Event)>;

/// How a helper ended.
pub(super) struct Exit {
    pub(super) description: String,
    /// Whether it ended by our own kill (a watchdog, a desync), rather than by itself or by
    /// anyone else.
    pub(super) killed_by_us: bool,
}

pub(super) struct HelperProcess {
    child: Child,
    generation: u64,
    started_at: Instant,
    stdin: Arc<Stdin>,
    events: Arc<Events>,
    wake: Arc<WakeFn>,
    threads: Vec<JoinHandle<()>>,
    /// Why we killed it, if we did.
    killed_because: Option<String>,
}

impl HelperProcess {
    /// Starts the helper and hands it its client settings as the first frame.
    pub(super) fn spawn(
        executable: &Path,
        label: &str,
        generation: u64,
        open: OpenClient,
        events: &Arc<Events>,
        wake: &Arc<WakeFn>,
    ) -> io::Result<HelperProcess> {
        let mut child = launch::helper_command(executable).spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let stdin = Arc::new(Stdin { pipe: stdin, overflow: Mutex::new(Overflow::default()), more: Condvar::new() });
        let threads = vec![
            spawn_overflow_writer(label, stdin.clone())?,
            spawn_reader(label, generation, stdout, events.clone(), wake.clone())?,
            launch::spawn_stderr_forwarder(label, child.id(), stderr)?,
        ];
        let process = HelperProcess {
            child,
            generation,
            started_at: Instant::now(),
            stdin,
            events: events.clone(),
            wake: wake.clone(),
            threads,
            killed_because: None,
        };
        process.send(ToHelper::Open(open));
        Ok(process)
    }

    /// Writes a frame to the helper's stdin on the calling thread, never waiting for the helper:
    /// what does not fit into the pipe goes to the overflow writer, and so do the frames after it,
    /// in order. A write error means the helper is gone; its reader reports that.
    pub(super) fn send(&self, command: ToHelper) {
        let mut frame = Vec::new();
        match write_frame(&mut frame, &command) {
            Ok(()) => self.stdin.write_or_hand_over(frame),
            // Refused before a byte was written: the helper is fine, only this request fails.
            Err(error) => {
                if let ToHelper::Commit(request) = &command {
                    let reason = error.to_string();
                    self.events.push((self.generation, Event::Refused { request_id: request.request_id, reason }));
                    (self.wake)();
                }
            }
        }
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    pub(super) fn started_at(&self) -> Instant {
        self.started_at
    }

    pub(super) fn killed_because(&self) -> Option<&str> {
        self.killed_because.as_deref()
    }

    pub(super) fn kill(&mut self, reason: &str) {
        if self.killed_because.is_none() {
            self.killed_because = Some(reason.to_string());
            let _ = self.child.kill();
        }
    }

    /// Waits for a helper whose frames ended, killing it if it does not finish on its own at
    /// once (one that closed its stdout and lives on is of no use), and says how it ended.
    pub(super) fn reap(mut self) -> Exit {
        let status = self.wait_up_to(EXIT_GRACE).or_else(|| {
            self.kill("its frames ended but it kept running");
            self.child.wait().ok()
        });
        self.stdin.close();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        let how = status.map_or_else(|| "ended".to_string(), describe_exit);
        let by_our_kill = self.killed_because.is_some() && status.and_then(|s| s.signal()) == Some(libc::SIGKILL);
        let description = match (&self.killed_because, by_our_kill) {
            (Some(reason), true) => format!("{how} (killed by us: {reason})"),
            _ => how,
        };
        Exit { description, killed_by_us: by_our_kill }
    }

    /// Asks the helper to destroy its client and exit; kills it if it takes too long.
    pub(super) fn close(mut self) {
        self.send(ToHelper::Close);
        if self.wait_up_to(CLOSE_GRACE).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.stdin.close();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }

    fn wait_up_to(&mut self, grace: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
                _ => return None,
            }
        }
    }
}

/// The helper's stdin. Frames are written by the caller of `send` (the worker) while the pipe has
/// room, so a commit reaches the helper without a hand-off to another thread; the rest of a frame
/// that does not fit waits in `overflow` for the overflow writer, which waits for the pipe as long
/// as it takes (the watchdog kills a helper that stops reading, which ends the wait).
struct Stdin {
    pipe: ChildStdin,
    overflow: Mutex<Overflow>,
    more: Condvar,
}

#[derive(Default)]
struct Overflow {
    /// Bytes for the overflow writer, in order; frames sent meanwhile queue behind them.
    frames: VecDeque<Vec<u8>>,
    /// The overflow writer is writing bytes it took from `frames`.
    writing: bool,
    /// The helper ended or was closed, or a write failed (the helper is gone): nothing more is
    /// written, and the overflow writer ends.
    ended: bool,
}

impl Stdin {
    fn write_or_hand_over(&self, frame: Vec<u8>) {
        let mut overflow = lock(&self.overflow);
        if overflow.ended {
            return;
        }
        if !overflow.frames.is_empty() || overflow.writing {
            overflow.frames.push_back(frame);
            return;
        }
        match self.write_while_room(&frame) {
            Ok(written) if written == frame.len() => {}
            Ok(written) => {
                overflow.frames.push_back(frame[written..].to_vec());
                self.more.notify_one();
            }
            Err(_) => overflow.ended = true,
        }
    }

    /// Writes pieces of at most a pipe's atomic size while the pipe has room for one; returns how
    /// many bytes were written. Such a write never waits (see `os::pipe_has_room`).
    fn write_while_room(&self, bytes: &[u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < bytes.len() && os::pipe_has_room(self.pipe.as_fd()) {
            let piece = &bytes[written..bytes.len().min(written + os::PIPE_ATOMIC_BYTES)];
            match (&self.pipe).write(piece) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(written)
    }

    fn close(&self) {
        lock(&self.overflow).ended = true;
        self.more.notify_all();
    }
}

fn spawn_overflow_writer(label: &str, stdin: Arc<Stdin>) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(format!("kafka-offset-committer-helper-overflow[{label}]")).spawn(move || {
        loop {
            let bytes = {
                let mut overflow = lock(&stdin.overflow);
                overflow.writing = false;
                loop {
                    if overflow.ended {
                        return;
                    }
                    if let Some(bytes) = overflow.frames.pop_front() {
                        overflow.writing = true;
                        break bytes;
                    }
                    overflow = stdin.more.wait(overflow).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            };
            // Waits while the helper does not read: this is the thread that may.
            if (&stdin.pipe).write_all(&bytes).is_err() {
                lock(&stdin.overflow).ended = true;
                return; // the helper is gone; its reader reports that
            }
        }
    })
}

fn spawn_reader(
    label: &str,
    generation: u64,
    stdout: ChildStdout,
    events: Arc<Events>,
    wake: Arc<WakeFn>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(format!("kafka-offset-committer-helper-reader[{label}]")).spawn(move || {
        let mut stdout = BufReader::new(stdout);
        loop {
            match read_frame::<FromHelper>(&mut stdout) {
                Ok(Some(FromHelper::Log(line))) => forward_log_line(&line),
                Ok(Some(frame)) => events.push((generation, Event::Frame(frame))),
                Ok(None) => break,
                Err(error) => {
                    let reason = match error.kind() {
                        io::ErrorKind::UnexpectedEof => "a frame was cut short".to_string(),
                        _ => error.to_string(),
                    };
                    events.push((generation, Event::Desync(reason)));
                    break;
                }
            }
            wake();
        }
        events.push((generation, Event::Ended));
        wake();
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
            libc::SIGABRT => " (SIGABRT)",
            libc::SIGKILL => " (SIGKILL)",
            libc::SIGSEGV => " (SIGSEGV)",
            libc::SIGTERM => " (SIGTERM)",
            libc::SIGBUS => " (SIGBUS)",
            _ => "",
        };
        return format!("was ended by signal {signal}{name}");
    }
    format!("exited with code {}", status.code().unwrap_or(-1))
}
