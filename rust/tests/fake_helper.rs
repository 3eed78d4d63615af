//! The supervisor and the engine's worker against a fake helper (tests/fake_helper/fake_helper.py)
//! that misbehaves at the process boundary in its first generation, as its cluster's bootstrap
//! string says: garbage, an oversized length or a cut frame on its stdout (a desync: logged once at
//! ERROR, the helper killed at once), a closed stdout while it lives on (killed and reaped), an
//! answer cut by its death, silence (the watchdog kills it). Each time the commit must still be
//! answered, by the restarted helper. No broker: the fake answers commits itself.
//!
//! The executable is process-global, so every test of this binary runs the fake.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::*;
use kafka_offset_committer::config::engine_keys;
use kafka_offset_committer::Committer;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const TOPIC: &str = "t";

/// The fake's state directory (generation counters, pids, commits received), made once per process.
fn state_dir() -> &'static Path {
    static STATE: OnceLock<PathBuf> = OnceLock::new();
    STATE.get_or_init(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("koc-fake-helper-{}-{}", std::process::id(), nanos));
        std::fs::create_dir_all(&dir).expect("fake helper state directory");
        install_fake(&dir);
        dir
    })
}

/// Writes the wrapper the library runs as its helper: everything the fake needs is on its command
/// line (the helper's environment is not ours to rely on), core dumps off for its `abort()`.
fn install_fake(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let python = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join("python3")).find(|p| p.is_file()))
        .expect("python3 on PATH: the fake helper is a Python script");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_helper/fake_helper.py");
    assert!(script.is_file(), "missing {}", script.display());
    let wrapper = dir.join("kafka-offset-committer-helper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nulimit -c 0\nexec '{}' '{}' --crate-version '{}' --state-dir '{}' \"$@\"\n",
            python.display(),
            script.display(),
            env!("CARGO_PKG_VERSION"),
            dir.display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("wrapper mode");
    kafka_offset_committer::helper::use_executable(&wrapper);
}

fn open_fake(cluster: &str, extra: &[(&str, &str)]) -> Committer {
    state_dir();
    Committer::open(&settings(cluster, extra)).expect("committer on the fake helper")
}

/// One commit a fake received.
struct Received {
    generation: u64,
    group: String,
    offsets: Vec<(String, i32, i64)>,
    /// Requests the fake held unanswered with this one (a `window` fake; 1 for the others).
    held: u64,
}

/// Every commit a cluster's fakes received, in order.
fn received(cluster: &str) -> Vec<Received> {
    let text = std::fs::read_to_string(state_dir().join(format!("{cluster}.received"))).unwrap_or_default();
    text.lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).expect("received line");
            let offsets = serde_json::from_value(entry["offsets"].clone()).expect("offsets");
            Received {
                generation: entry["generation"].as_u64().unwrap(),
                group: entry["group"].as_str().unwrap().to_string(),
                offsets,
                held: entry["held"].as_u64().unwrap(),
            }
        })
        .collect()
}

/// The pids of a cluster's fakes, in the order they started.
fn fake_pids(cluster: &str) -> Vec<u32> {
    let text = std::fs::read_to_string(state_dir().join(format!("{cluster}.pids"))).unwrap_or_default();
    text.lines().map(|pid| pid.parse().expect("pid")).collect()
}

/// Log lines of this process so far. The buffer is process-global and the tests run in parallel,
/// so every drained line is kept here for all of them; each looks for its own cluster's lines.
fn log_lines() -> Vec<String> {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    seen.extend(kafka_offset_committer::logging::drain(Duration::ZERO));
    seen.clone()
}

/// The lines reporting a desync of the cluster's helper. Lines about the helper's end name the
/// desync too, as the reason of our kill (`killed by us: ...`); they report the kill, not the desync.
fn desync_lines(cluster: &str) -> Vec<String> {
    log_lines()
        .into_iter()
        .filter(|l| l.contains(&format!("[{cluster}]")) && l.contains("desync") && !l.contains("killed by us"))
        .collect()
}

fn restarts(committer: &Committer) -> u64 {
    status(committer)["helper"]["restarts"].as_u64().unwrap_or(0)
}

fn process_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Commits one offset to a fake whose first generation misbehaves; the commit must be answered by the
/// second, and the first must be gone (killed and reaped, never left behind).
fn commit_through_a_restart(cluster: &str, extra: &[(&str, &str)]) -> Committer {
    let committer = open_fake(cluster, extra);
    committer.commit_async("g", &offsets_json(TOPIC, &[42]), "m").unwrap();
    assert!(committer.flush(WAIT), "the commit was not answered after the restart: {}", committer.status_json());
    let group = group_status(&committer, "g");
    assert_eq!(group["lastCommit"]["offsets"][TOPIC]["0"], 42, "{group}");
    assert!(restarts(&committer) >= 1, "the misbehaving helper was never replaced: {}", committer.status_json());
    let generations: Vec<u64> = received(cluster).iter().map(|r| r.generation).collect();
    assert!(generations.contains(&1) && generations.contains(&2), "commits received by generation: {generations:?}");
    let first = fake_pids(cluster)[0];
    assert!(eventually(WAIT, || process_gone(first)), "the first helper (pid {first}) was left behind");
    committer
}

