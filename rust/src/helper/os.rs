//! The few operating-system calls the helper needs that the standard library lacks. Like the JNI
//! and librdkafka modules, this is one of the crate's only places with `unsafe`.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Ends the process at once, without running exit handlers: used when the parent is gone, where
/// OpenSSL's or librdkafka's handlers could block on locks held by other threads.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` takes no pointers and never returns.
    unsafe { libc::_exit(code) }
}

/// Raises a real segmentation fault (test-only fault injection).
pub fn segfault() -> ! {
    // SAFETY: raising a signal has no memory effects; SIGSEGV's default action ends the process.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    std::process::abort()
}

/// An anonymous in-memory file (Linux `memfd_create`): executables written there start even when
/// every writable directory is mounted `noexec`, and nothing can delete them while we run.
#[cfg(target_os = "linux")]
pub fn anonymous_file(name: &str) -> io::Result<File> {
    use std::ffi::CString;
    use std::os::fd::FromRawFd;

    let name = CString::new(name).map_err(io::Error::other)?;
    // SAFETY: the name is a valid C string for the duration of the call; on success the returned
    // descriptor is new and owned by nobody else, so `File` may take it over. Called through
    // `syscall` because glibc before 2.27 has no wrapper.
    let fd = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { File::from_raw_fd(fd as i32) })
}

#[cfg(not(target_os = "linux"))]
pub fn anonymous_file(_name: &str) -> io::Result<File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "in-memory executables need Linux"))
}

/// Whether the file system holding `path` forbids executing files (`noexec`).
pub fn mounted_noexec(path: &std::path::Path) -> io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;

    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: both pointers are valid for the call; `statvfs` fills the struct on success.
    if unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = unsafe { stats.assume_init() }.f_flag;
    Ok(flags & libc::ST_NOEXEC != 0)
}

/// Starts `command`'s process with no descriptor of ours but its stdin, stdout and stderr.
///
/// A JVM opens most descriptors without close-on-exec (its jar files, its sockets, the pipes of the
/// processes it starts) and closes them itself in the children it starts; a child started from Rust
/// would inherit them all. A helper holding the write end of another child's output pipe keeps that
/// pipe open after the child ends, so the JVM thread reading it waits forever: a Spark query stuck
/// in Hadoop's `readlink` under a checkpoint rename, while a helper started at that moment ran.
pub fn inherit_only_stdio(command: &mut Command) {
    let last_descriptor = last_descriptor_to_check();
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe calls
    // are allowed: it makes system calls (close_range, fcntl) and nothing else (no allocation, no lock).
    unsafe {
        command.pre_exec(move || {
            close_on_exec_from(3, last_descriptor);
            Ok(())
        });
    }
}

/// Marks every descriptor from `first` on close-on-exec, so exec closes them (marked, not closed: the
/// standard library reports a failed exec through a descriptor of its own that must stay open until then).
fn close_on_exec_from(first: libc::c_int, last_descriptor: libc::c_int) {
    // SAFETY: close_range takes no pointers; with CLOSE_RANGE_CLOEXEC it only sets descriptor flags.
    let marked = unsafe {
        libc::syscall(libc::SYS_close_range, first as libc::c_uint, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC)
    };
    if marked != 0 {
        // Kernels before 5.11 (Amazon Linux 2, RHEL 7 and 8) and some emulators.
        close_on_exec_one_by_one(first, last_descriptor);
    }
}

fn close_on_exec_one_by_one(first: libc::c_int, last_descriptor: libc::c_int) {
    for descriptor in first..=last_descriptor {
        // SAFETY: fcntl with F_GETFD/F_SETFD takes no pointers; an unused number just fails with EBADF.
        unsafe {
            let flags = libc::fcntl(descriptor, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(descriptor, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// The highest descriptor number the child may hold, for kernels without close_range: the highest
/// open now plus a margin for descriptors other threads open before the fork (a new descriptor takes
/// the lowest free number), within the open-file limit. Read in the parent, where allocating is fine.
fn last_descriptor_to_check() -> libc::c_int {
    const MARGIN: libc::c_int = 4096;
    let highest_open = std::fs::read_dir("/proc/self/fd")
        .map(|entries| {
            entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<libc::c_int>().ok()).max().unwrap_or(2)
        })
        .unwrap_or(libc::c_int::MAX - MARGIN);
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills the struct it is given.
    let soft_limit = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        libc::c_int::try_from(limit.rlim_cur).unwrap_or(libc::c_int::MAX)
    } else {
        libc::c_int::MAX
    };
    highest_open.saturating_add(MARGIN).min(soft_limit.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::process::Stdio;

    /// A pipe without close-on-exec, as a JVM opens its descriptors; both ends, numbered from 300 on so
    /// that no descriptor the listing child opens itself can take the same number.
    fn inheritable_pipe() -> (File, File) {
        let mut ends = [0; 2];
        // SAFETY: pipe fills the two-element array; F_DUPFD copies a descriptor of ours (without
        // close-on-exec) to the lowest free number from 300 on; each new descriptor is owned once.
        unsafe {
            assert_eq!(libc::pipe(ends.as_mut_ptr()), 0);
            let high = ends.map(|end| {
                let copy = libc::fcntl(end, libc::F_DUPFD, 300);
                assert!(copy >= 300);
                libc::close(end);
                copy
            });
            (File::from_raw_fd(high[0]), File::from_raw_fd(high[1]))
        }
    }

    /// Which of `pipe`'s two descriptors a shell started by `command` holds.
    fn inherited_ends(pipe: &(File, File), prepare: impl FnOnce(&mut Command)) -> Vec<libc::c_int> {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "ls /proc/$$/fd"]).stdin(Stdio::null()).stderr(Stdio::null());
        prepare(&mut command);
        let output = command.output().expect("/bin/sh runs");
        let listed: Vec<libc::c_int> =
            String::from_utf8_lossy(&output.stdout).split_whitespace().filter_map(|fd| fd.parse().ok()).collect();
        assert!(listed.contains(&1), "the listing itself failed: {listed:?}");
        [pipe.0.as_raw_fd(), pipe.1.as_raw_fd()].into_iter().filter(|fd| listed.contains(fd)).collect()
    }

    #[test]
    fn a_child_holds_no_inheritable_descriptor_of_ours() {
        let pipe = inheritable_pipe();
        // Without it, the child holds both ends: what the JVM's descriptors did in the helper.
        assert_eq!(inherited_ends(&pipe, |_| {}).len(), 2);
        assert_eq!(inherited_ends(&pipe, inherit_only_stdio), Vec::<libc::c_int>::new());
    }

    #[test]
    fn the_one_by_one_fallback_of_old_kernels_leaves_nothing_either() {
        let pipe = inheritable_pipe();
        let last_descriptor = last_descriptor_to_check();
        assert!(last_descriptor >= pipe.1.as_raw_fd());
        let ends = inherited_ends(&pipe, |command| {
            // SAFETY: as in `inherit_only_stdio`: system calls only between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    close_on_exec_one_by_one(3, last_descriptor);
                    Ok(())
                });
            }
        });
        assert_eq!(ends, Vec::<libc::c_int>::new());
    }
}
