//! `commit`: Spark end offsets committed to a group by the engine the listener uses (the commit
//! helper runs the request), each partition's result printed.

use std::process::ExitCode;
use std::time::Duration;

use super::{table, CommitArgs};
use crate::Committer;

pub(super) fn run(args: &CommitArgs) -> Result<ExitCode, String> {
    let connection = &args.connection;
    let timeout = connection.timeout()?;
    let committer = Committer::open(&connection.java_settings()?).map_err(|e| e.to_string())?;
    let metadata = format!("{{\"tool\":\"kafka-offset-committer commit\",\"committer\":\"{}\"}}", crate::VERSION);
    let outcome = committer
        .commit_sync(&connection.group, args.offsets.as_str(), &metadata, timeout)
        .map_err(|e| e.to_string())?;
    let mut failed = 0;
    let rows: Vec<[String; 5]> = outcome
        .partitions
        .iter()
        .map(|p| {
            let result = match &p.error {
                None => "committed".to_string(),
                Some((kind, message)) => {
                    failed += 1;
                    format!("{kind}: {message}")
                }
            };
            [connection.group.clone(), p.topic.clone(), p.partition.to_string(), p.offset.to_string(), result]
        })
        .collect();
    print!("{}", table(["GROUP", "TOPIC", "PARTITION", "OFFSET", "RESULT"], &rows));
    // Nothing is left queued: a refused partition is not retried by a process about to exit.
    committer.close(Duration::from_secs(1));
    if failed > 0 {
        eprintln!("kafka-offset-committer: {failed} of {} partitions were not committed", rows.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
