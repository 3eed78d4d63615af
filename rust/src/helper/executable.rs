//! Where the helper executable comes from: a path named by the caller or the environment, or an
//! image (the jar's copy) installed once per process. An installed image lives in an anonymous
//! in-memory file, so it starts even where every temp directory is mounted `noexec` and no temp
//! cleaner can delete it from under a driver that runs for months.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use once_cell::sync::Lazy;

use super::os;

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

/// Runs the helper at `path` from now on (an explicit choice wins over the environment).
pub fn use_executable(path: impl Into<PathBuf>) {
    *CHOSEN.lock().unwrap_or_else(|p| p.into_inner()) = Some(Chosen { path: path.into(), _image: None });
}

/// Installs the helper from its bytes, unless one is chosen already; returns where it runs from.
/// Tried in order: an in-memory file, then a file in `fallback_directory` (refused when that is
/// mounted `noexec`). The installed copy is started once to prove it runs here.
pub fn install_image(image: &[u8], fallback_directory: &Path) -> Result<PathBuf, String> {
    let mut chosen = CHOSEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(chosen) = chosen.as_ref() {
        return Ok(chosen.path.clone());
    }
    let in_memory = os::anonymous_file(FILE_NAME).and_then(|file| seal_executable(file, image));
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
/// running program (a Rust program's layout).
pub(crate) fn resolve() -> Result<PathBuf, String> {
    if let Some(chosen) = CHOSEN.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
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

fn install_in_directory(image: &[u8], directory: &Path) -> Result<Chosen, String> {
    std::fs::create_dir_all(directory).map_err(|e| e.to_string())?;
    if os::mounted_noexec(directory).map_err(|e| e.to_string())? {
        return Err("it is mounted noexec".into());
    }
    let name = format!("{FILE_NAME}-{}-{:x}", std::process::id(), rand_suffix());
    let path = directory.join(name);
    let file = OpenOptions::new().write(true).read(true).create_new(true).mode(0o700).open(&path);
    let result = file.and_then(|file| seal_executable(file, image));
    // The open read-only descriptor keeps the file; its name is not needed any more.
    let _ = std::fs::remove_file(&path);
    result.map_err(|e| e.to_string())
}

/// Writes `image` into `file`, then trades the writable descriptor for a read-only one (Linux
/// refuses to execute a file open for writing) and proves the result starts.
fn seal_executable(mut file: File, image: &[u8]) -> io::Result<Chosen> {
    file.write_all(image)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o700))?;
    let writable_path = descriptor_path(&file);
    let read_only = File::open(&writable_path)?;
    drop(file);
    let path = descriptor_path(&read_only);
    let mut version = Command::new(&path);
    version.arg("--version").stdin(Stdio::null()).stderr(Stdio::null());
    os::inherit_only_stdio(&mut version);
    let output = version.output()?;
    let expected = format!("{FILE_NAME} {}", crate::VERSION);
    if !output.status.success() || !String::from_utf8_lossy(&output.stdout).starts_with(&expected) {
        return Err(io::Error::other(format!("the installed helper does not start ({})", output.status)));
    }
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
