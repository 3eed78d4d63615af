//! The few operating-system calls the helper needs that the standard library lacks. Like the JNI
//! and librdkafka modules, this is one of the crate's only places with `unsafe`.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

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

/// An anonymous in-memory file (Linux `memfd_create`) to hold an executable: executables written
/// there start even when every writable directory is mounted `noexec`, and nothing can delete them
/// while we run. Created executable and sealable; [`seal`] it once written.
#[cfg(target_os = "linux")]
pub fn anonymous_executable_file(name: &str) -> io::Result<File> {
    let name = std::ffi::CString::new(name).map_err(io::Error::other)?;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // From kernel 6.3 on, `vm.memfd_noexec=1` makes a memfd created without MFD_EXEC impossible to
    // execute; older kernels do not know the flag and refuse it with EINVAL.
    match memfd_create(&name, flags | libc::MFD_EXEC) {
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => memfd_create(&name, flags),
        created => created,
    }
}

#[cfg(target_os = "linux")]
fn memfd_create(name: &std::ffi::CStr, flags: libc::c_uint) -> io::Result<File> {
    // SAFETY: the name is a valid C string for the duration of the call. Called through `syscall`
    // because glibc before 2.27 has no wrapper.
    let fd = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success the returned descriptor is new and owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd as libc::c_int) })
}

#[cfg(not(target_os = "linux"))]
pub fn anonymous_executable_file(_name: &str) -> io::Result<File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "in-memory executables need Linux"))
}

/// Seals an anonymous file's content for good: it can no longer be written, grown or shrunk, and
/// the seals themselves can no longer change, so the image we verified is the image that runs.
#[cfg(target_os = "linux")]
pub fn seal(file: &File) -> io::Result<()> {
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: fcntl with F_ADD_SEALS takes no pointers and changes only the file's seals.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub fn seal(_file: &File) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "sealing needs Linux"))
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

/// Closes every descriptor but stdin, stdout and stderr: the helper's first instruction.
///
/// A JVM opens most descriptors without close-on-exec (its jar files, its sockets, the pipes of the
/// processes it starts) and closes them itself in the children it starts; a helper started from Rust
/// inherits them all. A helper holding the write end of another child's output pipe keeps that pipe
/// open after the child ends, so the JVM thread reading it waits forever: a Spark query stuck in
/// Hadoop's `readlink` under a checkpoint rename, while a helper started at that moment ran. They
/// cannot be marked close-on-exec between fork and exec in the parent, which `posix_spawn` has no
/// room for (see `launch`), so the helper lets go of them before anything else runs.
pub fn close_inherited_descriptors() {
    // SAFETY: close_range takes no pointers; nothing of the helper's own is open above stderr yet.
    let closed =
        unsafe { libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, libc::c_uint::MAX, 0 as libc::c_uint) };
    if closed != 0 {
        // Kernels before 5.9 (Amazon Linux 2, RHEL 7 and 8) and some emulators.
        close_one_by_one(3);
    }
}

fn close_one_by_one(first: libc::c_int) {
    let close = |descriptor: libc::c_int| {
        // SAFETY: close takes no pointers; an unused number just fails with EBADF. Nothing of ours
        // (no `File`, no `OwnedFd`) owns these descriptors.
        unsafe { libc::close(descriptor) };
    };
    match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => {
            // Collected first: the listing's own descriptor is among them, closed when the listing
            // ends (closing its number again just fails).
            let open: Vec<libc::c_int> = entries
                .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .filter(|descriptor| *descriptor >= first)
                .collect();
            open.into_iter().for_each(close);
        }
        Err(_) => (first..=highest_possible_descriptor()).for_each(close),
    }
}

/// The highest number a descriptor of this process can have: one below the open-file limit.
fn highest_possible_descriptor() -> libc::c_int {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return libc::c_int::MAX;
    }
    libc::c_int::try_from(limit.rlim_cur).unwrap_or(libc::c_int::MAX).saturating_sub(1)
}

