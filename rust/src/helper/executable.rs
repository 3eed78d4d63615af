//! Where the helper executable comes from: a path named by the caller or the environment, or an
//! image (the jar's copy) installed once per process. An installed image lives in an anonymous
//! in-memory file, so it starts even where every temp directory is mounted `noexec` and no temp
//! cleaner can delete it from under a driver that runs for months.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use once_cell::sync::Lazy;

use super::{launch, os};
use crate::mailbox::lock;

/// The helper's file name, next to the JNI library in the jar and next to a Rust program.
pub const FILE_NAME: &str = "kafka-offset-committer-helper";
/// Names the helper executable to run, overriding every other source.
pub const PATH_ENVIRONMENT_VARIABLE: &str = "KAFKA_OFFSET_COMMITTER_HELPER_PATH";

struct Chosen {
    path: PathBuf,
    /// Keeps an installed image alive; its path is `/proc/<pid>/fd/<n>`.
    _image: Option<File>,
}

static CHOSEN: Lazy<Mutex<Option<Chosen>>> = Lazy::new(|| Mutex::new(None));
/// Paths whose `--version` matched this library's.
static VERIFIED: Lazy<Mutex<HashSet<PathBuf>>> = Lazy::new(|| Mutex::new(HashSet::new()));

/// Runs the helper at `path` from now on (an explicit choice wins over the environment).
pub fn use_executable(path: impl Into<PathBuf>) {
    *lock(&CHOSEN) = Some(Chosen { path: path.into(), _image: None });
}

/// Installs the helper from its bytes, unless one is chosen already; returns where it runs from.
/// Tried in order: an in-memory file, then a file in `fallback_directory` (refused when that is
/// mounted `noexec`). The installed copy is started once to prove it runs here.
pub fn install_image(image: &[u8], fallback_directory: &Path) -> Result<PathBuf, String> {
    let mut chosen = lock(&CHOSEN);
    if let Some(chosen) = chosen.as_ref() {
        return Ok(chosen.path.clone());
    }
    let in_memory = os::anonymous_executable_file(FILE_NAME)
        .map_err(|e| format!("cannot create an in-memory file: {e}"))
        .and_then(|file| install_into(file, image, Seal::Yes));
    let installed = match in_memory {
        Ok(installed) => installed,
        Err(memory_error) => install_in_directory(image, fallback_directory).map_err(|directory_error| {
            format!(
                "cannot install the commit helper: an in-memory file failed ({memory_error}) and so did {}: \
                 {directory_error}; set system property kafka.offset.committer.tempdir to a directory on a file \
                 system mounted with exec, or name an executable copy of {FILE_NAME} in system property \
                 kafka.offset.committer.helper.path or environment variable {PATH_ENVIRONMENT_VARIABLE}",
                fallback_directory.display()
            )
        })?,
    };
    let path = installed.path.clone();
    *chosen = Some(installed);
    Ok(path)
}

/// The executable to start: the chosen one, else the environment's, else the file next to the
/// running program (a Rust program's layout). Each path is proven to be a helper of this very
/// version once, whichever way it was named.
pub(crate) fn resolve() -> Result<PathBuf, String> {
    let path = choose()?;
    if !lock(&VERIFIED).contains(&path) {
        verify(&path)?;
        lock(&VERIFIED).insert(path.clone());
    }
    Ok(path)
}

fn choose() -> Result<PathBuf, String> {
    if let Some(chosen) = lock(&CHOSEN).as_ref() {
        return Ok(chosen.path.clone());
    }
    if let Some(path) = std::env::var_os(PATH_ENVIRONMENT_VARIABLE).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(FILE_NAME)));
    match beside {
        Some(path) if path.is_file() => Ok(path),
        _ => Err(format!(
            "the commit helper executable is unknown: set environment variable {PATH_ENVIRONMENT_VARIABLE} to \
             the path of {FILE_NAME}"
        )),
    }
}

