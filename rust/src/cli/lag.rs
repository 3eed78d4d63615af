//! `lag`: for each partition a group has committed to, the committed offset, the log end and the
//! difference, read with librdkafka in this process (a consumer that never joins the group).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use super::{seconds, LagArgs, Output};
use crate::commit::KafkaFailure;
use crate::config;

/// Pause between two tries of a read that failed with a retriable error.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct PartitionLag {
    topic: String,
    partition: i32,
    committed: i64,
    log_end: i64,
    lag: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupLag<'a> {
    group: &'a str,
    total_lag: i64,
    partitions: Vec<PartitionLag>,
}

pub(super) fn run(args: &LagArgs) -> Result<ExitCode, String> {
    let connection = &args.connection;
    let timeout = connection.timeout()?;
    let watch = args.watch.map(|s| seconds("--watch", s)).transpose()?;
    let reader = LagReader::connect(&connection.java_settings()?, &connection.group)?;
    let Some(every) = watch else {
        let lag = reader.read(timeout)?;
        print!("{}", render(&lag, args.output));
        return Ok(ExitCode::SUCCESS);
    };
    let clear_screen = args.output == Output::Table && std::io::stdout().is_terminal();
    loop {
        let shown = match reader.read(timeout) {
            Ok(lag) => render(&lag, args.output),
            // A cluster that is away for a moment should not end a watch: say so, try again.
            Err(error) if args.output == Output::Table => format!("{error}\n"),
            Err(error) => format!("{}\n", serde_json::json!({ "group": connection.group, "error": error })),
        };
        let mut out = std::io::stdout().lock();
        let written = if clear_screen {
            write!(out, "\x1b[H\x1b[2J{}  (every {} s, Ctrl-C ends)\n\n{shown}", utc_time(), every.as_secs_f64())
        } else if args.output == Output::Table {
            write!(out, "{}\n{shown}\n", utc_time())
        } else {
            write!(out, "{shown}")
        };
        // A closed pipe (`| head`) ends the watch.
        if written.and_then(|_| out.flush()).is_err() {
            return Ok(ExitCode::SUCCESS);
        }
        drop(out);
        std::thread::sleep(every);
    }
}

struct LagReader {
    consumer: BaseConsumer,
    group: String,
}

impl LagReader {
    fn connect(java_settings: &[(String, String)], group: &str) -> Result<LagReader, String> {
        if group.trim().is_empty() {
            return Err("the group id is empty".into());
        }
        let translated = config::translate(java_settings).map_err(|e| e.to_string())?;
        let mut client = ClientConfig::new();
        for (key, value) in translated.client.iter() {
            client.set(key, value);
        }
        // The group's offsets are read, never joined: no subscription, nothing committed.
        client.set("group.id", group).set("enable.auto.commit", "false");
        // The log end as Spark's source and Kafka's tools see it (the high watermark, also for
        // transactional topics).
        client.set("isolation.level", "read_uncommitted");
        let consumer: BaseConsumer = client.create().map_err(|e| format!("cannot create the Kafka client: {e}"))?;
        Ok(LagReader { consumer, group: group.to_string() })
    }

    /// Every partition of every topic the group holds an offset for. Kafka answers an offset fetch
    /// for the partitions asked about, so the cluster's topics (all it lets us see) are asked for.
    /// Each request is tried again while Kafka answers with a retriable error (a group's
    /// coordinator that moved or is still loading, as right after a group's first commit) and
    /// `timeout` has not passed since the read began.
    fn read(&self, timeout: Duration) -> Result<GroupLag<'_>, String> {
        let deadline = Instant::now() + timeout;
        let metadata = retried(deadline, |left| self.consumer.fetch_metadata(None, left))
            .map_err(|e| format!("cannot read the cluster's topics: {e}"))?;
        let mut asked = TopicPartitionList::new();
        for topic in metadata.topics().iter().filter(|t| !t.name().starts_with("__")) {
            for partition in topic.partitions() {
                asked.add_partition(topic.name(), partition.id());
            }
        }
        let committed = retried(deadline, |left| self.consumer.committed_offsets(asked.clone(), left))
            .map_err(|e| format!("cannot read group `{}`'s offsets: {e}", self.group))?;
        let mut log_end_asked = TopicPartitionList::new();
        let mut committed_offsets = Vec::new();
        for element in committed.elements() {
            if let Err(error) = element.error() {
                return Err(format!(
                    "cannot read group `{}`'s offset of {}-{}: {error}",
                    self.group,
                    element.topic(),
                    element.partition()
                ));
            }
            if let Offset::Offset(offset) = element.offset() {
                committed_offsets.push((element.topic().to_string(), element.partition(), offset));
                log_end_asked
                    .add_partition_offset(element.topic(), element.partition(), Offset::End)
                    .map_err(|e| e.to_string())?;
            }
        }
        // Offsets for the time "latest" (-1): the log ends of all partitions in one request per broker.
        let log_ends = if committed_offsets.is_empty() {
            TopicPartitionList::new()
        } else {
            retried(deadline, |left| self.consumer.offsets_for_times(log_end_asked.clone(), left))
                .map_err(|e| format!("cannot read the log end offsets: {e}"))?
        };
        let mut partitions = Vec::with_capacity(committed_offsets.len());
        for (topic, partition, committed) in committed_offsets {
            let element = log_ends.find_partition(&topic, partition);
            let log_end = match element.as_ref().map(|e| (e.error(), e.offset())) {
                Some((Ok(()), Offset::Offset(end))) => end,
                Some((Err(error), _)) => {
                    return Err(format!("cannot read the log end of {topic}-{partition}: {error}"))
                }
                _ => return Err(format!("the cluster did not answer the log end of {topic}-{partition}")),
            };
            partitions.push(PartitionLag { lag: (log_end - committed).max(0), topic, partition, committed, log_end });
        }
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(GroupLag { group: &self.group, total_lag: partitions.iter().map(|p| p.lag).sum(), partitions })
    }
}

