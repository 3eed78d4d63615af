//! What a started helper process is, read from `/proc/<helper>/`: no core dumps (it holds passwords
//! and keys) unless the debugging opt-out asks for them, only the allow-listed environment, its name
//! in `ps` and `top`, and no descriptor inherited from its parent. No broker needed: a committer for
//! a cluster nobody listens on still starts its helper. The helper runs the way the jar runs it,
//! from an in-memory image (so `ps` would show a `/proc/<pid>/fd/<n>` path but for `argv[0]`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, Once};

use kafka_offset_committer::Committer;

/// The debugging opt-out, and a variable the helper must not inherit.
const CORE_DUMPS_VARIABLE: &str = "KAFKA_OFFSET_COMMITTER_HELPER_CORE_DUMPS";
const PLANTED_SECRET: &str = "KOC_PLANTED_SECRET";
/// Names the file the re-started test binary finds planted on descriptor 9.
const PLANTED_FILE_VARIABLE: &str = "KOC_PLANTED_FILE";

/// This process's environment changes while a helper starts: one start at a time.
static ENVIRONMENT: Mutex<()> = Mutex::new(());

fn environment_lock() -> MutexGuard<'static, ()> {
    ENVIRONMENT.lock().unwrap_or_else(|p| p.into_inner())
}

/// A committer of its own cluster (so a helper of its own), its helper started from the built
/// helper's bytes installed in memory, as the jar installs its copy.
fn open(bootstrap: &str) -> Committer {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let image = std::fs::read(env!("CARGO_BIN_EXE_kafka-offset-committer-helper")).expect("the built helper");
        let path = kafka_offset_committer::helper::install_image(&image, &std::env::temp_dir()).expect("installed");
        assert!(path.starts_with("/proc/"), "installed in memory, not in a file: {}", path.display());
    });
    Committer::open(&common::settings(bootstrap, &[])).expect("committer opens")
}

fn proc_file(pid: u32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap_or_else(|e| panic!("/proc/{pid}/{name}: {e}"))
}

/// The soft and hard limits of `Max core file size` in a `/proc/<pid>/limits` text.
fn core_limits(limits: &str) -> (String, String) {
    let line = limits.lines().find(|line| line.starts_with("Max core file size")).expect("a core limit line");
    let mut values = line["Max core file size".len()..].split_whitespace();
    (values.next().unwrap().to_string(), values.next().unwrap().to_string())
}

#[test]
fn the_helper_writes_no_core_dump_and_inherits_only_the_allow_listed_environment() {
    let guard = environment_lock();
    std::env::set_var(PLANTED_SECRET, "hunter2");
    std::env::remove_var(CORE_DUMPS_VARIABLE);
    let committer = open("127.0.0.1:1");
    std::env::remove_var(PLANTED_SECRET);
    drop(guard);
    let helper = common::helper_pid(&committer);

    assert_eq!(core_limits(&proc_file(helper, "limits")), ("0".to_string(), "0".to_string()));

    let environ = std::fs::read(format!("/proc/{helper}/environ")).expect("the helper's environment");
    let names: Vec<String> = environ
        .split(|byte| *byte == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| String::from_utf8_lossy(entry.split(|byte| *byte == b'=').next().unwrap()).into_owned())
        .collect();
    let allowed = |name: &str| {
        name.starts_with("LC_")
            || [
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
            ]
            .contains(&name)
    };
    assert!(!names.iter().any(|name| name == PLANTED_SECRET), "the planted secret reached the helper: {names:?}");
    let foreign: Vec<&String> = names.iter().filter(|name| !allowed(name)).collect();
    assert!(foreign.is_empty(), "the helper inherited {foreign:?}");
    if std::env::var_os("PATH").is_some() {
        assert!(names.iter().any(|name| name == "PATH"), "allow-listed PATH did not reach the helper: {names:?}");
    }
}

#[test]
fn the_helper_is_named_in_ps_and_top() {
    let committer = {
        let _guard = environment_lock();
        open("127.0.0.3:1")
    };
    let helper = common::helper_pid(&committer);
    let cmdline = proc_file(helper, "cmdline");
    assert_eq!(cmdline.split('\0').next(), Some("kafka-offset-committer-helper"), "{cmdline:?}");
    // Started from /proc/<pid>/fd/<n>, the kernel would name it `<n>`.
    assert_eq!(proc_file(helper, "comm").trim_end(), "koc-helper");
}

#[test]
fn the_debugging_opt_out_leaves_core_dumps_on() {
    let committer = {
        let _guard = environment_lock();
        std::env::set_var(CORE_DUMPS_VARIABLE, "1");
        let committer = open("127.0.0.2:1");
        std::env::remove_var(CORE_DUMPS_VARIABLE);
        committer
    };
    let ours = core_limits(&std::fs::read_to_string("/proc/self/limits").expect("our limits"));
    assert_ne!(ours, ("0".to_string(), "0".to_string()), "core dumps are off in this test process already");
    let helper = common::helper_pid(&committer);
    assert_eq!(core_limits(&proc_file(helper, "limits")), ours);
    assert!(
        proc_file(helper, "environ").split('\0').any(|entry| entry == format!("{CORE_DUMPS_VARIABLE}=1")),
        "the opt-out did not reach the helper"
    );
}

/// Descriptors without close-on-exec (all a JVM's jars, sockets and child pipes) cannot be planted
/// in this process without `unsafe`; a shell can: it opens a file on descriptor 9 and starts this
/// test binary again, which starts a helper and checks it.
#[test]
fn the_helper_holds_no_descriptor_inherited_from_its_parent() {
    let planted = std::env::temp_dir().join(common::unique("koc-planted"));
    std::fs::write(&planted, b"planted").expect("the planted file");
    let output = Command::new("/bin/sh")
        .args(["-c", "exec 9<\"$0\" && exec \"$1\" --exact helper_holding_no_planted_descriptor --ignored --nocapture"])
        .arg(&planted)
        .arg(std::env::current_exe().expect("this test binary"))
        .env(PLANTED_FILE_VARIABLE, &planted)
        .output()
        .expect("/bin/sh runs");
    let _ = std::fs::remove_file(&planted);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.lines().any(|line| line == "checked the helper's descriptors"), "{stdout}");
}

/// Not a test of its own: run by `the_helper_holds_no_descriptor_inherited_from_its_parent` in a
/// process holding the planted file on descriptor 9 (does nothing when run any other way).
#[test]
#[ignore = "run as a child process by the_helper_holds_no_descriptor_inherited_from_its_parent"]
fn helper_holding_no_planted_descriptor() {
    let Some(planted) = std::env::var_os(PLANTED_FILE_VARIABLE).map(PathBuf::from) else { return };
    let targets = |pid: &str| -> Vec<PathBuf> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("a descriptor listing")
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .collect()
    };
    let holds = |pid: &str| targets(pid).iter().any(|target| target == Path::new(&planted));
    assert!(holds("self"), "the shell planted nothing: {:?}", targets("self"));
    let committer = open("127.0.0.4:1");
    let helper = common::helper_pid(&committer).to_string();
    assert!(!holds(&helper), "the helper holds the planted descriptor: {:?}", targets(&helper));
    println!("\nchecked the helper's descriptors");
}
