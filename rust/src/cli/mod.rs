//! The command-line tool `kafka-offset-committer`: `lag` shows a consumer group's committed offsets
//! next to the log end (as `kafka-consumer-groups --describe` lays them out), `commit` commits Spark
//! end offsets to a group through the same engine the listener uses.
//!
//! Both take the settings of a Java Kafka client (`--command-config`, as Kafka's own tools do) and
//! translate them with [`crate::config::translate`], so one properties file serves the Spark job,
//! Kafka's tools and this one. `lag` reads with librdkafka in this process; `commit` runs its
//! request in the commit helper (`kafka-offset-committer-helper`, found beside this executable).

mod commit;
mod lag;
mod properties;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Executor};

#[derive(Parser, Debug)]
#[command(
    name = "kafka-offset-committer",
    version = crate::VERSION,
    about = "Consumer group lag and one-off commits of Spark Structured Streaming Kafka offsets",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// A group's committed offsets, the log end and the lag of each partition it committed to
    Lag(LagArgs),
    /// Commits Spark end offsets (a checkpoint's or a progress event's JSON) to a group
    Commit(CommitArgs),
}

/// What every command needs to reach the cluster.
#[derive(Args, Debug)]
struct Connection {
    /// Kafka brokers to bootstrap from (host:port, comma-separated); wins over the file's bootstrap.servers
    #[arg(long, value_name = "HOST:PORT,...")]
    bootstrap_server: String,
    /// The consumer group
    #[arg(long)]
    group: String,
    /// A Java Kafka client properties file (security.protocol, sasl.*, ssl.*), as Kafka's tools take it
    #[arg(long, value_name = "FILE")]
    command_config: Option<PathBuf>,
    /// How long to wait for the cluster, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    timeout: f64,
}

#[derive(Args, Debug)]
struct LagArgs {
    #[command(flatten)]
    connection: Connection,
    /// Redraw every SECONDS seconds until interrupted (Ctrl-C)
    #[arg(long, value_name = "SECONDS")]
    watch: Option<f64>,
    /// A table (GROUP TOPIC PARTITION COMMITTED LOG-END LAG) or one JSON document (one per refresh with --watch)
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

#[derive(Args, Debug)]
struct CommitArgs {
    #[command(flatten)]
    connection: Connection,
    /// Spark end offsets: {"topic":{"partition":offset,...},...}, e.g. a line of a checkpoint's offsets file
    #[arg(long, value_name = "JSON")]
    offsets: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Table,
    Json,
}

/// Runs the command named on the command line; exit code 0 on success, 1 on failure, 2 on bad usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Lag(args) => lag::run(&args),
        Command::Commit(args) => commit::run(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("kafka-offset-committer: {message}");
            ExitCode::FAILURE
        }
    }
}

impl Connection {
    fn timeout(&self) -> Result<Duration, String> {
        seconds("--timeout", self.timeout)
    }

    /// The Java client settings: the file's, then the bootstrap servers from the command line.
    /// Refused when only Kafka's Java client could log in with them.
    fn java_settings(&self) -> Result<Vec<(String, String)>, String> {
        let mut settings = match &self.command_config {
            Some(path) => read_properties(path)?,
            None => Vec::new(),
        };
        settings.retain(|(key, _)| !key.trim().eq_ignore_ascii_case("bootstrap.servers"));
        settings.push(("bootstrap.servers".to_string(), self.bootstrap_server.clone()));
        let translated = config::translate(&settings).map_err(|e| e.to_string())?;
        if translated.executor.executor != Executor::Native {
            return Err(format!(
                "these settings need Kafka's Java client ({}); this tool runs librdkafka only, so use the JVM API \
                 for this login",
                translated.executor.reason
            ));
        }
        Ok(settings)
    }
}

fn read_properties(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    properties::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn seconds(option: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{option} must be a positive number of seconds, not {value}"))
}

/// Columns as wide as their widest cell, two spaces apart, as `kafka-consumer-groups` prints them.
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let header = header.map(String::from);
    let all: Vec<&[String; N]> = std::iter::once(&header).chain(rows).collect();
    let widths: Vec<usize> = (0..N).map(|c| all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    all.iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            format!("{}\n", cells.join("  ").trim_end())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lag_takes_the_documented_options() {
        let cli = Cli::try_parse_from([
            "kafka-offset-committer",
            "lag",
            "--bootstrap-server",
            "b:9092",
            "--group",
            "g",
            "--watch",
            "2",
            "--output",
            "json",
        ])
        .unwrap();
        let Command::Lag(args) = cli.command else { panic!("not lag: {cli:?}") };
        assert_eq!(args.connection.group, "g");
        assert_eq!(args.watch, Some(2.0));
        assert_eq!(args.output, Output::Json);
    }

    /// The settings `--command-config` reads from a file holding `text`.
    fn settings_from_file(text: &str) -> Result<Vec<(String, String)>, String> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("koc-cli-test-{}-{}.properties", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let file = std::env::temp_dir().join(name);
        std::fs::write(&file, text).unwrap();
        let connection = Connection {
            bootstrap_server: "from-flag:9092".into(),
            group: "g".into(),
            command_config: Some(file.clone()),
            timeout: 30.0,
        };
        let settings = connection.java_settings();
        std::fs::remove_file(&file).unwrap();
        settings
    }

    #[test]
    fn the_command_line_bootstrap_wins_over_the_file() {
        assert_eq!(
            settings_from_file("bootstrap.servers=from-file:9092\nclient.id=tool\n").unwrap(),
            vec![("client.id".to_string(), "tool".to_string()), ("bootstrap.servers".into(), "from-flag:9092".into())]
        );
    }

    #[test]
    fn a_login_only_the_java_client_can_make_is_refused_with_the_reason() {
        let error = settings_from_file(&format!("{}=jvm\n", config::engine_keys::EXECUTOR)).unwrap_err();
        assert!(error.contains("Kafka's Java client") && error.contains(config::engine_keys::EXECUTOR), "{error}");
    }

    #[test]
    fn a_setting_the_engine_refuses_is_named() {
        let error = settings_from_file("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=NO-SUCH\n").unwrap_err();
        assert!(error.contains("sasl.mechanism"), "{error}");
    }

    #[test]
    fn zero_or_negative_seconds_are_refused() {
        assert!(seconds("--watch", 0.0).is_err());
        assert!(seconds("--watch", -1.0).is_err());
        assert_eq!(seconds("--watch", 1.5).unwrap(), Duration::from_millis(1500));
    }
}
