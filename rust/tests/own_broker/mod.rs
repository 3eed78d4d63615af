//! A broker of the test's own, started with tests/kafka_harness.py in a private work directory under
//! .cache/ (never the shared `KAFKA_BOOTSTRAP` broker), which the test may kill and restart at will.
//! Without python3, java or the broker process, the calls panic: a missing broker fails the test.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

/// Runs `python3 tests/kafka_harness.py ACTION --workdir DIR`; its stdout, or a panic.
fn harness(action: &str, workdir: &Path) -> String {
    let output = Command::new("python3")
        .arg(repo_root().join("tests/kafka_harness.py"))
        .args([action, "--workdir"])
        .arg(workdir)
        .args(["--timeout", "180"])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 for the broker harness ({action}): {e}"));
    assert!(
        output.status.success(),
        "kafka_harness.py {action} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a snippet of python with the harness module imported as `h`; its stdout.
pub fn harness_python(snippet: &str) -> String {
    let program = format!("import sys, json\nsys.path.insert(0, 'tests')\nimport kafka_harness as h\n{snippet}\n");
    let output = Command::new("python3")
        .args(["-c", &program])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .expect("cannot run python3");
    assert!(
        output.status.success(),
        "harness python failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn env_value(env_sh: &str, name: &str) -> String {
    env_sh
        .lines()
        .find_map(|line| line.strip_prefix(&format!("export {name}=")))
        .map(|v| v.trim_matches('\'').to_string())
        .unwrap_or_else(|| panic!("{name} missing from the harness output:\n{env_sh}"))
}

/// Whether every thread of `pid` is in state T (stopped), read from /proc/<pid>/task/*/stat.
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses and may itself hold spaces.
        let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
        matches!(state, Some('T' | 't'))
    })
}

fn is_broker(pid: u32, workdir: &Path) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let config = workdir.join("server.properties");
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.contains(&b"kafka.Kafka".as_slice()) && args.contains(&config.to_string_lossy().as_bytes())
}

pub struct OwnBroker {
    pub workdir: PathBuf,
    pub bootstrap: String,
}

impl OwnBroker {
    /// Starts a new broker. A detached watchdog stops it once this process is gone, also after an
    /// abort (which skips destructors); the folder is then kept for its broker.log.
    pub fn start(name: &str) -> OwnBroker {
        use std::os::unix::process::CommandExt;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let workdir =
            repo_root().join(".cache").join(name).join(format!("{}-{}", std::process::id(), nanos % 1_000_000_000));
        std::fs::create_dir_all(&workdir).expect("workdir");
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; exec python3 tests/kafka_harness.py stop --workdir '{dir}'",
            pid = std::process::id(),
            dir = workdir.display()
        );
        // Deliberately never waited for: it must outlive this process.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cannot start the broker watchdog");
        let env = harness("start", &workdir);
        let bootstrap = env_value(&env, "KAFKA_BOOTSTRAP");
        let broker = OwnBroker { workdir, bootstrap };
        eprintln!("[own broker] {} pid {} in {}", broker.bootstrap, broker.pid(), broker.workdir.display());
        broker
    }

    /// The broker JVM's pid from the harness's pid file, checked against /proc.
    pub fn pid(&self) -> u32 {
        let text = std::fs::read_to_string(self.workdir.join("broker.pid"))
            .unwrap_or_else(|e| panic!("no broker pid file in {}: {e}", self.workdir.display()));
        let pid: u32 = text.trim().parse().expect("pid file holds a number");
        assert!(is_broker(pid, &self.workdir), "pid {pid} is not this test's running broker");
        pid
    }

    /// SIGKILL, as a crash; returns once the process is gone.
    pub fn kill(&self) {
        let pid = self.pid();
        let status = Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill");
        assert!(status.success(), "kill -KILL {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        while is_broker(pid, &self.workdir) {
            assert!(Instant::now() < deadline, "broker {pid} survived SIGKILL");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGSTOP: the broker hangs with its connections open (a stalled machine), until `resume`.
    /// Returns once every thread of the broker has stopped: the signal is delivered asynchronously,
    /// and a broker thread still running could answer a request sent "after" the pause.
    pub fn pause(&self) {
        self.signal("-STOP");
        let pid = self.pid();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !all_threads_stopped(pid) {
            assert!(Instant::now() < deadline, "broker {pid} did not stop on SIGSTOP");
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid();
        let status = Command::new("kill").args([signal, &pid.to_string()]).status().expect("kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    /// SIGTERM: a controlled shutdown, waited for.
    pub fn stop(&self) {
        harness("stop", &self.workdir);
    }

    /// Starts the broker again on the same ports and data.
    pub fn restart(&self) {
        harness("restart", &self.workdir);
    }

    pub fn create_topic(&self, topic: &str, partitions: i32) {
        harness_python(&format!("h.create_topic({:?}, {topic:?}, partitions={partitions})", self.bootstrap));
    }

    /// Each group's committed offsets on `topic`, read with Kafka's own Java client.
    pub fn group_offsets(&self, groups: &[String], topic: &str) -> HashMap<String, HashMap<i32, i64>> {
        let names = serde_json::to_string(groups).unwrap();
        let read = harness_python(&format!(
            "out = {{}}\nfor g in json.loads({names:?}):\n    out[g] = {{str(p): o for (t, p), o in h.group_offsets({:?}, g).items() if t == {topic:?}}}\nprint(json.dumps(out))",
            self.bootstrap
        ));
        let read: HashMap<String, HashMap<String, i64>> =
            serde_json::from_str(read.trim()).expect("group offsets JSON");
        read.into_iter()
            .map(|(group, partitions)| (group, partitions.into_iter().map(|(p, o)| (p.parse().unwrap(), o)).collect()))
            .collect()
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.workdir.join("broker.pid")) {
            let _ = Command::new("kill").args(["-CONT", pid.trim()]).status();
        }
        let _ = Command::new("python3")
            .arg(repo_root().join("tests/kafka_harness.py"))
            .args(["stop", "--workdir"])
            .arg(&self.workdir)
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .status();
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.workdir);
        }
    }
}

/// Kills (mostly SIGKILL, every third a clean SIGTERM stop) and restarts `broker` `cycles` times,
/// with 2-4 s outages; each time only once `successes()` (a count of acknowledged commits) grew by
/// `needed` since the broker came back, so every outage hits clients that use the coordinator.
pub fn kill_and_restart(broker: &OwnBroker, cycles: usize, successes: impl Fn() -> u64, needed: u64, log: &str) {
    let started = Instant::now();
    for cycle in 1..=cycles {
        let up_since = Instant::now();
        let before = successes();
        while up_since.elapsed() < Duration::from_secs(2) || successes() < before + needed {
            assert!(up_since.elapsed() < Duration::from_secs(120), "cycle {cycle}: no commits succeed");
            thread::sleep(Duration::from_millis(50));
        }
        let clean = cycle % 3 == 2;
        if clean {
            broker.stop();
        } else {
            broker.kill();
        }
        let gap = Duration::from_secs(2 + (cycle % 3) as u64);
        eprintln!(
            "[{log}] cycle {cycle}/{cycles}: broker {} at {:.1?}, down for {gap:?}",
            if clean { "stopped cleanly (SIGTERM)" } else { "killed (SIGKILL)" },
            started.elapsed()
        );
        thread::sleep(gap);
        broker.restart();
        eprintln!("[{log}] cycle {cycle}/{cycles}: broker back (pid {}) at {:.1?}", broker.pid(), started.elapsed());
    }
}