/// Runs `path --version` (started as every helper is: no descriptor of ours, the allow-listed
/// environment) and checks that it is the helper of this library's version: a helper of another
/// version may speak another protocol.
fn verify(path: &Path) -> Result<(), String> {
    let expected = crate::VERSION;
    let mut probe = Command::new(path);
    launch::apply_launch_rules(&mut probe);
    let output = probe
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|error| format!("the commit helper {} does not start: {error}", path.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    let printed = printed.lines().next().unwrap_or_default().trim();
    match printed.strip_prefix(FILE_NAME).map(str::trim) {
        Some(version) if output.status.success() && version == expected => Ok(()),
        Some(version) if output.status.success() && !version.is_empty() => Err(format!(
            "the commit helper {} is version {version}, but this library is version {expected}; \
             use the {FILE_NAME} of version {expected}",
            path.display()
        )),
        _ => Err(format!(
            "the commit helper {} does not start as {FILE_NAME} version {expected} ({}, printed {printed:?})",
            path.display(),
            output.status
        )),
    }
}

fn install_in_directory(image: &[u8], directory: &Path) -> Result<Chosen, String> {
    std::fs::create_dir_all(directory).map_err(|e| e.to_string())?;
    if os::mounted_noexec(directory).map_err(|e| e.to_string())? {
        return Err("it is mounted noexec".into());
    }
    let name = format!("{FILE_NAME}-{}-{:x}", std::process::id(), rand_suffix());
    let path = directory.join(name);
    let file = OpenOptions::new().write(true).read(true).create_new(true).mode(0o700).open(&path);
    let result = file.map_err(|e| e.to_string()).and_then(|file| install_into(file, image, Seal::No));
    // The open read-only descriptor keeps the file; its name is not needed any more.
    let _ = std::fs::remove_file(&path);
    result
}

/// Whether the file holding an installed image supports seals (an in-memory file does).
#[derive(PartialEq)]
enum Seal {
    Yes,
    No,
}

/// Writes `image` into `file`, seals it when it can, trades the writable descriptor for a read-only
/// one (Linux refuses to execute a file open for writing) and proves the result is our helper.
fn install_into(mut file: File, image: &[u8], seal: Seal) -> Result<Chosen, String> {
    let written = file.write_all(image).and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(0o700)));
    written.map_err(|e| format!("cannot write the helper image: {e}"))?;
    if seal == Seal::Yes {
        os::seal(&file).map_err(|e| format!("cannot seal the helper image: {e}"))?;
    }
    let read_only = File::open(descriptor_path(&file)).map_err(|e| format!("cannot reopen the helper image: {e}"))?;
    drop(file);
    let path = descriptor_path(&read_only);
    verify(&path)?;
    lock(&VERIFIED).insert(path.clone());
    Ok(Chosen { path, _image: Some(read_only) })
}

fn descriptor_path(file: &File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd()))
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id() as u64);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell script standing in for a helper. Written by a shell, so that no descriptor of ours
    /// ever has it open for writing (a child forked meanwhile by another test would make it busy).
    fn fake_helper(directory: &Path, name: &str, prints: &str) -> PathBuf {
        let path = directory.join(name);
        let written = Command::new("/bin/sh")
            .args(["-c", "printf '#!/bin/sh\\necho %s\\n' \"$2\" >\"$1\" && chmod 700 \"$1\"", "sh"])
            .arg(&path)
            .arg(prints)
            .status()
            .expect("/bin/sh runs");
        assert!(written.success());
        path
    }

    #[test]
    fn only_a_helper_of_this_version_passes_and_a_refusal_names_the_path_and_both_versions() {
        let directory = std::env::temp_dir().join(format!("koc-verify-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let matching = fake_helper(&directory, "matching", &format!("{FILE_NAME} {}", crate::VERSION));
        assert_eq!(verify(&matching), Ok(()));

        let other = fake_helper(&directory, "other", &format!("{FILE_NAME} 0.0.1-other"));
        let refusal = verify(&other).unwrap_err();
        for named in [other.to_str().unwrap(), "version 0.0.1-other", &format!("version {}", crate::VERSION)] {
            assert!(refusal.contains(named), "{refusal:?} lacks {named:?}");
        }

        let stranger = fake_helper(&directory, "stranger", "hello");
        let refusal = verify(&stranger).unwrap_err();
        assert!(refusal.contains(stranger.to_str().unwrap()) && refusal.contains("\"hello\""), "{refusal}");

        let missing = directory.join("missing");
        let refusal = verify(&missing).unwrap_err();
        assert!(refusal.contains(missing.to_str().unwrap()) && refusal.contains("does not start"), "{refusal}");
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
