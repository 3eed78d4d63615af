// TEMPORARY STUB so the engine compiles; the offsets helper replaces this file.
#[derive(Debug)]
pub struct OffsetsError(pub String);
impl std::fmt::Display for OffsetsError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "invalid offsets: {}", self.0) } }
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionOffset { pub topic: String, pub partition: i32, pub offset: i64 }
pub const MAX_METADATA_BYTES: usize = 4096;
pub fn validate_metadata(m: &str) -> Result<(), OffsetsError> { if m.len() > MAX_METADATA_BYTES { Err(OffsetsError("metadata too large".into())) } else { Ok(()) } }
pub fn parse_end_offsets(json: &str) -> Result<Vec<PartitionOffset>, OffsetsError> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| OffsetsError(e.to_string()))?;
    let mut out = vec![];
    for (t, ps) in v.as_object().ok_or(OffsetsError("not an object".into()))? { for (p, o) in ps.as_object().unwrap() { out.push(PartitionOffset { topic: t.clone(), partition: p.parse().unwrap(), offset: o.as_i64().unwrap() }); } }
    Ok(out)
}
pub fn offsets_to_json(o: &[PartitionOffset]) -> String { let mut m = serde_json::Map::new(); for p in o { m.entry(p.topic.clone()).or_insert(serde_json::json!({})).as_object_mut().unwrap().insert(p.partition.to_string(), p.offset.into()); } serde_json::Value::Object(m).to_string() }
