//! `parse_end_offsets` on arbitrary text: it never panics, what it accepts is JSON holding
//! exactly the offsets it returns, `validate_offsets` accepts them unchanged, and rendering them
//! parses back unchanged.
#![no_main]

#[path = "../../src/offsets.rs"]
mod offsets;

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use offsets::PartitionOffset;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(
        offsets::validate_metadata(text).is_ok(),
        text.len() <= offsets::MAX_METADATA_BYTES
    );
    let Ok(parsed) = offsets::parse_end_offsets(text) else {
        return;
    };

    assert!(
        parsed
            .windows(2)
            .all(|pair| (&pair[0].topic, pair[0].partition) < (&pair[1].topic, pair[1].partition)),
        "sorted by (topic, partition), no duplicates: {parsed:?}"
    );
    assert!(parsed.iter().all(|entry| entry.partition >= 0 && entry.offset >= 0));

    assert_eq!(offsets::validate_offsets(parsed.clone()).as_ref(), Ok(&parsed));

    let mut by_topic: BTreeMap<&str, BTreeMap<i32, i64>> = BTreeMap::new();
    for entry in &parsed {
        by_topic
            .entry(&entry.topic)
            .or_default()
            .insert(entry.partition, entry.offset);
    }
    let rendered = serde_json::to_string(&by_topic).expect("offsets render as JSON");
    assert_eq!(
        offsets::parse_end_offsets(&rendered).as_ref(),
        Ok(&parsed),
        "{rendered}"
    );

    // A second, independent JSON reader must see the same offsets in the accepted text.
    let value: serde_json::Value = serde_json::from_str(text).expect("accepted text is not valid JSON");
    let mut independently_read = Vec::new();
    for (topic, partitions) in value.as_object().expect("accepted text is not an object") {
        for (partition, offset) in partitions.as_object().expect("a topic is not an object") {
            independently_read.push(PartitionOffset {
                topic: topic.clone(),
                partition: partition.parse().expect("partition key is not an i32"),
                offset: offset.as_i64().expect("offset is not an i64"),
            });
        }
    }
    independently_read.sort();
    assert_eq!(independently_read, parsed);
});