fn assert_one_desync_line(cluster: &str) {
    assert!(eventually(WAIT, || !desync_lines(cluster).is_empty()), "no desync logged: {:#?}", log_lines());
    let lines = desync_lines(cluster);
    assert_eq!(lines.len(), 1, "the desync must be logged once: {lines:#?}");
    assert!(lines[0].starts_with("ERROR "), "{}", lines[0]);
}

#[test]
fn a_well_behaved_fake_is_answered_without_restarts_and_its_log_lines_arrive() {
    let cluster = "ok.fake:1";
    let committer = open_fake(cluster, &[]);
    let outcome = committer.commit_sync("g", &offsets_json(TOPIC, &[7]), "", WAIT).expect("answered");
    assert!(outcome.partitions.iter().all(|p| p.error.is_none()), "{outcome:?}");
    assert_eq!(restarts(&committer), 0);
    let forwarded = format!("fake helper generation 1 of {cluster}");
    assert!(eventually(WAIT, || log_lines().iter().any(|l| l.contains(&forwarded))), "{:#?}", log_lines());
    assert!(desync_lines(cluster).is_empty());
}

#[test]
fn garbage_on_the_helpers_stdout_is_a_desync_and_the_commit_survives_it() {
    let cluster = "garbage.fake:1";
    commit_through_a_restart(cluster, &[]);
    assert_one_desync_line(cluster);
}

#[test]
fn an_oversized_frame_length_is_a_desync_and_the_commit_survives_it() {
    let cluster = "oversized.fake:1";
    commit_through_a_restart(cluster, &[]);
    assert_one_desync_line(cluster);
}

#[test]
fn a_cut_frame_is_a_desync_and_the_commit_survives_it() {
    let cluster = "cut.fake:1";
    commit_through_a_restart(cluster, &[]);
    assert_one_desync_line(cluster);
}

#[test]
fn a_helper_that_closes_its_stdout_and_lives_on_is_killed_and_reaped() {
    commit_through_a_restart("close-stdout.fake:1", &[]);
}

#[test]
fn a_helper_that_dies_in_the_middle_of_an_answer_is_replaced() {
    commit_through_a_restart("die-mid-answer.fake:1", &[]);
}

#[test]
fn a_helper_that_never_answers_is_killed_by_the_watchdog() {
    // The watchdog acts once a request is its timeout plus 10 s overdue.
    commit_through_a_restart("hang.fake:1", &[(engine_keys::REQUEST_TIMEOUT, "1000")]);
}

#[test]
fn after_a_crash_every_group_gets_its_latest_offsets_and_none_goes_backwards() {
    let cluster = "crash-held.fake:1";
    let committer = open_fake(cluster, &[]);
    let groups: Vec<String> = (0..4).map(|g| format!("g{g}")).collect();
    for (g, group) in groups.iter().enumerate() {
        committer.commit_async(group, &offsets_json(TOPIC, &[100 + g as i64]), "v1").unwrap();
    }
    assert!(
        eventually(WAIT, || groups.iter().all(|g| group_status(&committer, g)["inFlight"] == true)),
        "not every first commit went out: {}",
        committer.status_json()
    );
    // Newer offsets queue behind the requests in flight; then a commit that makes the helper abort.
    for (g, group) in groups.iter().enumerate() {
        committer.commit_async(group, &offsets_json(TOPIC, &[200 + g as i64]), "v2").unwrap();
    }
    committer.commit_async("x-last", &offsets_json(TOPIC, &[1]), "").unwrap();
    assert!(committer.flush(WAIT), "not everything committed after the crash: {}", committer.status_json());
    assert!(restarts(&committer) >= 1, "{}", committer.status_json());

    let received = received(cluster);
    for (g, group) in groups.iter().enumerate() {
        let sent: Vec<(u64, i64)> =
            received.iter().filter(|r| &r.group == group).map(|r| (r.generation, r.offsets[0].2)).collect();
        assert!(sent.windows(2).all(|pair| pair[0].1 <= pair[1].1), "{group} was sent an older offset later: {sent:?}");
        assert_eq!(sent.last(), Some(&(2, 200 + g as i64)), "{group}: the new helper must get the latest: {sent:?}");
        assert_eq!(group_status(&committer, group)["lastCommit"]["offsets"][TOPIC]["0"], 200 + g as i64);
    }
}

#[test]
fn requests_in_the_helpers_hands_are_bounded_and_every_group_gets_its_turn() {
    // The fake answers only once no frame came for a second: without a bound it would hold all 300.
    let cluster = "window.fake:1";
    let committer = open_fake(cluster, &[]);
    let groups: Vec<String> = (0..300).map(|g| format!("g{g}")).collect();
    for (g, group) in groups.iter().enumerate() {
        committer.commit_async(group, &offsets_json(TOPIC, &[g as i64]), "").unwrap();
    }
    assert!(committer.flush(WAIT), "not every group committed: {}", committer.status_json());
    let received = received(cluster);
    let most_held = received.iter().map(|r| r.held).max().unwrap_or(0);
    assert_eq!(most_held, 128, "at most 128 requests in the helper's hands, and this test must reach that");
    for (g, group) in groups.iter().enumerate() {
        assert_eq!(group_status(&committer, group)["lastCommit"]["offsets"][TOPIC]["0"], g as i64, "{group}");
    }
    assert_eq!(received.len(), groups.len(), "each group's offsets sent once");
}