/// Moves the helper's frames off stdout: returns a private descriptor of the stdout pipe and points
/// stdout at stderr, so that whatever else writes to stdout (librdkafka, OpenSSL, a stray print)
/// lands in the parent's log instead of between two frames.
pub fn private_frame_output() -> io::Result<File> {
    // SAFETY: fcntl with F_DUPFD_CLOEXEC copies a descriptor to a new number, owned by nobody else
    // (so `File` may take it over); dup2 replaces stdout, which no Rust object owns.
    unsafe {
        let frames = libc::fcntl(libc::STDOUT_FILENO, libc::F_DUPFD_CLOEXEC, 3);
        if frames < 0 {
            return Err(io::Error::last_os_error());
        }
        let frames = File::from_raw_fd(frames);
        if libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(frames)
    }
}

/// No core dump of this process, ever: the helper holds the cluster's passwords and keys, and
/// systemd-coredump or abrt would keep them on disk. `RLIMIT_CORE` 0 (soft and hard, so nothing
/// raises it again) stops a core file; not dumpable also stops a core-dump pipe, whose handler the
/// limit does not bind, and keeps other processes of the same user from reading our memory.
pub fn forbid_core_dumps() -> io::Result<()> {
    let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads the struct it is given; prctl with PR_SET_DUMPABLE takes no pointers.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_CORE, &none) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::prctl(
            libc::PR_SET_DUMPABLE,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The process's stdin as a file, read without a buffer of the standard library's (bytes held there
/// would be invisible to `poll`), and without a copy of the descriptor (the copy would be one more
/// descriptor on a pipe of the parent's). Taken once, by the helper's main loop.
pub fn take_stdin() -> File {
    // SAFETY: no Rust object owns descriptor 0 (`io::stdin()` borrows it and is not used once this
    // file exists); the file becomes its one owner.
    unsafe { File::from_raw_fd(libc::STDIN_FILENO) }
}

/// A pipe whose ends neither block nor survive an `exec`: librdkafka writes a byte to the write end
/// when the result queue gets an event, and the helper's main thread waits for the read end.
pub fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut ends = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-element array; on success both descriptors are new and owned by
    // nobody else, so `OwnedFd` may take them over.
    unsafe {
        if libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])))
    }
}

/// Makes reads of `descriptor` return `WouldBlock` instead of waiting. The flag belongs to the open
/// file, so it is set only on a pipe end no other process shares (the helper's end of its stdin).
pub fn set_nonblocking(descriptor: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFL/F_SETFL takes no pointers and changes only the file's status flags.
    unsafe {
        let flags = libc::fcntl(descriptor.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(descriptor.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits up to `timeout` until one of `descriptors` can be read without waiting; says which can. The
/// end of the stream or an error counts as readable: the read that follows reports it. An
/// interrupted wait returns early with none readable.
pub fn wait_readable(descriptors: &[BorrowedFd<'_>], timeout: Duration) -> io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = descriptors
        .iter()
        .map(|descriptor| libc::pollfd { fd: descriptor.as_raw_fd(), events: libc::POLLIN, revents: 0 })
        .collect();
    let timeout_ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the array holds `polled.len()` initialised entries for the call's duration.
    let ready = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, timeout_ms) };
    if ready < 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; polled.len()]);
        }
        return Err(error);
    }
    Ok(polled.iter().map(|entry| entry.revents != 0).collect())
}

