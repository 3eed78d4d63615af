//! The commit helper: a child process of the JVM that owns every librdkafka client, so that an
//! `abort()` or a crash inside librdkafka ends this process, never the JVM (see `helper::server`,
//! whose first act closes every descriptor inherited from the JVM).

fn main() {
    // rust-rdkafka's own `log` records would be lost without a logger: they go to the JVM with the rest.
    kafka_offset_committer::logging::bridge_log_records();
    std::process::exit(kafka_offset_committer::helper::server::run());
}
