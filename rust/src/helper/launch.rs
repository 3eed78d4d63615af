//! How a helper process is started and how its stderr reaches the log.
//!
//! Started by `posix_spawn`, never by `fork`: the standard library uses `posix_spawn` only for a
//! command without a `pre_exec` closure, and a `fork` copies the page tables of the whole JVM (a
//! stall with a large heap, and `ENOMEM` under `vm.overcommit_memory=2`). So the child cannot be kept
//! from the JVM's descriptors between fork and exec; the helper closes every descriptor but stdin,
//! stdout and stderr as its first instruction instead (`os::close_inherited_descriptors`).
//!
//! The helper holds passwords and keys and needs little of the JVM's environment: it gets only the
//! names of [`INHERITED_VARIABLES`] and every `LC_*` (locale) variable.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ChildStderr, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::executable::FILE_NAME;
use crate::logging::{self, Level};

/// Set to `1` in the JVM's environment, lets the helper write core dumps (for debugging a crash
/// inside librdkafka; a core dump holds the cluster's passwords and keys).
pub(crate) const CORE_DUMPS_VARIABLE: &str = "KAFKA_OFFSET_COMMITTER_HELPER_CORE_DUMPS";

/// The environment variables a helper keeps. What librdkafka and its libraries read: the search
/// path and home directory (`sasl.kerberos.kinit.cmd` runs `kinit` through a shell), the locale and
/// time zone, the temp directory, OpenSSL's CA certificates, the Kerberos configuration, credential
/// cache and keytabs; and two for debugging (`RUST_BACKTRACE`, [`CORE_DUMPS_VARIABLE`]).
const INHERITED_VARIABLES: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "KRB5_CONFIG",
    "KRB5CCNAME",
    "KRB5_CLIENT_KTNAME",
    "KRB5_KTNAME",
    "KRB5_TRACE",
    "RUST_BACKTRACE",
    CORE_DUMPS_VARIABLE,
];

/// A helper's stderr line longer than this is cut: a runaway writer must not fill the JVM's memory.
const STDERR_LINE_BYTES: usize = 2048;
/// At most this many stderr lines of one helper are logged per [`STDERR_WINDOW`]; the rest are
/// counted, and the count is logged once the window is over.
const STDERR_LINES_PER_WINDOW: u32 = 60;
const STDERR_WINDOW: Duration = Duration::from_secs(60);

/// The helper process to start, with its stdin, stdout and stderr piped to us, in a process group
/// of its own (a Ctrl-C meant for the driver must not kill the helper before the driver's shutdown
/// has flushed the last commits through it).
pub(crate) fn helper_command(executable: &Path) -> Command {
    let mut command = Command::new(executable);
    apply_launch_rules(&mut command);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    command
}

/// What every start of a helper gets, its `--version` probe included: `argv[0]` is the helper's
/// name (`ps` would show `/proc/<jvm>/fd/<n>` for an in-memory image otherwise) and the environment
/// is cut to the allow-list. No `pre_exec` closure, so that the standard library uses `posix_spawn`.
pub(super) fn apply_launch_rules(command: &mut Command) {
    command.arg0(FILE_NAME).env_clear().envs(std::env::vars_os().filter(|(name, _)| inherited(name)));
}

fn inherited(name: &OsStr) -> bool {
    name.as_bytes().starts_with(b"LC_") || INHERITED_VARIABLES.iter().any(|kept| name == OsStr::new(kept))
}

/// Logs a helper's stderr (a failed assertion's last words, a stray print) at WARN: each line cut at
/// [`STDERR_LINE_BYTES`], at most [`STDERR_LINES_PER_WINDOW`] lines per [`STDERR_WINDOW`].
pub(crate) fn spawn_stderr_forwarder(label: &str, pid: u32, stderr: ChildStderr) -> io::Result<JoinHandle<()>> {
    let label = label.to_string();
    std::thread::Builder::new().name(format!("kafka-offset-committer-helper-stderr[{label}]")).spawn(move || {
        let log = |text: &str| logging::log(Level::Warn, format!("[{label}] commit helper (pid {pid}): {text}"));
        let mut lines = CappedLines::new(BufReader::new(stderr), STDERR_LINE_BYTES);
        let mut limit = LineLimit::new(STDERR_LINES_PER_WINDOW, STDERR_WINDOW, Instant::now());
        while let Ok(Some(line)) = lines.next_line() {
            if let Admission::Log { suppressed_before } = limit.admit(Instant::now()) {
                if suppressed_before > 0 {
                    log(&suppressed_note(suppressed_before));
                }
                log(&line);
            }
        }
        let suppressed = limit.take_suppressed();
        if suppressed > 0 {
            log(&suppressed_note(suppressed));
        }
    })
}

fn suppressed_note(suppressed: u64) -> String {
    format!(
        "{suppressed} more stderr lines not logged (at most {STDERR_LINES_PER_WINDOW} per {} s)",
        STDERR_WINDOW.as_secs()
    )
}

