//! The offset rules shared with the listener: every case of `tests/fixtures/offset_rules.json` through
//! the core's public parser (`EndOffsets` from Spark's JSON, as `commit_async` takes it) and, for accepted
//! cases, through the typed entry the listener's commits reach (`EndOffsets` from a list, which the JVM's
//! typed offsets become). The listener's suite `KafkaOffsetRulesSuite` runs the same file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kafka_offset_committer::offsets::{EndOffsets, PartitionOffset};
use serde_json::Value;

fn fixture() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/offset_rules.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    document["cases"].as_array().unwrap_or_else(|| panic!("{}: no `cases` array", path.display())).clone()
}

fn text<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field].as_str().unwrap_or_else(|| panic!("case {case}: `{field}` is not a string"))
}

/// The fixture's normalized map as the parser's sorted list.
fn expected_offsets(case: &Value) -> Vec<PartitionOffset> {
    let topics = case["offsets"].as_object().unwrap_or_else(|| panic!("case {case}: `offsets` is not an object"));
    let mut sorted = BTreeMap::new();
    for (topic, partitions) in topics {
        let partitions =
            partitions.as_object().unwrap_or_else(|| panic!("case {case}: topic {topic} is not an object"));
        assert!(!partitions.is_empty(), "case {case}: a normalized topic has partitions");
        for (partition, offset) in partitions {
            let partition: i32 = partition.parse().unwrap_or_else(|_| panic!("case {case}: partition {partition}"));
            let offset = offset.as_i64().unwrap_or_else(|| panic!("case {case}: offset {offset}"));
            sorted.insert((topic.clone(), partition), offset);
        }
    }
    sorted.into_iter().map(|((topic, partition), offset)| PartitionOffset { topic, partition, offset }).collect()
}

#[test]
fn the_core_parses_every_shared_case_as_the_fixture_says() {
    let cases = fixture();
    let mut failures = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for case in &cases {
        let name = text(case, "name");
        let input = text(case, "input");
        let parsed = EndOffsets::try_from(input).map(EndOffsets::into_vec);
        match text(case, "outcome") {
            "accepted" => {
                accepted += 1;
                let expected = expected_offsets(case);
                match parsed {
                    Ok(got) if got == expected => {}
                    other => failures.push(format!("{name}: expected {expected:?}, got {other:?}")),
                }
                // What the listener hands over: its parsed map as typed offsets, in any order.
                let typed = EndOffsets::try_from(expected.iter().rev().cloned().collect::<Vec<_>>());
                if typed.as_ref().map(|offsets| offsets.clone().into_vec()) != Ok(expected.clone()) {
                    failures.push(format!("{name}: the typed entry gives {typed:?}"));
                }
            }
            "refused" => {
                refused += 1;
                match (parsed, case["reason"].as_str()) {
                    (Ok(got), _) => failures.push(format!("{name}: expected a refusal, parsed {got:?}")),
                    (Err(error), Some(reason)) if !error.to_string().contains(reason) => {
                        failures.push(format!("{name}: `{error}` lacks `{reason}`"))
                    }
                    (Err(error), _) => assert!(error.to_string().starts_with("invalid offsets: "), "{name}: {error}"),
                }
            }
            other => failures.push(format!("{name}: unknown outcome `{other}`")),
        }
    }
    assert!(accepted >= 10 && refused >= 50, "the fixture lost its cases: {accepted} accepted, {refused} refused");
    assert!(failures.is_empty(), "{} of {} cases disagree:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