/// Runs `request` with the time left until `deadline`, again after a pause while it fails with a
/// retriable Kafka error and time is left; its last answer.
fn retried<T>(deadline: Instant, mut request: impl FnMut(Duration) -> KafkaResult<T>) -> KafkaResult<T> {
    loop {
        match request(deadline.saturating_duration_since(Instant::now())) {
            Err(error)
                if deadline.saturating_duration_since(Instant::now()) > RETRY_PAUSE
                    && error.rdkafka_error_code().is_some_and(|code| KafkaFailure::new(code, "").is_retriable()) =>
            {
                std::thread::sleep(RETRY_PAUSE)
            }
            answer => return answer,
        }
    }
}

fn render(lag: &GroupLag<'_>, output: Output) -> String {
    match output {
        Output::Json => format!("{}\n", serde_json::to_string(lag).expect("plain data serialises")),
        Output::Table => table(lag),
    }
}

fn table(lag: &GroupLag<'_>) -> String {
    if lag.partitions.is_empty() {
        return format!("Consumer group '{}' has no committed offsets.\n", lag.group);
    }
    let rows: Vec<[String; 6]> = lag
        .partitions
        .iter()
        .map(|p| {
            [
                lag.group.to_string(),
                p.topic.clone(),
                p.partition.to_string(),
                p.committed.to_string(),
                p.log_end.to_string(),
                p.lag.to_string(),
            ]
        })
        .collect();
    super::table(["GROUP", "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG"], &rows)
}

/// The wall-clock time (UTC) a refresh was read, for the watch header.
fn utc_time() -> String {
    let seconds_of_day = crate::epoch_millis() / 1000 % 86_400;
    format!("{:02}:{:02}:{:02} UTC", seconds_of_day / 3600, seconds_of_day / 60 % 60, seconds_of_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(topic: &str, partition: i32, committed: i64, log_end: i64) -> PartitionLag {
        PartitionLag { topic: topic.into(), partition, committed, log_end, lag: log_end - committed }
    }

    #[test]
    fn the_table_aligns_its_columns() {
        let lag = GroupLag {
            group: "g",
            total_lag: 5,
            partitions: vec![partition("events", 0, 10, 15), partition("events", 10, 1234567, 1234567)],
        };
        assert_eq!(
            table(&lag),
            "GROUP  TOPIC   PARTITION  COMMITTED  LOG-END  LAG\n\
             g      events  0          10         15       5\n\
             g      events  10         1234567    1234567  0\n"
        );
    }

    #[test]
    fn a_group_without_offsets_says_so() {
        let lag = GroupLag { group: "g", total_lag: 0, partitions: vec![] };
        assert_eq!(table(&lag), "Consumer group 'g' has no committed offsets.\n");
        assert_eq!(render(&lag, Output::Json), "{\"group\":\"g\",\"totalLag\":0,\"partitions\":[]}\n");
    }

    fn not_coordinator() -> rdkafka::error::KafkaError {
        rdkafka::error::KafkaError::MetadataFetch(rdkafka::types::RDKafkaErrorCode::NotCoordinator)
    }

    #[test]
    fn a_moving_coordinator_is_asked_again_and_a_refusal_is_not() {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut tries = 0;
        let answer = retried(deadline, |_| {
            tries += 1;
            if tries < 3 {
                Err(not_coordinator())
            } else {
                Ok(tries)
            }
        });
        assert_eq!(answer.unwrap(), 3);

        let mut tries = 0;
        let refused = retried(deadline, |_| -> KafkaResult<()> {
            tries += 1;
            Err(rdkafka::error::KafkaError::MetadataFetch(rdkafka::types::RDKafkaErrorCode::GroupAuthorizationFailed))
        });
        assert!(refused.is_err());
        assert_eq!(tries, 1);
    }

    #[test]
    fn a_retriable_error_is_returned_once_the_deadline_has_passed() {
        let mut tries = 0;
        let answer = retried(Instant::now(), |_| -> KafkaResult<()> {
            tries += 1;
            Err(not_coordinator())
        });
        assert!(answer.is_err());
        assert_eq!(tries, 1);
    }

    #[test]
    fn json_names_every_column() {
        let lag = GroupLag { group: "g", total_lag: 5, partitions: vec![partition("t", 1, 10, 15)] };
        assert_eq!(
            render(&lag, Output::Json),
            "{\"group\":\"g\",\"totalLag\":5,\"partitions\":[{\"topic\":\"t\",\"partition\":1,\"committed\":10,\"logEnd\":15,\"lag\":5}]}\n"
        );
    }
}
