//! The few operating-system calls the helper needs that the standard library lacks. Like the JNI
//! and librdkafka modules, this is one of the crate's only places with `unsafe`.

use std::fs::File;
use std::io;

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
