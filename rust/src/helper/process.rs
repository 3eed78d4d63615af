//! One running helper process and the three threads that serve its pipes: a writer (so the engine
//! never blocks on a full pipe to a hung helper), a reader of its frames and a reader of its stderr
//! (a failed assertion's last words end up in the log). None of them touches the JVM; each reports
//! to the supervisor's mailbox, tagged with the helper's generation.

use std::io::{self, BufReader, BufWriter};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, ExitStatus};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::launch;
use super::protocol::{read_frame, write_frame, FromHelper, OpenClient, ToHelper};
use crate::logging::{self, Level};
use crate::mailbox::Mailbox;

/// How long a closing helper may take to destroy its client before it is killed.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// How long a helper whose frames stopped may take to finish dying on its own (so its own exit
/// status, e.g. SIGABRT, is reported) before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(200);

pub type WakeFn = dyn Fn() + Send + Sync;

/// What the threads of one helper report.
pub(super) enum Event {
    Frame(FromHelper),
    /// The writer refused a commit whose frame exceeds the protocol's limit; nothing was written.
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
    commands: Sender<ToHelper>,
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
        let (commands, outgoing) = mpsc::channel::<ToHelper>();
        let threads = vec![
            spawn_writer(label, generation, stdin, outgoing, events.clone(), wake.clone())?,
            spawn_reader(label, generation, stdout, events.clone(), wake.clone())?,
            launch::spawn_stderr_forwarder(label, child.id(), stderr)?,
        ];
        let _ = commands.send(ToHelper::Open(open));
        Ok(HelperProcess { child, generation, started_at: Instant::now(), commands, threads, killed_because: None })
    }

    pub(super) fn send(&self, command: ToHelper) {
        // A closed channel means the writer saw the helper go; the reader reports that.
        let _ = self.commands.send(command);
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
        drop(self.commands);
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
        let _ = self.commands.send(ToHelper::Close);
        if self.wait_up_to(CLOSE_GRACE).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        drop(self.commands);
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

fn spawn_writer(
    label: &str,
    generation: u64,
    stdin: ChildStdin,
    outgoing: Receiver<ToHelper>,
    events: Arc<Events>,
    wake: Arc<WakeFn>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(format!("kafka-offset-committer-helper-writer[{label}]")).spawn(move || {
        let mut stdin = BufWriter::new(stdin);
        for command in outgoing {
            match write_frame(&mut stdin, &command) {
                Ok(()) => {}
                // Refused before a byte was written: the helper is fine, only this request fails.
                Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
                    if let ToHelper::Commit(request) = &command {
                        events.push((
                            generation,
                            Event::Refused { request_id: request.request_id, reason: error.to_string() },
                        ));
                        wake();
                    }
                }
                Err(_) => return, // the helper is gone; its reader reports that
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
