// TEMPORARY STUB so the engine compiles; the config helper replaces this file.
use std::time::Duration;
#[derive(Debug)]
pub struct ConfigError { pub key: String, pub reason: String }
impl std::fmt::Display for ConfigError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "invalid Kafka setting `{}`: {}", self.key, self.reason) } }
#[derive(Clone, Debug)]
pub struct EngineSettings { pub request_timeout: Duration, pub retry_backoff: Duration, pub retry_backoff_max: Duration, pub retry_max_attempts: u32, pub failure_cooldown: Duration, pub keepalive_interval: Duration }
impl Default for EngineSettings { fn default() -> Self { EngineSettings { request_timeout: Duration::from_secs(30), retry_backoff: Duration::from_millis(200), retry_backoff_max: Duration::from_secs(10), retry_max_attempts: 8, failure_cooldown: Duration::from_secs(60), keepalive_interval: Duration::from_secs(3600) } } }
pub struct ClientSettings { values: Vec<(String, String)> }
impl ClientSettings { pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> { self.values.iter().map(|(k, v)| (k.as_str(), v.as_str())) } pub fn cluster_key(&self) -> String { format!("{:?}", self.values) } }
pub struct Translated { pub client: ClientSettings, pub engine: EngineSettings, pub dropped: Vec<(String, &'static str)> }
pub fn translate(java: &[(String, String)]) -> Result<Translated, ConfigError> {
    let values = java.iter().filter(|(k, _)| k == "bootstrap.servers").cloned().collect();
    Ok(Translated { client: ClientSettings { values }, engine: EngineSettings::default(), dropped: vec![] })
}