/// Lines of a stream, each cut at a number of bytes; never holds more than that of a line, however
/// long the line runs before its newline.
struct CappedLines<R> {
    input: R,
    cap: usize,
}

impl<R: BufRead> CappedLines<R> {
    fn new(input: R, cap: usize) -> Self {
        CappedLines { input, cap }
    }

    /// The next line without its line end, marked when cut; `None` at the end of the stream.
    fn next_line(&mut self) -> io::Result<Option<String>> {
        let mut line = Vec::new();
        let mut cut = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                return Ok((!line.is_empty() || cut).then(|| self.render(&line, cut)));
            }
            let newline = available.iter().position(|byte| *byte == b'\n');
            let content = &available[..newline.unwrap_or(available.len())];
            if !cut {
                let room = self.cap - line.len();
                line.extend_from_slice(&content[..content.len().min(room)]);
                cut = content.len() > room;
            }
            let consumed = newline.map_or(available.len(), |at| at + 1);
            self.input.consume(consumed);
            if newline.is_some() {
                return Ok(Some(self.render(&line, cut)));
            }
        }
    }

    fn render(&self, line: &[u8], cut: bool) -> String {
        let text = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line));
        if cut {
            format!("{text} [line cut at {} bytes]", self.cap)
        } else {
            text.into_owned()
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Admission {
    /// Log the line, after a note of how many were suppressed before it (when any were).
    Log {
        suppressed_before: u64,
    },
    Suppress,
}

/// At most `per_window` lines per fixed window of time; the clock is the caller's.
struct LineLimit {
    per_window: u32,
    window: Duration,
    window_start: Instant,
    admitted: u32,
    suppressed: u64,
}

impl LineLimit {
    fn new(per_window: u32, window: Duration, now: Instant) -> Self {
        LineLimit { per_window, window, window_start: now, admitted: 0, suppressed: 0 }
    }

    fn admit(&mut self, now: Instant) -> Admission {
        if now.saturating_duration_since(self.window_start) >= self.window {
            self.window_start = now;
            self.admitted = 0;
        }
        if self.admitted < self.per_window {
            self.admitted += 1;
            Admission::Log { suppressed_before: self.take_suppressed() }
        } else {
            self.suppressed += 1;
            Admission::Suppress
        }
    }

    fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(input: &[u8], buffer: usize, cap: usize) -> Vec<String> {
        let mut lines = CappedLines::new(BufReader::with_capacity(buffer, input), cap);
        std::iter::from_fn(|| lines.next_line().unwrap()).collect()
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_of_them_skipped() {
        let mut input = b"short\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend(b"\nexactly10!\nlast without newline");
        // A buffer smaller than a line: the cap must hold across reads.
        for buffer in [3, 7, 8192] {
            assert_eq!(
                all_lines(&input, buffer, 10),
                ["short", "xxxxxxxxxx [line cut at 10 bytes]", "exactly10!", "last witho [line cut at 10 bytes]"],
                "buffer of {buffer} bytes"
            );
        }
        assert_eq!(all_lines(b"", 8, 10), Vec::<String>::new());
        assert_eq!(all_lines(b"\n\n", 8, 10), ["", ""]);
    }

    #[test]
    fn lines_past_the_limit_are_counted_and_the_count_logged_in_the_next_window() {
        let start = Instant::now();
        let mut limit = LineLimit::new(2, Duration::from_secs(60), start);
        let at = |seconds| start + Duration::from_secs(seconds);
        assert_eq!(limit.admit(at(0)), Admission::Log { suppressed_before: 0 });
        assert_eq!(limit.admit(at(1)), Admission::Log { suppressed_before: 0 });
        assert_eq!(limit.admit(at(2)), Admission::Suppress);
        assert_eq!(limit.admit(at(59)), Admission::Suppress);
        assert_eq!(limit.admit(at(60)), Admission::Log { suppressed_before: 2 });
        assert_eq!(limit.admit(at(61)), Admission::Log { suppressed_before: 0 });
        assert_eq!(limit.admit(at(62)), Admission::Suppress);
        assert_eq!(limit.take_suppressed(), 1);
        assert_eq!(limit.take_suppressed(), 0);
    }

    #[test]
    fn the_environment_keeps_only_the_allow_list() {
        for kept in ["PATH", "LC_ALL", "LC_MESSAGES", "KRB5CCNAME", CORE_DUMPS_VARIABLE] {
            assert!(inherited(OsStr::new(kept)), "{kept}");
        }
        for dropped in ["AWS_SECRET_ACCESS_KEY", "LD_PRELOAD", "JAVA_TOOL_OPTIONS", "PATHS", "lc_all", "CLASSPATH"] {
            assert!(!inherited(OsStr::new(dropped)), "{dropped}");
        }
    }
}