/// Whether a write to the pipe `descriptor` of at most [`PIPE_ATOMIC_BYTES`] would return at once:
/// the pipe has a free buffer, or its reader is gone (the write then fails with `EPIPE`). With a
/// single writer, nothing can fill the room between this answer and the write.
pub fn pipe_has_room(descriptor: BorrowedFd<'_>) -> bool {
    let mut polled = libc::pollfd { fd: descriptor.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
    // SAFETY: one initialised entry, valid for the call; a zero timeout never waits.
    let ready = unsafe { libc::poll(&mut polled, 1, 0) };
    ready > 0 && polled.revents != 0
}

/// A pipe takes a write of at most this many bytes whole (POSIX `PIPE_BUF`), into one free buffer.
pub const PIPE_ATOMIC_BYTES: usize = libc::PIPE_BUF;

/// Names the calling thread (`/proc/<pid>/comm` for the main thread, what `top` and `ps -e` show);
/// the kernel keeps the first 15 bytes.
pub fn name_this_thread(name: &str) {
    let Ok(name) = std::ffi::CString::new(name) else { return };
    // SAFETY: PR_SET_NAME reads a C string, valid for the duration of the call.
    unsafe {
        libc::prctl(
            libc::PR_SET_NAME,
            name.as_ptr() as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::launch;
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::process::Stdio;

    /// Tells the test binary, started again as a child, which way to let go of inherited descriptors.
    const CHILD_MODE_VARIABLE: &str = "KOC_DESCRIPTOR_TEST_CHILD";

    /// A pipe without close-on-exec, as a JVM opens its descriptors; both ends, numbered from 300 on so
    /// that no descriptor the child opens itself can take the same number.
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

    /// Which of `pipe`'s two descriptors this test binary holds when started again the way a helper
    /// is (`launch::helper_command`, so by posix_spawn), after letting go of inherited ones by `mode`.
    fn ends_held_by_a_started_child(pipe: &(File, File), mode: &str) -> Vec<libc::c_int> {
        let test_binary = std::env::current_exe().expect("the test binary's path");
        let mut command = launch::helper_command(&test_binary);
        command
            .args(["--exact", "helper::os::tests::child_lists_its_descriptors", "--ignored", "--nocapture"])
            .args(["--test-threads=1"])
            .env(CHILD_MODE_VARIABLE, mode)
            .stdin(Stdio::null());
        let output = command.output().expect("the test binary starts again");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        let listed: Vec<libc::c_int> = stdout
            .lines()
            .find_map(|line| line.strip_prefix("descriptors: "))
            .unwrap_or_else(|| panic!("the child listed no descriptors: {stdout}"))
            .split_whitespace()
            .filter_map(|fd| fd.parse().ok())
            .collect();
        assert!(listed.contains(&1), "the listing itself failed: {listed:?}");
        [pipe.0.as_raw_fd(), pipe.1.as_raw_fd()].into_iter().filter(|fd| listed.contains(fd)).collect()
    }

    /// Not a test of its own: the child that `ends_held_by_a_started_child` starts (it does nothing
    /// when run any other way).
    #[test]
    #[ignore = "run as a child process by the descriptor tests"]
    fn child_lists_its_descriptors() {
        let Ok(mode) = std::env::var(CHILD_MODE_VARIABLE) else { return };
        match mode.as_str() {
            "close_range" => close_inherited_descriptors(),
            "one_by_one" => close_one_by_one(3),
            _ => {}
        }
        let listed: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        let mut stdout = std::io::stdout().lock();
        // On a line of its own: libtest has written the test's name without a line end.
        writeln!(stdout, "\ndescriptors: {}", listed.join(" ")).expect("stdout");
    }

    #[test]
    fn a_started_helper_lets_go_of_every_inheritable_descriptor_of_ours() {
        let pipe = inheritable_pipe();
        // Started by posix_spawn, the child holds both ends until it lets go of them itself.
        assert_eq!(ends_held_by_a_started_child(&pipe, "keep").len(), 2);
        assert_eq!(ends_held_by_a_started_child(&pipe, "close_range"), Vec::<libc::c_int>::new());
    }

    #[test]
    fn the_one_by_one_fallback_of_old_kernels_leaves_nothing_either() {
        let pipe = inheritable_pipe();
        assert_eq!(ends_held_by_a_started_child(&pipe, "one_by_one"), Vec::<libc::c_int>::new());
    }

    #[test]
    fn a_sealed_anonymous_file_can_no_longer_change() {
        let mut file = anonymous_executable_file("sealed").expect("memfd");
        file.write_all(b"image").expect("written before sealing");
        seal(&file).expect("sealed");
        assert!(file.write_all(b"more").is_err(), "written after sealing");
        assert!(file.set_len(1).is_err(), "shrunk after sealing");
        assert!(seal(&file).is_err(), "the seals themselves are sealed");
    }
}
