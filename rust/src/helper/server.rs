//! The child side of the helper: runs librdkafka clients on behalf of the supervising parent.

/// Runs the helper until its parent goes away; returns the process exit code.
pub fn run() -> i32 {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("{}", crate::VERSION);
        return 0;
    }
    0
}
