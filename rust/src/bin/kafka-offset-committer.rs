//! The command-line tool: a consumer group's lag (`lag`) and a one-off commit of Spark end offsets
//! (`commit`), with the settings a Java Kafka client takes (see `cli`).

fn main() -> std::process::ExitCode {
    kafka_offset_committer::cli::main()
}
