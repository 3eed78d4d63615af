//! Java Kafka client settings -> librdkafka settings for the commit client.
//!
//! Users hand us the settings they give Spark's Kafka source, i.e. Java client settings.
//! librdkafka refuses unknown keys, and several keys share a name but not a meaning, so every
//! key is either translated, dropped with a reason (logged once by the engine), or refused when
//! it is a security setting we cannot honour: silently connecting with weaker security than the
//! user asked for is worse than failing.
//!
//! The commit client is an admin-type handle (AlterConsumerGroupOffsets), so only settings valid
//! for every client type are produced: consumer-only librdkafka keys would only draw warnings.
//!
//! Setting names are case-insensitive (Spark lower-cases them for DSv2 sources) and values are
//! trimmed, as Java's `ConfigDef` does. Settings prefixed `committer.` configure the engine.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A value that must never be printed: passwords, keys, the JAAS configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The clear value, only for handing to librdkafka.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A stable digest that tells two secrets apart without showing them (FNV-1a, 64 bits).
    /// Not a cryptographic hash: it identifies clients, it does not protect a weak password
    /// against guessing, so cluster keys should not be published.
    fn fingerprint(&self) -> String {
        const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let hash = self.0.bytes().fold(OFFSET_BASIS, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        });
        format!("fnv1a64:{hash:016x}")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One setting's value; secrets print as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Plain(String),
    Secret(Secret),
}

impl ConfigValue {
    pub fn expose(&self) -> &str {
        match self {
            ConfigValue::Plain(value) => value,
            ConfigValue::Secret(secret) => secret.expose(),
        }
    }

    fn into_secret(self) -> Secret {
        match self {
            ConfigValue::Plain(value) => Secret(value),
            ConfigValue::Secret(secret) => secret,
        }
    }
}

impl fmt::Debug for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Plain(value) => fmt::Debug::fmt(value, f),
            ConfigValue::Secret(secret) => fmt::Debug::fmt(secret, f),
        }
    }
}

/// librdkafka settings for the commit client, ordered by key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    entries: BTreeMap<&'static str, ConfigValue>,
}

impl ClientSettings {
    /// Every setting with its clear value, for building librdkafka's configuration.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(key, value)| (*key, value.expose()))
    }

    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.entries.get(key)
    }

    /// Identifies the cluster and the credentials used on it, so that committers opened with
    /// equivalent settings share one client. Only settings that decide where we connect and who
    /// we are count (bootstrap servers, client id, DNS lookup, security); tuning settings such as
    /// timeouts or buffer sizes do not, so they come from the settings that opened the client.
    /// Secrets appear as fingerprints only.
    pub fn cluster_key(&self) -> String {
        let identity: serde_json::Map<String, serde_json::Value> = self
            .entries
            .iter()
            .filter(|(key, _)| is_identity_key(key))
            .map(|(key, value)| {
                let shown = match value {
                    ConfigValue::Secret(secret) => secret.fingerprint(),
                    ConfigValue::Plain(servers) if *key == "bootstrap.servers" => {
                        normalised_server_list(servers)
                    }
                    ConfigValue::Plain(plain) => plain.clone(),
                };
                (key.to_string(), serde_json::Value::String(shown))
            })
            .collect();
        serde_json::Value::Object(identity).to_string()
    }

    fn set(&mut self, key: &'static str, value: ConfigValue) {
        self.entries.insert(key, value);
    }

    fn set_plain(&mut self, key: &'static str, value: impl Into<String>) {
        self.set(key, ConfigValue::Plain(value.into()));
    }

    fn set_secret(&mut self, key: &'static str, secret: Secret) {
        self.set(key, ConfigValue::Secret(secret));
    }
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

fn is_identity_key(key: &str) -> bool {
    matches!(
        key,
        "bootstrap.servers" | "client.id" | "client.dns.lookup" | "security.protocol"
    ) || key.starts_with("ssl.")
        || key.starts_with("sasl.")
        || key.starts_with("enable.sasl.")
}

/// Host names are case-insensitive and the list order does not change the cluster.
fn normalised_server_list(servers: &str) -> String {
    let mut list: Vec<String> = servers.split(',').map(str::to_ascii_lowercase).collect();
    list.sort();
    list.dedup();
    list.join(",")
}

/// Settings of the commit engine itself (`committer.*` keys), never sent to librdkafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSettings {
    /// Deadline of one commit request (`committer.request.timeout.ms`, else Java's
    /// `default.api.timeout.ms`).
    pub request_timeout: Duration,
    /// First pause before retrying a failed commit; never above `retry_backoff_max` (as in
    /// Java's clients, a larger value is lowered to the maximum).
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// Attempts per commit, the first included; at least 1.
    pub retry_max_attempts: u32,
    /// How long a cluster whose client failed is left alone before trying again.
    pub failure_cooldown: Duration,
    /// Period of re-committing unchanged offsets so that the broker does not expire them.
    pub keepalive_interval: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            request_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(200),
            retry_backoff_max: Duration::from_secs(10),
            retry_max_attempts: 8,
            failure_cooldown: Duration::from_secs(60),
            keepalive_interval: Duration::from_secs(3600),
        }
    }
}

/// The outcome of [`translate`].
#[derive(Debug)]
pub struct Translated {
    pub client: ClientSettings,
    pub engine: EngineSettings,
    /// Settings not passed to librdkafka as given (left out, or moved into librdkafka's range),
    /// with the reason; sorted by key. Meant for one log line each.
    pub dropped: Vec<(String, &'static str)>,
}

/// A setting that cannot be honoured. Never carries a secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid Kafka setting `{}`: {}", self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Whether a Java setting holds a secret: the settings Java's clients type as `PASSWORD`.
/// Names compare case-insensitively, as everywhere here.
pub fn is_secret_setting(key: &str) -> bool {
    matches!(
        key.trim().to_ascii_lowercase().as_str(),
        "sasl.jaas.config"
            | "ssl.key.password"
            | "ssl.keystore.password"
            | "ssl.keystore.key"
            | "ssl.keystore.certificate.chain"
            | "ssl.truststore.password"
            | "ssl.truststore.certificates"
    )
}

/// Translates Java Kafka client settings into librdkafka settings plus engine settings.
pub fn translate(java: &[(String, String)]) -> Result<Translated, ConfigError> {
    let mut dropped = Vec::new();
    let mut input = JavaSettings::new(java, &mut dropped)?;
    let mut out = Output {
        client: ClientSettings::default(),
        dropped,
    };

    let protocol = SecurityProtocol::take(&mut input)?;
    out.client
        .set_plain("security.protocol", protocol.librdkafka_name());
    translate_connection(&mut input, &mut out)?;
    let engine = take_engine_settings(&mut input, &mut out)?;
    if protocol.uses_tls() {
        translate_tls(&mut input, &mut out)?;
    }
    if protocol.uses_sasl() {
        translate_sasl(&mut input, &mut out)?;
    }
    for (key, _) in input.values {
        let reason = leftover_reason(&key, protocol).map_err(|reason| invalid(&key, reason))?;
        out.dropped.push((key, reason));
    }

    // Broker-closed idle connections are routine for a client that commits once per batch.
    out.client.set_plain("log.connection.close", "false");
    // The commit client must never create a topic as a side effect (librdkafka's producer
    // default is true).
    out.client.set_plain("allow.auto.create.topics", "false");

    out.dropped.sort();
    Ok(Translated {
        client: out.client,
        engine,
        dropped: out.dropped,
    })
}

// Reasons for leaving a setting out; each ends up in one log line.
const EMPTY_VALUE: &str = "empty value; treated as not set";
const CLAMPED: &str = "outside the range librdkafka accepts; the nearest accepted value is used";
const NOT_USED: &str = "not used by the commit client";
const COMMIT_GROUP: &str = "the commit group is given with each commit";
const OWN_OPTION: &str = "an option of the offset committer, not a Kafka setting";
const GROUP_MEMBERSHIP: &str =
    "group membership setting; commits are made without joining the group";
const READS_NO_RECORDS: &str = "consumer fetch setting; the commit client reads no records";
const JAVA_CLASSES: &str = "names Java classes, which the native client cannot load";
const JAVA_METRICS: &str = "Java client metrics setting";
const RETRIES: &str = "commit retries are set by committer.retry.max.attempts";
const JAVA_SECURITY_PROVIDER: &str = "Java security provider setting; OpenSSL is used";
const TLS_VERSIONS: &str = "TLS versions are negotiated by OpenSSL";
const CIPHER_SUITES: &str =
    "Java (IANA) cipher suite names differ from OpenSSL's; OpenSSL's default suites are used";
const TLS_NOT_USED: &str = "TLS setting; security.protocol does not use TLS";
const SASL_NOT_USED: &str = "SASL setting; security.protocol does not use SASL";
const KERBEROS_NOT_USED: &str = "Kerberos setting; sasl.mechanism is not GSSAPI";
const JAVA_LOGIN_TUNING: &str = "Java login setting; librdkafka refreshes credentials itself";
const TOKEN_VALIDATION: &str = "Java token validation setting";
const OIDC_ONLY: &str = "used only for OAUTHBEARER logins with clientId and clientSecret";
const PEM_NEEDS_NO_STORE_PASSWORD: &str = "not used with PEM trust and key material";
const NO_TRUSTSTORE: &str = "no truststore is configured";
const NO_KEYSTORE: &str = "no client certificate is configured";
const PKCS12_KEY_PASSWORD: &str = "PKCS12 keys are protected by the keystore password";
const ZERO_REQUEST_TIMEOUT: &str =
    "zero cannot serve as the commit request timeout; the default is used";
const OVERRIDDEN_BY_COMMITTER: &str = "committer.request.timeout.ms takes precedence";

/// The user's settings, names normalised; translation takes out what it consumes and the rest
/// is dropped or refused at the end.
struct JavaSettings {
    values: BTreeMap<String, ConfigValue>,
}

impl JavaSettings {
    fn new(
        java: &[(String, String)],
        dropped: &mut Vec<(String, &'static str)>,
    ) -> Result<Self, ConfigError> {
        let mut values: BTreeMap<String, ConfigValue> = BTreeMap::new();
        for (raw_key, raw_value) in java {
            let key = raw_key.trim().to_ascii_lowercase();
            if key.is_empty() {
                return Err(invalid(raw_key, "a setting has a blank name"));
            }
            // librdkafka takes C strings, which cannot hold a NUL; say so here, by setting name.
            if key.contains('\0') || raw_value.contains('\0') {
                return Err(invalid(&key, "contains a NUL character"));
            }
            let value = raw_value.trim().to_string();
            // An empty endpoint identification algorithm is how Java turns hostname checks off.
            if value.is_empty() && key != "ssl.endpoint.identification.algorithm" {
                dropped.push((key, EMPTY_VALUE));
                continue;
            }
            let value = if is_secret_setting(&key) {
                ConfigValue::Secret(Secret(value))
            } else {
                ConfigValue::Plain(value)
            };
            match values.get(&key) {
                Some(earlier) if *earlier != value => {
                    return Err(invalid(
                        &key,
                        "set more than once with different values (setting names are \
                         case-insensitive)",
                    ));
                }
                Some(_) => {}
                None => {
                    values.insert(key, value);
                }
            }
        }
        Ok(JavaSettings { values })
    }

    fn take(&mut self, key: &str) -> Option<String> {
        self.values
            .remove(key)
            .map(|value| value.expose().to_string())
    }

    fn take_secret(&mut self, key: &str) -> Option<Secret> {
        self.values.remove(key).map(ConfigValue::into_secret)
    }

    fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let keys: Vec<String> = self
            .values
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|key| self.take(&key).map(|value| (key, value)))
            .collect()
    }
}

struct Output {
    client: ClientSettings,
    dropped: Vec<(String, &'static str)>,
}

impl Output {
    fn leave_out(&mut self, key: &str, reason: &'static str) {
        self.dropped.push((key.to_string(), reason));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    const KEY: &'static str = "security.protocol";

    fn take(input: &mut JavaSettings) -> Result<Self, ConfigError> {
        let Some(value) = input.take(Self::KEY) else {
            return Ok(SecurityProtocol::Plaintext);
        };
        match value.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            _ => Err(invalid(
                Self::KEY,
                format!("`{value}` is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
            )),
        }
    }

    fn librdkafka_name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// A Java integer setting with a librdkafka counterpart of the same meaning.
struct NumericSetting {
    java: &'static str,
    librdkafka: &'static str,
    /// librdkafka's accepted range; other values are moved to the nearest bound.
    min: i64,
    max: i64,
    /// Java's "-1 means use the default" spelling, where librdkafka spells it differently.
    minus_one_means: Option<i64>,
}

const fn numeric(
    java: &'static str,
    librdkafka: &'static str,
    min: i64,
    max: i64,
) -> NumericSetting {
    NumericSetting {
        java,
        librdkafka,
        min,
        max,
        minus_one_means: None,
    }
}

impl NumericSetting {
    const fn minus_one_means(self, meaning: i64) -> NumericSetting {
        NumericSetting {
            minus_one_means: Some(meaning),
            ..self
        }
    }
}

const I32_MAX: i64 = i32::MAX as i64;

#[rustfmt::skip]
const NUMERIC_SETTINGS: &[NumericSetting] = &[
    // Java: -1 disables idle closing; librdkafka: 0 does.
    numeric("connections.max.idle.ms", "connections.max.idle.ms", 0, I32_MAX).minus_one_means(0),
    numeric("reconnect.backoff.ms", "reconnect.backoff.ms", 0, 3_600_000),
    numeric("reconnect.backoff.max.ms", "reconnect.backoff.max.ms", 0, 3_600_000),
    numeric("retry.backoff.ms", "retry.backoff.ms", 1, 300_000),
    numeric("retry.backoff.max.ms", "retry.backoff.max.ms", 1, 300_000),
    numeric("socket.connection.setup.timeout.ms", "socket.connection.setup.timeout.ms", 1000, I32_MAX),
    // librdkafka's own `request.timeout.ms` is producer-only; its network timeout is this one.
    numeric("request.timeout.ms", "socket.timeout.ms", 10, 300_000),
    // librdkafka's `metadata.max.age.ms` is a cache age; the refresh period is this one.
    numeric("metadata.max.age.ms", "topic.metadata.refresh.interval.ms", 0, 3_600_000),
    // Java: -1 means the OS default; librdkafka: 0 does.
    numeric("send.buffer.bytes", "socket.send.buffer.bytes", 0, 100_000_000).minus_one_means(0),
    numeric("receive.buffer.bytes", "socket.receive.buffer.bytes", 0, 100_000_000).minus_one_means(0),
];

/// Where to connect and as which client, plus network tuning.
fn translate_connection(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    const BOOTSTRAP: &str = "bootstrap.servers";
    let servers = input.take(BOOTSTRAP).unwrap_or_default();
    let servers = parse_bootstrap_servers(&servers).map_err(|reason| invalid(BOOTSTRAP, reason))?;
    out.client.set_plain(BOOTSTRAP, servers.join(","));

    for key in ["client.id", "client.rack"] {
        if let Some(value) = input.take(key) {
            out.client.set_plain(key, value);
        }
    }

    const DNS_LOOKUP: &str = "client.dns.lookup";
    if let Some(value) = input.take(DNS_LOOKUP) {
        let lookup = value.to_ascii_lowercase();
        if !matches!(
            lookup.as_str(),
            "use_all_dns_ips" | "resolve_canonical_bootstrap_servers_only"
        ) {
            return Err(invalid(
                DNS_LOOKUP,
                format!("`{value}` is not one of use_all_dns_ips, resolve_canonical_bootstrap_servers_only"),
            ));
        }
        out.client.set_plain(DNS_LOOKUP, lookup);
    }

    for setting in NUMERIC_SETTINGS {
        let Some(value) = input.take(setting.java) else {
            continue;
        };
        let number: i64 = value
            .parse()
            .map_err(|_| invalid(setting.java, format!("`{value}` is not an integer")))?;
        let translated = match setting.minus_one_means {
            Some(meaning) if number == -1 => meaning,
            _ => {
                let clamped = number.clamp(setting.min, setting.max);
                if clamped != number {
                    out.leave_out(setting.java, CLAMPED);
                }
                clamped
            }
        };
        out.client
            .set_plain(setting.librdkafka, translated.to_string());
    }
    Ok(())
}

/// Reads `bootstrap.servers` the way Java's clients do (`ClientUtils.parseAndValidateAddresses`):
/// comma-separated, blanks ignored, each entry `[anything]host:port` where a leading
/// `PROTOCOL://` is ignored. librdkafka would instead insist that such a prefix match
/// `security.protocol`, so the prefix is removed.
fn parse_bootstrap_servers(value: &str) -> Result<Vec<String>, String> {
    let mut servers = Vec::new();
    for entry in value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (host, port) = java_host_and_port(entry)
            .ok_or_else(|| format!("`{entry}` is not a host:port address"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| format!("`{entry}` has a port outside 1-65535"))?;
        // IPv6 literals need brackets so that the port stays separable.
        servers.push(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        });
    }
    if servers.is_empty() {
        return Err("missing; it must list at least one host:port".to_string());
    }
    Ok(servers)
}

/// Java's `Utils.getHost`/`getPort` pattern `.*?\[?([0-9a-zA-Z\-%._:]*)\]?:([0-9]+)`: the port
/// is the digits after the last colon and the host the longest run of host characters before
/// it (an optional `]` aside).
fn java_host_and_port(entry: &str) -> Option<(&str, &str)> {
    let colon = entry.rfind(':')?;
    let port = &entry[colon + 1..];
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let before = &entry[..colon];
    let before = before.strip_suffix(']').unwrap_or(before);
    let is_host_byte = |b: &u8| b.is_ascii_alphanumeric() || b"-%._:".contains(b);
    // Host characters are ASCII, so the suffix starts on a character boundary.
    let host_start = before.len() - before.bytes().rev().take_while(is_host_byte).count();
    let host = &before[host_start..];
    (!host.is_empty()).then_some((host, port))
}

const ENGINE_PREFIX: &str = "committer.";
const ENGINE_KEYS: &str = "committer.request.timeout.ms, committer.retry.backoff.ms, \
     committer.retry.backoff.max.ms, committer.retry.max.attempts, committer.failure.cooldown.ms, \
     committer.keepalive.interval.ms";

fn take_engine_settings(
    input: &mut JavaSettings,
    out: &mut Output,
) -> Result<EngineSettings, ConfigError> {
    let mut engine = EngineSettings::default();
    let mut request_timeout_set = false;
    for (key, value) in input.take_prefixed(ENGINE_PREFIX) {
        match &key[ENGINE_PREFIX.len()..] {
            "request.timeout.ms" => {
                engine.request_timeout = positive_millis(&key, &value)?;
                request_timeout_set = true;
            }
            "retry.backoff.ms" => engine.retry_backoff = millis(&key, &value)?,
            "retry.backoff.max.ms" => engine.retry_backoff_max = millis(&key, &value)?,
            "retry.max.attempts" => {
                engine.retry_max_attempts = value
                    .parse()
                    .ok()
                    .filter(|attempts| *attempts >= 1)
                    .ok_or_else(|| {
                        invalid(
                            &key,
                            format!("`{value}` is not a whole number from 1 to {}", u32::MAX),
                        )
                    })?;
            }
            "failure.cooldown.ms" => engine.failure_cooldown = millis(&key, &value)?,
            "keepalive.interval.ms" => engine.keepalive_interval = millis(&key, &value)?,
            _ => {
                return Err(invalid(
                    &key,
                    format!("unknown committer setting; the known ones are {ENGINE_KEYS}"),
                ))
            }
        }
    }
    engine.retry_backoff = engine.retry_backoff.min(engine.retry_backoff_max);

    // Java's bound on blocking API calls is the closest analogue of a commit request deadline.
    const DEFAULT_API_TIMEOUT: &str = "default.api.timeout.ms";
    if let Some(value) = input.take(DEFAULT_API_TIMEOUT) {
        let timeout = millis(DEFAULT_API_TIMEOUT, &value)?;
        if request_timeout_set {
            out.leave_out(DEFAULT_API_TIMEOUT, OVERRIDDEN_BY_COMMITTER);
        } else if timeout.is_zero() {
            out.leave_out(DEFAULT_API_TIMEOUT, ZERO_REQUEST_TIMEOUT);
        } else {
            engine.request_timeout = timeout;
        }
    }
    Ok(engine)
}

/// Milliseconds within Java's int range, which also keeps deadline arithmetic far from overflow.
fn millis(key: &str, value: &str) -> Result<Duration, ConfigError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= i32::MAX as u64)
        .map(Duration::from_millis)
        .ok_or_else(|| {
            invalid(
                key,
                format!(
                    "`{value}` is not a whole number of milliseconds from 0 to {}",
                    i32::MAX
                ),
            )
        })
}

fn positive_millis(key: &str, value: &str) -> Result<Duration, ConfigError> {
    match millis(key, value)? {
        zero if zero.is_zero() => Err(invalid(key, "must be at least 1 ms")),
        duration => Ok(duration),
    }
}

const PEM: &str = "PEM";

/// The store type Java would use: `JKS` unless set, compared case-insensitively.
fn take_store_type(input: &mut JavaSettings, key: &str) -> String {
    input
        .take(key)
        .map_or_else(|| "JKS".to_string(), |kind| kind.to_ascii_uppercase())
}

fn translate_tls(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    const HOSTNAME_CHECK: &str = "ssl.endpoint.identification.algorithm";
    if let Some(value) = input.take(HOSTNAME_CHECK) {
        let algorithm = match value.to_ascii_lowercase().as_str() {
            "" => "none",
            "https" => "https",
            _ => {
                return Err(invalid(
                    HOSTNAME_CHECK,
                    format!("`{value}` is not supported; use https or an empty value"),
                ))
            }
        };
        out.client.set_plain(HOSTNAME_CHECK, algorithm);
    }
    translate_truststore(input, out)?;
    translate_keystore(input, out)
}

/// Trust material must be PEM: OpenSSL cannot read JKS, and the JVM API converts stores to
/// `ssl.truststore.certificates` before calling native code.
fn translate_truststore(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    const LOCATION: &str = "ssl.truststore.location";
    const CERTIFICATES: &str = "ssl.truststore.certificates";
    const PASSWORD: &str = "ssl.truststore.password";
    let store_type = take_store_type(input, "ssl.truststore.type");
    let location = input.take(LOCATION);
    let certificates = input.take_secret(CERTIFICATES);
    let configured = location.is_some() || certificates.is_some();
    match (location, certificates) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                CERTIFICATES,
                format!("set either {LOCATION} or {CERTIFICATES}, not both"),
            ));
        }
        (Some(location), None) if store_type == PEM => {
            out.client.set_plain("ssl.ca.location", location)
        }
        (Some(_), None) => {
            return Err(invalid(
                LOCATION,
                format!("{LOCATION} of type {store_type} must be converted to PEM; the JVM API does this automatically"),
            ));
        }
        (None, Some(pem)) if store_type == PEM => out.client.set_secret("ssl.ca.pem", pem),
        (None, Some(_)) => return Err(invalid(CERTIFICATES, "requires ssl.truststore.type=PEM")),
        (None, None) => {}
    }
    if input.take(PASSWORD).is_some() {
        out.leave_out(
            PASSWORD,
            if configured {
                PEM_NEEDS_NO_STORE_PASSWORD
            } else {
                NO_TRUSTSTORE
            },
        );
    }
    Ok(())
}

/// The client certificate: PEM key and chain (what the JVM API produces), a PEM file, or a
/// PKCS12 file, which OpenSSL reads itself.
fn translate_keystore(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    const LOCATION: &str = "ssl.keystore.location";
    const KEY: &str = "ssl.keystore.key";
    const CHAIN: &str = "ssl.keystore.certificate.chain";
    const STORE_PASSWORD: &str = "ssl.keystore.password";
    const KEY_PASSWORD: &str = "ssl.key.password";
    let store_type = take_store_type(input, "ssl.keystore.type");
    let location = input.take(LOCATION);
    let key = input.take_secret(KEY);
    let chain = input.take_secret(CHAIN);
    let store_password = input.take_secret(STORE_PASSWORD);
    let key_password = input.take_secret(KEY_PASSWORD);

    let inline_pem = key.is_some() || chain.is_some();
    if location.is_some() && inline_pem {
        return Err(invalid(
            KEY,
            format!("set either {LOCATION} or {KEY} with {CHAIN}, not both"),
        ));
    }
    if inline_pem && store_type != PEM {
        return Err(invalid(KEY, "requires ssl.keystore.type=PEM"));
    }
    match (location, key, chain) {
        (None, Some(key), Some(chain)) => {
            out.client.set_secret("ssl.key.pem", key);
            out.client.set_secret("ssl.certificate.pem", chain);
            set_key_password(out, key_password);
            leave_out_if_set(
                out,
                STORE_PASSWORD,
                store_password.as_ref(),
                PEM_NEEDS_NO_STORE_PASSWORD,
            );
        }
        (None, Some(_), None) => {
            return Err(invalid(CHAIN, format!("must be set together with {KEY}")))
        }
        (None, None, Some(_)) => {
            return Err(invalid(KEY, format!("must be set together with {CHAIN}")))
        }
        // A Java PEM keystore file holds the key and the chain; OpenSSL picks each from it.
        (Some(location), _, _) if store_type == PEM => {
            out.client
                .set_plain("ssl.certificate.location", location.clone());
            out.client.set_plain("ssl.key.location", location);
            set_key_password(out, key_password);
            leave_out_if_set(
                out,
                STORE_PASSWORD,
                store_password.as_ref(),
                PEM_NEEDS_NO_STORE_PASSWORD,
            );
        }
        (Some(location), _, _) if store_type == "PKCS12" => {
            out.client.set_plain("ssl.keystore.location", location);
            if let Some(password) = store_password {
                out.client.set_secret("ssl.keystore.password", password);
            }
            leave_out_if_set(
                out,
                KEY_PASSWORD,
                key_password.as_ref(),
                PKCS12_KEY_PASSWORD,
            );
        }
        (Some(_), _, _) => {
            return Err(invalid(
                LOCATION,
                format!("{LOCATION} of type {store_type} must be converted to PEM; the JVM API does this automatically"),
            ));
        }
        (None, None, None) => {
            leave_out_if_set(out, STORE_PASSWORD, store_password.as_ref(), NO_KEYSTORE);
            leave_out_if_set(out, KEY_PASSWORD, key_password.as_ref(), NO_KEYSTORE);
        }
    }
    Ok(())
}

fn set_key_password(out: &mut Output, password: Option<Secret>) {
    if let Some(password) = password {
        out.client.set_secret("ssl.key.password", password);
    }
}

fn leave_out_if_set(out: &mut Output, key: &str, value: Option<&Secret>, reason: &'static str) {
    if value.is_some() {
        out.leave_out(key, reason);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl Mechanism {
    fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

const KERBEROS_UNSUPPORTED: &str = "Kerberos (GSSAPI) is not supported by this build";
const JAAS_KEY: &str = "sasl.jaas.config";

fn translate_sasl(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    const MECHANISM: &str = "sasl.mechanism";
    let mechanism = match input.take(MECHANISM) {
        None => {
            return Err(invalid(
                MECHANISM,
                format!("not set, which means GSSAPI in Java; {KERBEROS_UNSUPPORTED}"),
            ));
        }
        Some(value) => match value.to_ascii_uppercase().as_str() {
            "PLAIN" => Mechanism::Plain,
            "SCRAM-SHA-256" => Mechanism::ScramSha256,
            "SCRAM-SHA-512" => Mechanism::ScramSha512,
            "OAUTHBEARER" => Mechanism::OAuthBearer,
            "GSSAPI" => return Err(invalid(MECHANISM, KERBEROS_UNSUPPORTED)),
            _ => {
                return Err(invalid(
                    MECHANISM,
                    format!("`{value}` is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, GSSAPI"),
                ));
            }
        },
    };
    out.client.set_plain(MECHANISM, mechanism.name());

    let jaas = input.take_secret(JAAS_KEY).ok_or_else(|| {
        invalid(
            JAAS_KEY,
            "sasl.jaas.config is required (the JVM-wide JAAS file is not read)",
        )
    })?;
    let entry = jaas::parse(jaas.expose()).map_err(|e| invalid(JAAS_KEY, e.to_string()))?;
    match (entry.module_kind(), mechanism) {
        (LoginModule::Kerberos, _) => Err(invalid(JAAS_KEY, KERBEROS_UNSUPPORTED)),
        (LoginModule::Unknown, _) => Err(invalid(
            JAAS_KEY,
            "the login module is not one of PlainLoginModule, ScramLoginModule, OAuthBearerLoginModule",
        )),
        (LoginModule::Plain | LoginModule::Scram, Mechanism::OAuthBearer) => {
            Err(invalid(JAAS_KEY, "sasl.mechanism OAUTHBEARER needs OAuthBearerLoginModule"))
        }
        (LoginModule::OAuthBearer, Mechanism::Plain | Mechanism::ScramSha256 | Mechanism::ScramSha512) => Err(
            invalid(JAAS_KEY, format!("sasl.mechanism {} needs PlainLoginModule or ScramLoginModule", mechanism.name())),
        ),
        // Java's Plain and Scram modules both just store username and password, and either
        // works with any of these mechanisms.
        (LoginModule::Plain | LoginModule::Scram, _) => user_and_password(entry, out),
        (LoginModule::OAuthBearer, Mechanism::OAuthBearer) => oauth_bearer(entry, input, out),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoginModule {
    Plain,
    Scram,
    OAuthBearer,
    Kerberos,
    Unknown,
}

impl jaas::Entry {
    /// Matched on the simple class name, so relocated builds (`kafkashaded.org.apache...`)
    /// work too.
    fn module_kind(&self) -> LoginModule {
        match self.module.rsplit('.').next().unwrap_or_default() {
            "PlainLoginModule" => LoginModule::Plain,
            "ScramLoginModule" => LoginModule::Scram,
            "OAuthBearerLoginModule" => LoginModule::OAuthBearer,
            "Krb5LoginModule" => LoginModule::Kerberos,
            _ => LoginModule::Unknown,
        }
    }
}

fn user_and_password(mut entry: jaas::Entry, out: &mut Output) -> Result<(), ConfigError> {
    // SCRAM with tokenauth sends the token flag as a SCRAM extension, which librdkafka's SCRAM
    // client cannot send.
    if entry
        .options
        .get("tokenauth")
        .is_some_and(|flag| flag.eq_ignore_ascii_case("true"))
    {
        return Err(invalid(
            JAAS_KEY,
            "delegation tokens are not supported by librdkafka; use a SCRAM user",
        ));
    }
    let (Some(username), Some(password)) = (
        entry.options.remove("username"),
        entry.options.remove("password"),
    ) else {
        return Err(invalid(
            JAAS_KEY,
            "the login module needs both the username and the password option",
        ));
    };
    out.client.set_plain("sasl.username", username);
    out.client.set_secret("sasl.password", Secret(password));
    Ok(())
}

fn oauth_bearer(
    mut entry: jaas::Entry,
    input: &mut JavaSettings,
    out: &mut Output,
) -> Result<(), ConfigError> {
    const TOKEN_URL: &str = "sasl.oauthbearer.token.endpoint.url";
    // Unsecured tokens (tests): librdkafka builds them itself from a space-separated config.
    if let Some(subject) = entry.options.remove("unsecuredLoginStringClaim_sub") {
        if subject.is_empty() || subject.contains(char::is_whitespace) {
            return Err(invalid(
                JAAS_KEY,
                "unsecuredLoginStringClaim_sub must be one non-empty word",
            ));
        }
        out.client
            .set_plain("enable.sasl.oauthbearer.unsecure.jwt", "true");
        out.client
            .set_plain("sasl.oauthbearer.config", format!("principal={subject}"));
        if input.take(TOKEN_URL).is_some() {
            out.leave_out(TOKEN_URL, OIDC_ONLY);
        }
        return Ok(());
    }
    let (Some(client_id), Some(client_secret)) = (
        entry.options.remove("clientId"),
        entry.options.remove("clientSecret"),
    ) else {
        return Err(invalid(
            JAAS_KEY,
            "OAuthBearerLoginModule needs either unsecuredLoginStringClaim_sub (unsecured test tokens) or \
             clientId and clientSecret (with sasl.oauthbearer.token.endpoint.url)",
        ));
    };
    let url = input.take(TOKEN_URL).ok_or_else(|| {
        invalid(
            TOKEN_URL,
            "required for OAUTHBEARER logins with clientId and clientSecret",
        )
    })?;
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("https" | "http")) {
        return Err(invalid(
            TOKEN_URL,
            "must be an http(s) URL; librdkafka cannot read tokens from files",
        ));
    }
    // Java's `extension_<name>` options; librdkafka takes them as one `name=value,...` list.
    let mut extensions = Vec::new();
    for (option, value) in &entry.options {
        if let Some(name) = option.strip_prefix("extension_") {
            if name.is_empty()
                || [name, value.as_str()]
                    .iter()
                    .any(|part| part.contains([',', '=']))
            {
                return Err(invalid(
                    JAAS_KEY,
                    "SASL extension names and values must not contain `,` or `=`",
                ));
            }
            extensions.push(format!("{name}={value}"));
        }
    }
    out.client.set_plain("sasl.oauthbearer.method", "oidc");
    out.client
        .set_plain("sasl.oauthbearer.client.id", client_id);
    out.client
        .set_secret("sasl.oauthbearer.client.secret", Secret(client_secret));
    out.client
        .set_plain("sasl.oauthbearer.token.endpoint.url", url);
    if let Some(scope) = entry.options.remove("scope") {
        out.client.set_plain("sasl.oauthbearer.scope", scope);
    }
    if !extensions.is_empty() {
        out.client
            .set_plain("sasl.oauthbearer.extensions", extensions.join(","));
    }
    Ok(())
}

/// Why a setting that no translation step consumed is left out, or (`Err`) why it cannot be.
fn leftover_reason(key: &str, protocol: SecurityProtocol) -> Result<&'static str, &'static str> {
    if key.starts_with("ssl.") {
        return if protocol.uses_tls() {
            tls_leftover_reason(key)
        } else {
            Ok(TLS_NOT_USED)
        };
    }
    if key.starts_with("sasl.") {
        return if protocol.uses_sasl() {
            sasl_leftover_reason(key)
        } else {
            Ok(SASL_NOT_USED)
        };
    }
    Ok(match key {
        "group.id" => COMMIT_GROUP,
        "consumer.commit.groupid" => OWN_OPTION,
        "group.instance.id"
        | "group.protocol"
        | "group.remote.assignor"
        | "partition.assignment.strategy"
        | "session.timeout.ms"
        | "heartbeat.interval.ms" => GROUP_MEMBERSHIP,
        "key.deserializer"
        | "value.deserializer"
        | "auto.offset.reset"
        | "enable.auto.commit"
        | "auto.commit.interval.ms"
        | "max.poll.records"
        | "max.poll.interval.ms"
        | "fetch.min.bytes"
        | "fetch.max.bytes"
        | "fetch.max.wait.ms"
        | "max.partition.fetch.bytes"
        | "check.crcs"
        | "isolation.level"
        | "exclude.internal.topics"
        | "allow.auto.create.topics" => READS_NO_RECORDS,
        "interceptor.classes" | "metric.reporters" => JAVA_CLASSES,
        "auto.include.jmx.reporter" => JAVA_METRICS,
        "retries" => RETRIES,
        "security.providers" => JAVA_SECURITY_PROVIDER,
        _ if key.starts_with("metrics.") => JAVA_METRICS,
        _ => NOT_USED,
    })
}

fn tls_leftover_reason(key: &str) -> Result<&'static str, &'static str> {
    match key {
        "ssl.cipher.suites" => Ok(CIPHER_SUITES),
        "ssl.protocol" | "ssl.enabled.protocols" => Ok(TLS_VERSIONS),
        "ssl.provider"
        | "ssl.keymanager.algorithm"
        | "ssl.trustmanager.algorithm"
        | "ssl.secure.random.implementation" => Ok(JAVA_SECURITY_PROVIDER),
        "ssl.engine.factory.class" => Err("a Java SSL engine factory cannot run in librdkafka"),
        _ => Err("TLS setting not supported by the native Kafka client"),
    }
}

fn sasl_leftover_reason(key: &str) -> Result<&'static str, &'static str> {
    match key {
        "sasl.client.callback.handler.class" => Ok(JAVA_CLASSES),
        "sasl.oauthbearer.token.endpoint.url" => Ok(OIDC_ONLY),
        "sasl.oauthbearer.scope.claim.name"
        | "sasl.oauthbearer.sub.claim.name"
        | "sasl.oauthbearer.expected.audience"
        | "sasl.oauthbearer.expected.issuer"
        | "sasl.oauthbearer.clock.skew.seconds"
        | "sasl.oauthbearer.jwks.endpoint.url"
        | "sasl.oauthbearer.jwks.endpoint.refresh.ms"
        | "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms"
        | "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms" => Ok(TOKEN_VALIDATION),
        _ if key.starts_with("sasl.login.") => Ok(JAVA_LOGIN_TUNING),
        _ if key.starts_with("sasl.kerberos.") => Ok(KERBEROS_NOT_USED),
        _ => Err("SASL setting not supported by the native Kafka client"),
    }
}

/// `sasl.jaas.config` read like Java's `JaasConfig`: exactly one entry
/// `LoginModuleClass flag name=value ... ;`. Errors give a position, never input text, since
/// the whole value is secret.
mod jaas {
    use std::collections::BTreeMap;
    use std::fmt;

    /// One login module entry; the control flag is checked and then irrelevant.
    pub struct Entry {
        pub module: String,
        /// A repeated option keeps its last value, as in Java.
        pub options: BTreeMap<String, String>,
    }

    /// Option values hold passwords: only their names are shown.
    impl fmt::Debug for Entry {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Entry")
                .field("module", &self.module)
                .field("options", &self.options.keys().collect::<Vec<_>>())
                .finish()
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct JaasError {
        /// 1-based character position; `None` at the end of the text.
        position: Option<usize>,
        problem: &'static str,
    }

    impl fmt::Display for JaasError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.position {
                Some(position) => write!(
                    f,
                    "malformed JAAS configuration at character {position}: {}",
                    self.problem
                ),
                None => write!(
                    f,
                    "malformed JAAS configuration at its end: {}",
                    self.problem
                ),
            }
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Token {
        /// A bare word or a quoted string: Java treats both as text.
        Text(String),
        Semicolon,
        Equals,
        /// A character that is neither text nor punctuation (C1 control characters).
        Other,
    }

    pub fn parse(text: &str) -> Result<Entry, JaasError> {
        let mut tokens = Tokenizer {
            chars: text.chars().collect(),
            at: 0,
        };
        let at_end = |problem| JaasError {
            position: None,
            problem,
        };

        let Some((module_at, module)) = tokens.next()? else {
            return Err(at_end("no login module entry"));
        };
        let Token::Text(module) = module else {
            return Err(JaasError {
                position: Some(module_at),
                problem: "expected a login module class name",
            });
        };
        let (flag_at, flag) = tokens
            .next()?
            .ok_or_else(|| at_end("the control flag is missing"))?;
        let known_flag = match &flag {
            Token::Text(flag) => ["required", "requisite", "sufficient", "optional"]
                .iter()
                .any(|known| flag.eq_ignore_ascii_case(known)),
            _ => false,
        };
        if !known_flag {
            return Err(JaasError {
                position: Some(flag_at),
                problem: "the control flag must be required, requisite, sufficient or optional",
            });
        }

        let mut options = BTreeMap::new();
        loop {
            let (name_at, name) = tokens
                .next()?
                .ok_or_else(|| at_end("the entry is not terminated by `;`"))?;
            let name = match name {
                Token::Semicolon => break,
                Token::Text(name) => name,
                _ => {
                    return Err(JaasError {
                        position: Some(name_at),
                        problem: "expected an option name or `;`",
                    })
                }
            };
            match tokens.next()? {
                Some((_, Token::Equals)) => {}
                Some((at, _)) => {
                    return Err(JaasError {
                        position: Some(at),
                        problem: "expected `=` after an option name",
                    })
                }
                None => return Err(at_end("expected `=` after an option name")),
            }
            match tokens.next()? {
                Some((_, Token::Text(value))) => {
                    options.insert(name, value);
                }
                Some((at, _)) => {
                    return Err(JaasError {
                        position: Some(at),
                        problem: "an option has no value",
                    })
                }
                None => return Err(at_end("an option has no value")),
            }
        }
        if let Some((at, _)) = tokens.next()? {
            return Err(JaasError {
                position: Some(at),
                problem: "only one login module entry is allowed",
            });
        }
        Ok(Entry { module, options })
    }

    /// Java's `StreamTokenizer` as `JaasConfig` sets it up: characters up to space are
    /// whitespace, `/` starts a comment (`//`, `/* */`, or alone to the end of the line), `"`
    /// and `'` quote with backslash escapes, `;` and `=` are punctuation, C1 controls are
    /// ordinary characters, everything else is a word character.
    struct Tokenizer {
        chars: Vec<char>,
        at: usize,
    }

    impl Tokenizer {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.at).copied()
        }

        /// The next token with its 1-based position, or `None` at the end.
        fn next(&mut self) -> Result<Option<(usize, Token)>, JaasError> {
            loop {
                let Some(c) = self.peek() else {
                    return Ok(None);
                };
                let position = self.at + 1;
                match c {
                    c if c <= ' ' => self.at += 1,
                    '/' => self.skip_comment(),
                    '"' | '\'' => {
                        return self
                            .quoted(c, position)
                            .map(|text| Some((position, Token::Text(text))))
                    }
                    ';' => {
                        self.at += 1;
                        return Ok(Some((position, Token::Semicolon)));
                    }
                    '=' => {
                        self.at += 1;
                        return Ok(Some((position, Token::Equals)));
                    }
                    c if is_ordinary(c) => {
                        self.at += 1;
                        return Ok(Some((position, Token::Other)));
                    }
                    _ => {
                        let start = self.at;
                        while self.peek().is_some_and(is_word_char) {
                            self.at += 1;
                        }
                        let word = self.chars[start..self.at].iter().collect();
                        return Ok(Some((position, Token::Text(word))));
                    }
                }
            }
        }

        /// `at` is on a `/`. An unterminated `/*` runs to the end, as in Java.
        fn skip_comment(&mut self) {
            self.at += 1;
            if self.peek() == Some('*') {
                self.at += 1;
                while self.at < self.chars.len() {
                    if self.chars[self.at] == '*' && self.chars.get(self.at + 1) == Some(&'/') {
                        self.at += 2;
                        return;
                    }
                    self.at += 1;
                }
            } else {
                while self.peek().is_some_and(|c| c != '\n' && c != '\r') {
                    self.at += 1;
                }
            }
        }

        /// A quoted string, escapes resolved as Java's `StreamTokenizer` does. Java silently ends
        /// an unterminated string at the line end; here that is an error, as it almost surely
        /// swallowed a closing quote by mistake.
        fn quoted(&mut self, quote: char, position: usize) -> Result<String, JaasError> {
            let unterminated = JaasError {
                position: Some(position),
                problem: "a quoted string is not closed on its line",
            };
            self.at += 1;
            let mut text = String::new();
            loop {
                let c = self.peek().ok_or(unterminated)?;
                self.at += 1;
                match c {
                    c if c == quote => return Ok(text),
                    '\n' | '\r' => return Err(unterminated),
                    '\\' => {
                        let escaped = self.peek().ok_or(unterminated)?;
                        self.at += 1;
                        text.push(match escaped {
                            '0'..='7' => self.octal_escape(escaped),
                            'a' => '\u{7}',
                            'b' => '\u{8}',
                            'f' => '\u{c}',
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            'v' => '\u{b}',
                            other => other,
                        });
                    }
                    c => text.push(c),
                }
            }
        }

        /// Up to three octal digits, the third only after a first digit of at most 3 (so at
        /// most `\377`); `first` is already consumed.
        fn octal_escape(&mut self, first: char) -> char {
            let digit = |c: char| c.to_digit(8);
            let mut value = digit(first).unwrap_or_default();
            let max_digits = if first <= '3' { 3 } else { 2 };
            for _ in 1..max_digits {
                match self.peek().and_then(digit) {
                    Some(next) => {
                        value = value * 8 + next;
                        self.at += 1;
                    }
                    None => break,
                }
            }
            char::from_u32(value).unwrap_or_default()
        }
    }

    /// C1 control characters: Java's tokenizer returns them as single ordinary tokens.
    fn is_ordinary(c: char) -> bool {
        ('\u{81}'..='\u{9f}').contains(&c)
    }

    fn is_word_char(c: char) -> bool {
        c > ' ' && !matches!(c, ';' | '=' | '/' | '"' | '\'') && !is_ordinary(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Sup3r-S3cret-Pa55";

    fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn translated(pairs: &[(&str, &str)]) -> Translated {
        match translate(&settings(pairs)) {
            Ok(translated) => translated,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn refused(pairs: &[(&str, &str)]) -> ConfigError {
        match translate(&settings(pairs)) {
            Ok(translated) => panic!("expected an error, got {translated:?}"),
            Err(e) => e,
        }
    }

    fn value<'a>(translated: &'a Translated, key: &str) -> Option<&'a str> {
        translated.client.get(key).map(ConfigValue::expose)
    }

    fn is_secret_value(translated: &Translated, key: &str) -> bool {
        matches!(translated.client.get(key), Some(ConfigValue::Secret(_)))
    }

    fn dropped_reason(translated: &Translated, key: &str) -> Option<&'static str> {
        translated
            .dropped
            .iter()
            .find(|(dropped, _)| dropped == key)
            .map(|(_, reason)| *reason)
    }

    fn with_bootstrap<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut all = vec![("bootstrap.servers", "broker:9092")];
        all.extend_from_slice(pairs);
        all
    }

    fn sasl_ssl<'a>(mechanism: &'a str, jaas: &'a str) -> Vec<(&'a str, &'a str)> {
        with_bootstrap(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", mechanism),
            ("sasl.jaas.config", jaas),
        ])
    }

    fn plain_jaas(password: &str) -> String {
        format!(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="{password}";"#
        )
    }

    /// Everything a user or a log could see of a translation or an error.
    fn visible(result: &Result<Translated, ConfigError>) -> String {
        match result {
            Ok(t) => format!("{t:?} {} {:?}", t.client.cluster_key(), t.dropped),
            Err(e) => format!("{e} {e:?}"),
        }
    }

    fn assert_no_secret(result: &Result<Translated, ConfigError>) {
        let shown = visible(result);
        assert!(!shown.contains(SECRET), "secret leaked: {shown}");
    }

    #[test]
    fn minimal_settings_get_the_fixed_commit_client_settings() {
        let t = translated(&[("bootstrap.servers", "b1:9092,b2:9093")]);
        let all: Vec<(&str, &str)> = t.client.iter().collect();
        assert_eq!(
            all,
            vec![
                ("allow.auto.create.topics", "false"),
                ("bootstrap.servers", "b1:9092,b2:9093"),
                ("log.connection.close", "false"),
                ("security.protocol", "plaintext"),
            ]
        );
        assert_eq!(t.engine, EngineSettings::default());
        assert!(t.dropped.is_empty());
    }

    #[test]
    fn engine_defaults_are_the_documented_ones() {
        let engine = EngineSettings::default();
        assert_eq!(engine.request_timeout, Duration::from_secs(30));
        assert_eq!(engine.retry_backoff, Duration::from_millis(200));
        assert_eq!(engine.retry_backoff_max, Duration::from_secs(10));
        assert_eq!(engine.retry_max_attempts, 8);
        assert_eq!(engine.failure_cooldown, Duration::from_secs(60));
        assert_eq!(engine.keepalive_interval, Duration::from_secs(3600));
    }

    #[test]
    fn bootstrap_servers_is_required() {
        let e = refused(&[("client.id", "x")]);
        assert_eq!(e.key, "bootstrap.servers");
        assert!(e.reason.contains("at least one host:port"), "{e}");
        assert_eq!(
            refused(&[("bootstrap.servers", " , ,")]).key,
            "bootstrap.servers"
        );
        assert_eq!(
            refused(&[("bootstrap.servers", "   ")]).key,
            "bootstrap.servers"
        );
    }

    #[test]
    fn bootstrap_servers_are_read_like_java() {
        let t = translated(&[(
            "bootstrap.servers",
            " b1:9092 , SASL_SSL://b2:9093,, [::1]:9094,[fe80::1%eth0]:1 ",
        )]);
        assert_eq!(
            value(&t, "bootstrap.servers"),
            Some("b1:9092,b2:9093,[::1]:9094,[fe80::1%eth0]:1")
        );
        assert!(refused(&[("bootstrap.servers", "broker")])
            .reason
            .contains("`broker` is not a host:port"));
        assert!(refused(&[("bootstrap.servers", "broker:")])
            .reason
            .contains("not a host:port"));
        assert!(refused(&[("bootstrap.servers", ":9092")])
            .reason
            .contains("not a host:port"));
        assert!(refused(&[("bootstrap.servers", "b:0")])
            .reason
            .contains("outside 1-65535"));
        assert!(refused(&[("bootstrap.servers", "b:65536")])
            .reason
            .contains("outside 1-65535"));
        assert!(refused(&[("bootstrap.servers", "b:1,c")])
            .reason
            .contains("`c`"));
        let t = translated(&[("bootstrap.servers", "ÿƝb:9092")]);
        assert_eq!(
            value(&t, "bootstrap.servers"),
            Some("b:9092"),
            "Java skips what precedes the host"
        );
    }

    #[test]
    fn direct_settings_pass_through() {
        let t = translated(&with_bootstrap(&[
            ("client.id", "spark-committer"),
            ("client.rack", "rack-1"),
            (
                "client.dns.lookup",
                "RESOLVE_CANONICAL_BOOTSTRAP_SERVERS_ONLY",
            ),
            ("connections.max.idle.ms", "540000"),
            ("reconnect.backoff.ms", "50"),
            ("reconnect.backoff.max.ms", "1000"),
            ("retry.backoff.ms", "100"),
            ("retry.backoff.max.ms", "1000"),
            ("socket.connection.setup.timeout.ms", "10000"),
        ]));
        assert_eq!(value(&t, "client.id"), Some("spark-committer"));
        assert_eq!(value(&t, "client.rack"), Some("rack-1"));
        assert_eq!(
            value(&t, "client.dns.lookup"),
            Some("resolve_canonical_bootstrap_servers_only")
        );
        assert_eq!(value(&t, "connections.max.idle.ms"), Some("540000"));
        assert_eq!(value(&t, "reconnect.backoff.ms"), Some("50"));
        assert_eq!(value(&t, "reconnect.backoff.max.ms"), Some("1000"));
        assert_eq!(value(&t, "retry.backoff.ms"), Some("100"));
        assert_eq!(value(&t, "retry.backoff.max.ms"), Some("1000"));
        assert_eq!(
            value(&t, "socket.connection.setup.timeout.ms"),
            Some("10000")
        );
        assert!(t.dropped.is_empty(), "{:?}", t.dropped);
    }

    #[test]
    fn dns_lookup_values_are_checked() {
        let e = refused(&with_bootstrap(&[("client.dns.lookup", "default")]));
        assert_eq!(e.key, "client.dns.lookup");
        assert!(e.reason.contains("use_all_dns_ips"), "{e}");
    }

    #[test]
    fn renamed_settings_keep_their_meaning() {
        let t = translated(&with_bootstrap(&[
            ("request.timeout.ms", "30000"),
            ("metadata.max.age.ms", "300000"),
            ("send.buffer.bytes", "131072"),
            ("receive.buffer.bytes", "65536"),
        ]));
        assert_eq!(value(&t, "socket.timeout.ms"), Some("30000"));
        assert_eq!(
            value(&t, "request.timeout.ms"),
            None,
            "librdkafka's key is producer-only"
        );
        assert_eq!(
            value(&t, "topic.metadata.refresh.interval.ms"),
            Some("300000")
        );
        assert_eq!(
            value(&t, "metadata.max.age.ms"),
            None,
            "librdkafka's key is a cache age"
        );
        assert_eq!(value(&t, "socket.send.buffer.bytes"), Some("131072"));
        assert_eq!(value(&t, "socket.receive.buffer.bytes"), Some("65536"));
        assert!(t.dropped.is_empty(), "{:?}", t.dropped);
    }

    #[test]
    fn java_minus_one_becomes_librdkafka_zero() {
        let t = translated(&with_bootstrap(&[
            ("send.buffer.bytes", "-1"),
            ("receive.buffer.bytes", "-1"),
            ("connections.max.idle.ms", "-1"),
        ]));
        assert_eq!(value(&t, "socket.send.buffer.bytes"), Some("0"));
        assert_eq!(value(&t, "socket.receive.buffer.bytes"), Some("0"));
        assert_eq!(value(&t, "connections.max.idle.ms"), Some("0"));
        assert!(t.dropped.is_empty(), "{:?}", t.dropped);
    }

    #[test]
    fn values_outside_librdkafka_ranges_are_clamped_and_reported() {
        let t = translated(&with_bootstrap(&[
            ("request.timeout.ms", "305000"),
            ("retry.backoff.ms", "0"),
            ("socket.connection.setup.timeout.ms", "10"),
            ("send.buffer.bytes", "-5"),
        ]));
        assert_eq!(value(&t, "socket.timeout.ms"), Some("300000"));
        assert_eq!(value(&t, "retry.backoff.ms"), Some("1"));
        assert_eq!(
            value(&t, "socket.connection.setup.timeout.ms"),
            Some("1000")
        );
        assert_eq!(value(&t, "socket.send.buffer.bytes"), Some("0"));
        for key in [
            "request.timeout.ms",
            "retry.backoff.ms",
            "socket.connection.setup.timeout.ms",
            "send.buffer.bytes",
        ] {
            assert_eq!(dropped_reason(&t, key), Some(CLAMPED), "{key}");
        }
    }

    #[test]
    fn numeric_settings_must_be_integers() {
        let e = refused(&with_bootstrap(&[("request.timeout.ms", "30s")]));
        assert_eq!(
            e.to_string(),
            "invalid Kafka setting `request.timeout.ms`: `30s` is not an integer"
        );
        assert!(refused(&with_bootstrap(&[("send.buffer.bytes", "1.5")]))
            .reason
            .contains("not an integer"));
    }

    #[test]
    fn setting_names_are_case_insensitive_and_values_trimmed() {
        let t = translated(&[
            ("Bootstrap.Servers", " broker:9092 "),
            ("SECURITY.PROTOCOL", "ssl"),
            ("Request.Timeout.Ms", " 20000 "),
            ("  client.id  ", "Mixed-Case-Id"),
            ("GROUP.ID", "ignored"),
        ]);
        assert_eq!(value(&t, "bootstrap.servers"), Some("broker:9092"));
        assert_eq!(value(&t, "security.protocol"), Some("ssl"));
        assert_eq!(value(&t, "socket.timeout.ms"), Some("20000"));
        assert_eq!(
            value(&t, "client.id"),
            Some("Mixed-Case-Id"),
            "values keep their case"
        );
        assert_eq!(dropped_reason(&t, "group.id"), Some(COMMIT_GROUP));
    }

    #[test]
    fn blank_setting_names_are_refused() {
        assert_eq!(
            refused(&with_bootstrap(&[("", "x")])).reason,
            "a setting has a blank name"
        );
        assert_eq!(
            refused(&with_bootstrap(&[(" \t", "x")])).reason,
            "a setting has a blank name"
        );
    }

    #[test]
    fn nul_characters_are_refused() {
        let e = refused(&with_bootstrap(&[("ssl.key.password", "pa\0ss")]));
        assert_eq!(
            e.to_string(),
            "invalid Kafka setting `ssl.key.password`: contains a NUL character"
        );
        assert_eq!(
            refused(&with_bootstrap(&[("client.id\0", "x")])).reason,
            "contains a NUL character"
        );
    }

    #[test]
    fn a_setting_repeated_with_another_case_must_agree() {
        let t = translated(&[("bootstrap.servers", "b:1"), ("BOOTSTRAP.SERVERS", "b:1")]);
        assert_eq!(value(&t, "bootstrap.servers"), Some("b:1"));
        let e = refused(&[("bootstrap.servers", "b:1"), ("Bootstrap.Servers", "c:1")]);
        assert_eq!(e.key, "bootstrap.servers");
        assert!(e.reason.contains("more than once"), "{e}");
    }

    #[test]
    fn repeated_secret_settings_do_not_echo_values() {
        let e = refused(&[
            ("bootstrap.servers", "b:1"),
            ("ssl.key.password", SECRET),
            ("SSL.KEY.PASSWORD", "other"),
        ]);
        assert_eq!(e.key, "ssl.key.password");
        assert_no_secret(&Err(e));
    }

    #[test]
    fn empty_values_count_as_not_set() {
        let t = translated(&with_bootstrap(&[
            ("client.id", ""),
            ("security.protocol", "  "),
        ]));
        assert_eq!(value(&t, "client.id"), None);
        assert_eq!(value(&t, "security.protocol"), Some("plaintext"));
        assert_eq!(dropped_reason(&t, "client.id"), Some(EMPTY_VALUE));
        assert_eq!(dropped_reason(&t, "security.protocol"), Some(EMPTY_VALUE));
    }

    #[test]
    fn security_protocol_is_validated() {
        for (given, expected) in [
            ("PLAINTEXT", "plaintext"),
            ("Ssl", "ssl"),
            ("sasl_plaintext", "sasl_plaintext"),
            ("SASL_SSL", "sasl_ssl"),
        ] {
            let mut pairs = with_bootstrap(&[("security.protocol", given)]);
            let jaas = plain_jaas("pw");
            if given.to_ascii_lowercase().starts_with("sasl") {
                pairs.extend([
                    ("sasl.mechanism", "PLAIN"),
                    ("sasl.jaas.config", jaas.as_str()),
                ]);
            }
            assert_eq!(
                value(&translated(&pairs), "security.protocol"),
                Some(expected)
            );
        }
        let e = refused(&with_bootstrap(&[("security.protocol", "TLS")]));
        assert_eq!(e.key, "security.protocol");
        assert!(
            e.reason
                .contains("PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
            "{e}"
        );
    }

    #[test]
    fn spark_added_consumer_settings_are_dropped_with_reasons() {
        let t = translated(&with_bootstrap(&[
            ("group.id", "spark-kafka-source-123-executor"),
            (
                "key.deserializer",
                "org.apache.kafka.common.serialization.ByteArrayDeserializer",
            ),
            (
                "value.deserializer",
                "org.apache.kafka.common.serialization.ByteArrayDeserializer",
            ),
            ("auto.offset.reset", "none"),
            ("enable.auto.commit", "false"),
            ("max.poll.records", "1"),
            ("receive.buffer.bytes", "65536"),
            ("consumer.commit.groupid", "my-group"),
        ]));
        assert_eq!(dropped_reason(&t, "group.id"), Some(COMMIT_GROUP));
        assert_eq!(
            dropped_reason(&t, "key.deserializer"),
            Some(READS_NO_RECORDS)
        );
        assert_eq!(
            dropped_reason(&t, "value.deserializer"),
            Some(READS_NO_RECORDS)
        );
        assert_eq!(
            dropped_reason(&t, "auto.offset.reset"),
            Some(READS_NO_RECORDS)
        );
        assert_eq!(
            dropped_reason(&t, "enable.auto.commit"),
            Some(READS_NO_RECORDS)
        );
        assert_eq!(
            dropped_reason(&t, "max.poll.records"),
            Some(READS_NO_RECORDS)
        );
        assert_eq!(
            dropped_reason(&t, "consumer.commit.groupid"),
            Some(OWN_OPTION)
        );
        assert_eq!(value(&t, "socket.receive.buffer.bytes"), Some("65536"));
        assert_eq!(value(&t, "group.id"), None);
        assert_eq!(
            value(&t, "enable.auto.commit"),
            None,
            "consumer-only key on an admin client"
        );
        assert_eq!(
            value(&t, "enable.auto.offset.store"),
            None,
            "consumer-only key on an admin client"
        );
    }

    #[test]
    fn java_only_settings_are_dropped_with_reasons() {
        let t = translated(&with_bootstrap(&[
            ("group.instance.id", "static-1"),
            (
                "partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.RangeAssignor",
            ),
            ("session.timeout.ms", "45000"),
            ("heartbeat.interval.ms", "3000"),
            ("interceptor.classes", "com.example.Interceptor"),
            ("metric.reporters", "com.example.Reporter"),
            ("metrics.num.samples", "2"),
            ("retries", "5"),
            ("security.providers", "com.example.Provider"),
            ("fetch.max.wait.ms", "500"),
            ("isolation.level", "read_committed"),
            ("some.future.setting", "1"),
        ]));
        assert_eq!(
            dropped_reason(&t, "group.instance.id"),
            Some(GROUP_MEMBERSHIP)
        );
        assert_eq!(
            dropped_reason(&t, "partition.assignment.strategy"),
            Some(GROUP_MEMBERSHIP)
        );
        assert_eq!(
            dropped_reason(&t, "session.timeout.ms"),
            Some(GROUP_MEMBERSHIP)
        );
        assert_eq!(
            dropped_reason(&t, "heartbeat.interval.ms"),
            Some(GROUP_MEMBERSHIP)
        );
        assert_eq!(
            dropped_reason(&t, "interceptor.classes"),
            Some(JAVA_CLASSES)
        );
        assert_eq!(dropped_reason(&t, "metric.reporters"), Some(JAVA_CLASSES));
        assert_eq!(
            dropped_reason(&t, "metrics.num.samples"),
            Some(JAVA_METRICS)
        );
        assert_eq!(dropped_reason(&t, "retries"), Some(RETRIES));
        assert_eq!(
            dropped_reason(&t, "security.providers"),
            Some(JAVA_SECURITY_PROVIDER)
        );
        assert_eq!(
            dropped_reason(&t, "fetch.max.wait.ms"),
            Some(READS_NO_RECORDS)
        );
        assert_eq!(
            dropped_reason(&t, "isolation.level"),
            Some(READS_NO_RECORDS)
        );
        assert_eq!(dropped_reason(&t, "some.future.setting"), Some(NOT_USED));
        let keys: Vec<&str> = t.dropped.iter().map(|(key, _)| key.as_str()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "dropped settings are listed in key order");
        assert!(t
            .client
            .iter()
            .all(|(key, _)| !key.contains("session") && !key.contains("heartbeat")));
    }

    #[test]
    fn engine_settings_are_read_from_committer_keys() {
        let t = translated(&with_bootstrap(&[
            ("committer.request.timeout.ms", "15000"),
            ("Committer.Retry.Backoff.Ms", "50"),
            ("committer.retry.backoff.max.ms", "2000"),
            ("committer.retry.max.attempts", "3"),
            ("committer.failure.cooldown.ms", "0"),
            ("committer.keepalive.interval.ms", "600000"),
        ]));
        assert_eq!(
            t.engine,
            EngineSettings {
                request_timeout: Duration::from_millis(15000),
                retry_backoff: Duration::from_millis(50),
                retry_backoff_max: Duration::from_millis(2000),
                retry_max_attempts: 3,
                failure_cooldown: Duration::ZERO,
                keepalive_interval: Duration::from_millis(600_000),
            }
        );
        assert!(t
            .client
            .iter()
            .all(|(key, _)| !key.starts_with("committer")));
        assert!(t.dropped.is_empty(), "{:?}", t.dropped);
    }

    #[test]
    fn engine_settings_are_validated() {
        let e = refused(&with_bootstrap(&[("committer.retry.backof.ms", "5")]));
        assert_eq!(e.key, "committer.retry.backof.ms");
        assert!(e.reason.contains("unknown committer setting"), "{e}");
        assert!(e.reason.contains("committer.keepalive.interval.ms"), "{e}");
        assert!(
            refused(&with_bootstrap(&[("committer.retry.backoff.ms", "-1")]))
                .reason
                .contains("from 0 to 2147483647")
        );
        assert!(refused(&with_bootstrap(&[(
            "committer.retry.backoff.ms",
            "2147483648"
        )]))
        .reason
        .contains("from 0 to"));
        assert!(
            refused(&with_bootstrap(&[("committer.retry.backoff.ms", "1.5")]))
                .reason
                .contains("from 0 to")
        );
        assert!(
            refused(&with_bootstrap(&[("committer.request.timeout.ms", "0")]))
                .reason
                .contains("at least 1 ms")
        );
        assert!(
            refused(&with_bootstrap(&[("committer.retry.max.attempts", "0")]))
                .reason
                .contains("from 1 to")
        );
        assert!(
            refused(&with_bootstrap(&[("committer.retry.max.attempts", "x")]))
                .reason
                .contains("from 1 to")
        );
    }

    #[test]
    fn retry_backoff_never_exceeds_its_maximum() {
        let t = translated(&with_bootstrap(&[("committer.retry.backoff.ms", "20000")]));
        assert_eq!(t.engine.retry_backoff, t.engine.retry_backoff_max);
    }

    #[test]
    fn default_api_timeout_is_the_fallback_request_timeout() {
        let t = translated(&with_bootstrap(&[("default.api.timeout.ms", "45000")]));
        assert_eq!(t.engine.request_timeout, Duration::from_secs(45));
        assert!(t.dropped.is_empty());

        let t = translated(&with_bootstrap(&[
            ("default.api.timeout.ms", "45000"),
            ("committer.request.timeout.ms", "5000"),
        ]));
        assert_eq!(t.engine.request_timeout, Duration::from_secs(5));
        assert_eq!(
            dropped_reason(&t, "default.api.timeout.ms"),
            Some(OVERRIDDEN_BY_COMMITTER)
        );

        let t = translated(&with_bootstrap(&[("default.api.timeout.ms", "0")]));
        assert_eq!(
            t.engine.request_timeout,
            EngineSettings::default().request_timeout
        );
        assert_eq!(
            dropped_reason(&t, "default.api.timeout.ms"),
            Some(ZERO_REQUEST_TIMEOUT)
        );
        assert_eq!(value(&t, "default.api.timeout.ms"), None);
    }

    #[test]
    fn hostname_verification_translates_java_spelling() {
        let ssl = |algorithm| {
            translated(&with_bootstrap(&[
                ("security.protocol", "SSL"),
                ("ssl.endpoint.identification.algorithm", algorithm),
            ]))
        };
        assert_eq!(
            value(&ssl(""), "ssl.endpoint.identification.algorithm"),
            Some("none")
        );
        assert_eq!(
            value(&ssl("  "), "ssl.endpoint.identification.algorithm"),
            Some("none")
        );
        assert_eq!(
            value(&ssl("HTTPS"), "ssl.endpoint.identification.algorithm"),
            Some("https")
        );
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.endpoint.identification.algorithm", "ldaps"),
        ]));
        assert_eq!(e.key, "ssl.endpoint.identification.algorithm");
    }

    #[test]
    fn tls_settings_are_ignored_without_tls() {
        let t = translated(&with_bootstrap(&[
            ("ssl.truststore.location", "/etc/kafka/truststore.jks"),
            ("ssl.truststore.password", SECRET),
            ("ssl.engine.factory.class", "com.example.Factory"),
            ("ssl.endpoint.identification.algorithm", ""),
        ]));
        assert!(t.client.iter().all(|(key, _)| !key.starts_with("ssl.")));
        assert_eq!(
            dropped_reason(&t, "ssl.truststore.location"),
            Some(TLS_NOT_USED)
        );
        assert_eq!(
            dropped_reason(&t, "ssl.engine.factory.class"),
            Some(TLS_NOT_USED)
        );
        assert_eq!(
            dropped_reason(&t, "ssl.endpoint.identification.algorithm"),
            Some(TLS_NOT_USED)
        );
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn pem_truststore_becomes_ca_settings() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "pem"),
            ("ssl.truststore.certificates", pem),
        ]));
        assert_eq!(value(&t, "ssl.ca.pem"), Some(pem));
        assert!(is_secret_value(&t, "ssl.ca.pem"), "Java types it PASSWORD");

        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", "/etc/kafka/ca.pem"),
            ("ssl.truststore.password", SECRET),
        ]));
        assert_eq!(value(&t, "ssl.ca.location"), Some("/etc/kafka/ca.pem"));
        assert_eq!(
            dropped_reason(&t, "ssl.truststore.password"),
            Some(PEM_NEEDS_NO_STORE_PASSWORD)
        );
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn java_truststores_must_be_converted_by_the_jvm() {
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.location", "/ts.jks"),
            ("ssl.truststore.password", SECRET),
        ]));
        assert_eq!(e.to_string(), "invalid Kafka setting `ssl.truststore.location`: ssl.truststore.location of type JKS must be converted to PEM; the JVM API does this automatically");
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.location", "/ts.p12"),
            ("ssl.truststore.type", "pkcs12"),
        ]));
        assert!(
            e.reason.contains("of type PKCS12 must be converted to PEM"),
            "{e}"
        );
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.certificates", "pem"),
        ]));
        assert_eq!(e.key, "ssl.truststore.certificates");
        assert!(e.reason.contains("ssl.truststore.type=PEM"));
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.certificates", "pem"),
            ("ssl.truststore.location", "/ca.pem"),
        ]));
        assert!(e.reason.contains("not both"), "{e}");
    }

    #[test]
    fn truststore_password_without_a_truststore_is_dropped() {
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.password", SECRET),
        ]));
        assert_eq!(
            dropped_reason(&t, "ssl.truststore.password"),
            Some(NO_TRUSTSTORE)
        );
        assert_eq!(
            value(&t, "ssl.ca.location"),
            None,
            "librdkafka probes the system CA paths"
        );
    }

    #[test]
    fn pem_keystore_becomes_certificate_and_key() {
        let chain = "-----BEGIN CERTIFICATE-----\nchain\n-----END CERTIFICATE-----";
        let key = format!("-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----");
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.certificate.chain", chain),
            ("ssl.keystore.key", &key),
            ("ssl.key.password", SECRET),
        ]));
        assert_eq!(value(&t, "ssl.certificate.pem"), Some(chain));
        assert_eq!(value(&t, "ssl.key.pem"), Some(key.as_str()));
        assert_eq!(value(&t, "ssl.key.password"), Some(SECRET));
        for secret in ["ssl.key.pem", "ssl.key.password", "ssl.certificate.pem"] {
            assert!(is_secret_value(&t, secret), "{secret}");
        }
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn pem_keystore_needs_key_and_chain_and_pem_type() {
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.key", SECRET),
        ]));
        assert_eq!(e.key, "ssl.keystore.certificate.chain");
        assert_no_secret(&Err(e));
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.certificate.chain", "c"),
        ]));
        assert_eq!(e.key, "ssl.keystore.key");
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.key", SECRET),
            ("ssl.keystore.certificate.chain", "c"),
        ]));
        assert!(e.reason.contains("ssl.keystore.type=PEM"), "{e}");
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", "/k.pem"),
            ("ssl.keystore.key", SECRET),
            ("ssl.keystore.certificate.chain", "c"),
        ]));
        assert!(e.reason.contains("not both"), "{e}");
        assert_no_secret(&Err(e));
    }

    #[test]
    fn pem_keystore_file_serves_certificate_and_key() {
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", "/client.pem"),
            ("ssl.key.password", SECRET),
        ]));
        assert_eq!(value(&t, "ssl.certificate.location"), Some("/client.pem"));
        assert_eq!(value(&t, "ssl.key.location"), Some("/client.pem"));
        assert_eq!(value(&t, "ssl.key.password"), Some(SECRET));
    }

    #[test]
    fn pkcs12_keystore_is_read_by_openssl() {
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.location", "/client.p12"),
            ("ssl.keystore.password", SECRET),
            ("ssl.key.password", SECRET),
        ]));
        assert_eq!(value(&t, "ssl.keystore.location"), Some("/client.p12"));
        assert_eq!(value(&t, "ssl.keystore.password"), Some(SECRET));
        assert!(is_secret_value(&t, "ssl.keystore.password"));
        assert_eq!(
            dropped_reason(&t, "ssl.key.password"),
            Some(PKCS12_KEY_PASSWORD)
        );
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn jks_keystore_must_be_converted_by_the_jvm() {
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.location", "/k.jks"),
            ("ssl.keystore.password", SECRET),
        ]));
        assert_eq!(e.key, "ssl.keystore.location");
        assert!(
            e.reason.contains("of type JKS must be converted to PEM"),
            "{e}"
        );
        assert_no_secret(&Err(e));
    }

    #[test]
    fn keystore_passwords_without_a_keystore_are_dropped() {
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.password", SECRET),
            ("ssl.key.password", SECRET),
        ]));
        assert_eq!(
            dropped_reason(&t, "ssl.keystore.password"),
            Some(NO_KEYSTORE)
        );
        assert_eq!(dropped_reason(&t, "ssl.key.password"), Some(NO_KEYSTORE));
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn java_only_tls_settings_are_dropped_or_refused() {
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.cipher.suites", "TLS_AES_256_GCM_SHA384"),
            ("ssl.protocol", "TLSv1.3"),
            ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"),
            ("ssl.provider", "SunJSSE"),
            ("ssl.keymanager.algorithm", "SunX509"),
            ("ssl.trustmanager.algorithm", "PKIX"),
            ("ssl.secure.random.implementation", "SHA1PRNG"),
        ]));
        assert_eq!(dropped_reason(&t, "ssl.cipher.suites"), Some(CIPHER_SUITES));
        assert_eq!(dropped_reason(&t, "ssl.protocol"), Some(TLS_VERSIONS));
        assert_eq!(
            dropped_reason(&t, "ssl.enabled.protocols"),
            Some(TLS_VERSIONS)
        );
        for key in [
            "ssl.provider",
            "ssl.keymanager.algorithm",
            "ssl.trustmanager.algorithm",
            "ssl.secure.random.implementation",
        ] {
            assert_eq!(
                dropped_reason(&t, key),
                Some(JAVA_SECURITY_PROVIDER),
                "{key}"
            );
        }
        assert!(t.client.iter().all(|(key, _)| key != "ssl.cipher.suites"));

        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.engine.factory.class", "com.example.F"),
        ]));
        assert_eq!(e.key, "ssl.engine.factory.class");
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("ssl.something.new", "x"),
        ]));
        assert_eq!(e.key, "ssl.something.new");
    }

    #[test]
    fn sasl_needs_a_jaas_config() {
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
        ]));
        assert_eq!(e.to_string(), "invalid Kafka setting `sasl.jaas.config`: sasl.jaas.config is required (the JVM-wide JAAS file is not read)");
    }

    #[test]
    fn sasl_without_mechanism_means_unsupported_gssapi() {
        let jaas = plain_jaas(SECRET);
        let e = refused(&with_bootstrap(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.jaas.config", &jaas),
        ]));
        assert_eq!(e.key, "sasl.mechanism");
        assert!(
            e.reason
                .contains("Kerberos (GSSAPI) is not supported by this build"),
            "{e}"
        );
        let e = refused(&sasl_ssl("gssapi", &jaas));
        assert_eq!(e.reason, KERBEROS_UNSUPPORTED);
        let e = refused(&sasl_ssl("AWS_MSK_IAM", &jaas));
        assert!(e.reason.contains("`AWS_MSK_IAM` is not one of"), "{e}");
    }

    #[test]
    fn plain_login_gives_username_and_secret_password() {
        let jaas = plain_jaas(SECRET);
        let t = translated(&sasl_ssl("plain", &jaas));
        assert_eq!(value(&t, "sasl.mechanism"), Some("PLAIN"));
        assert_eq!(value(&t, "security.protocol"), Some("sasl_ssl"));
        assert_eq!(value(&t, "sasl.username"), Some("alice"));
        assert_eq!(value(&t, "sasl.password"), Some(SECRET));
        assert!(is_secret_value(&t, "sasl.password"));
        assert_eq!(value(&t, "sasl.jaas.config"), None);
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn scram_login_gives_username_and_password() {
        let jaas = format!("org.apache.kafka.common.security.scram.ScramLoginModule required username=bob password=\"{SECRET}\";");
        for mechanism in ["SCRAM-SHA-256", "scram-sha-512"] {
            let t = translated(&sasl_ssl(mechanism, &jaas));
            assert_eq!(
                value(&t, "sasl.mechanism"),
                Some(mechanism.to_ascii_uppercase().as_str())
            );
            assert_eq!(value(&t, "sasl.username"), Some("bob"));
            assert_eq!(value(&t, "sasl.password"), Some(SECRET));
        }
        // Java's modules are interchangeable for these mechanisms; relocated class names work.
        let shaded = format!("kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required username=u password=\"{SECRET}\";");
        assert_eq!(
            value(
                &translated(&sasl_ssl("SCRAM-SHA-512", &shaded)),
                "sasl.username"
            ),
            Some("u")
        );
    }

    #[test]
    fn scram_delegation_tokens_are_refused() {
        let jaas = format!("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"tokenid\" password=\"{SECRET}\" tokenauth=\"TRUE\";");
        let e = refused(&sasl_ssl("SCRAM-SHA-512", &jaas));
        assert_eq!(
            e.reason,
            "delegation tokens are not supported by librdkafka; use a SCRAM user"
        );
        assert_no_secret(&Err(e));
    }

    #[test]
    fn user_logins_need_username_and_password() {
        let jaas = format!("org.apache.kafka.common.security.plain.PlainLoginModule required password=\"{SECRET}\";");
        let e = refused(&sasl_ssl("PLAIN", &jaas));
        assert!(e.reason.contains("username and the password"), "{e}");
        assert_no_secret(&Err(e));
    }

    #[test]
    fn login_module_must_suit_the_mechanism() {
        let e = refused(&sasl_ssl("OAUTHBEARER", &plain_jaas(SECRET)));
        assert!(e.reason.contains("needs OAuthBearerLoginModule"), "{e}");
        assert_no_secret(&Err(e));
        let oauth = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";";
        let e = refused(&sasl_ssl("PLAIN", oauth));
        assert!(
            e.reason
                .contains("needs PlainLoginModule or ScramLoginModule"),
            "{e}"
        );
        let e = refused(&sasl_ssl(
            "PLAIN",
            &format!("com.example.CustomLoginModule required secret=\"{SECRET}\";"),
        ));
        assert!(e.reason.contains("not one of PlainLoginModule"), "{e}");
        assert_no_secret(&Err(e));
    }

    #[test]
    fn kerberos_login_module_is_refused() {
        let jaas = "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab=\"/k.keytab\" principal=\"u@R\";";
        let e = refused(&sasl_ssl("PLAIN", jaas));
        assert_eq!(e.reason, KERBEROS_UNSUPPORTED);
    }

    #[test]
    fn unsecured_oauth_tokens_use_librdkafkas_builtin_jwt() {
        let jaas = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";";
        let mut pairs = sasl_ssl("OAUTHBEARER", jaas);
        pairs.push(("sasl.oauthbearer.token.endpoint.url", "https://idp/token"));
        let t = translated(&pairs);
        assert_eq!(
            value(&t, "enable.sasl.oauthbearer.unsecure.jwt"),
            Some("true")
        );
        assert_eq!(
            value(&t, "sasl.oauthbearer.config"),
            Some("principal=admin")
        );
        assert_eq!(value(&t, "sasl.oauthbearer.method"), None);
        assert_eq!(
            dropped_reason(&t, "sasl.oauthbearer.token.endpoint.url"),
            Some(OIDC_ONLY)
        );
        let spaced = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"a b\";";
        assert!(refused(&sasl_ssl("OAUTHBEARER", spaced))
            .reason
            .contains("one non-empty word"));
    }

    #[test]
    fn oauth_client_credentials_use_oidc() {
        let jaas = format!(
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             clientId=\"committer\" clientSecret=\"{SECRET}\" scope=\"kafka\" extension_logicalCluster=\"lkc-1\" extension_pool=\"p\";"
        );
        let mut pairs = sasl_ssl("OAUTHBEARER", &jaas);
        pairs.push((
            "sasl.oauthbearer.token.endpoint.url",
            "https://idp.example/token",
        ));
        pairs.push((
            "sasl.login.callback.handler.class",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        ));
        let t = translated(&pairs);
        assert_eq!(value(&t, "sasl.oauthbearer.method"), Some("oidc"));
        assert_eq!(value(&t, "sasl.oauthbearer.client.id"), Some("committer"));
        assert_eq!(value(&t, "sasl.oauthbearer.client.secret"), Some(SECRET));
        assert!(is_secret_value(&t, "sasl.oauthbearer.client.secret"));
        assert_eq!(value(&t, "sasl.oauthbearer.scope"), Some("kafka"));
        assert_eq!(
            value(&t, "sasl.oauthbearer.extensions"),
            Some("logicalCluster=lkc-1,pool=p")
        );
        assert_eq!(
            value(&t, "sasl.oauthbearer.token.endpoint.url"),
            Some("https://idp.example/token")
        );
        assert_eq!(
            dropped_reason(&t, "sasl.login.callback.handler.class"),
            Some(JAVA_LOGIN_TUNING)
        );
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn oauth_client_credentials_need_an_http_token_endpoint() {
        let jaas = format!("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=c clientSecret=\"{SECRET}\";");
        let e = refused(&sasl_ssl("OAUTHBEARER", &jaas));
        assert_eq!(e.key, "sasl.oauthbearer.token.endpoint.url");
        assert_no_secret(&Err(e));
        let mut pairs = sasl_ssl("OAUTHBEARER", &jaas);
        pairs.push(("sasl.oauthbearer.token.endpoint.url", "file:///tmp/token"));
        assert!(refused(&pairs).reason.contains("http(s) URL"));
        let bare = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;";
        assert!(refused(&sasl_ssl("OAUTHBEARER", bare))
            .reason
            .contains("unsecuredLoginStringClaim_sub"));
        let bad_extension = format!("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=c clientSecret=\"{SECRET}\" extension_a=\"x,y\";");
        let mut pairs = sasl_ssl("OAUTHBEARER", &bad_extension);
        pairs.push(("sasl.oauthbearer.token.endpoint.url", "https://idp/token"));
        let e = refused(&pairs);
        assert!(e.reason.contains("must not contain"), "{e}");
        assert_no_secret(&Err(e));
    }

    #[test]
    fn java_only_sasl_settings_are_dropped_or_refused() {
        let jaas = plain_jaas(SECRET);
        let mut pairs = sasl_ssl("PLAIN", &jaas);
        pairs.extend([
            ("sasl.login.refresh.window.factor", "0.8"),
            ("sasl.kerberos.service.name", "kafka"),
            ("sasl.client.callback.handler.class", "com.example.Handler"),
            ("sasl.oauthbearer.expected.audience", "x"),
        ]);
        let t = translated(&pairs);
        assert_eq!(
            dropped_reason(&t, "sasl.login.refresh.window.factor"),
            Some(JAVA_LOGIN_TUNING)
        );
        assert_eq!(
            dropped_reason(&t, "sasl.kerberos.service.name"),
            Some(KERBEROS_NOT_USED)
        );
        assert_eq!(
            dropped_reason(&t, "sasl.client.callback.handler.class"),
            Some(JAVA_CLASSES)
        );
        assert_eq!(
            dropped_reason(&t, "sasl.oauthbearer.expected.audience"),
            Some(TOKEN_VALIDATION)
        );

        let mut pairs = sasl_ssl("PLAIN", &jaas);
        pairs.push(("sasl.new.feature", "x"));
        assert_eq!(refused(&pairs).key, "sasl.new.feature");
    }

    #[test]
    fn sasl_settings_are_ignored_without_sasl() {
        let jaas = plain_jaas(SECRET);
        let t = translated(&with_bootstrap(&[
            ("security.protocol", "SSL"),
            ("sasl.mechanism", "GSSAPI"),
            ("sasl.jaas.config", &jaas),
        ]));
        assert_eq!(dropped_reason(&t, "sasl.mechanism"), Some(SASL_NOT_USED));
        assert_eq!(dropped_reason(&t, "sasl.jaas.config"), Some(SASL_NOT_USED));
        assert!(t.client.iter().all(|(key, _)| !key.starts_with("sasl.")));
        assert_no_secret(&Ok(t));
    }

    #[test]
    fn malformed_jaas_is_reported_by_position_without_its_text() {
        let cases = [
            (format!("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"{SECRET}\""), "at its end: the entry is not terminated by `;`"),
            (format!("org.apache.kafka.common.security.plain.PlainLoginModule mandatory password=\"{SECRET}\";"), "at character 57: the control flag must be required"),
            (format!("org.apache.kafka.common.security.plain.PlainLoginModule required password=\"{SECRET}"), "a quoted string is not closed"),
            (format!("org.apache.kafka.common.security.plain.PlainLoginModule required password \"{SECRET}\";"), "expected `=` after an option name"),
            (format!("org.apache.kafka.common.security.plain.PlainLoginModule required password=;{SECRET}"), "an option has no value"),
            (format!("org.apache.kafka.common.security.plain.PlainLoginModule required = \"{SECRET}\";"), "expected an option name"),
            (format!("org.apache.kafka.common.security.plain.PlainLoginModule required password=\"{SECRET}\"; Other required;"), "only one login module entry"),
            (format!("\"{SECRET}\""), "the control flag is missing"),
            (format!("; {SECRET}"), "expected a login module class name"),
            ("   // nothing\n /* at all */".to_string(), "no login module entry"),
        ];
        for (jaas, expected) in cases {
            let result = translate(&settings(&sasl_ssl("PLAIN", &jaas)));
            let e = result.as_ref().expect_err(&jaas);
            assert_eq!(e.key, "sasl.jaas.config");
            assert!(e.reason.contains(expected), "{jaas}: {e}");
            assert_no_secret(&result);
        }
    }

    fn jaas_options(text: &str) -> BTreeMap<String, String> {
        match jaas::parse(text) {
            Ok(entry) => entry.options,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn jaas_quotes_and_escapes_follow_java() {
        let options = jaas_options(
            r#"M required a="x\"y" b='single' c="tab\there" d="\101\0619\477" e="back\\slash" f='say "hi"' g="\q";"#,
        );
        assert_eq!(options["a"], "x\"y");
        assert_eq!(options["b"], "single");
        assert_eq!(options["c"], "tab\there");
        assert_eq!(
            options["d"], "A19'7",
            "octal escapes: \\101=A, \\061 then 9, \\47 then 7"
        );
        assert_eq!(options["e"], "back\\slash");
        assert_eq!(options["f"], "say \"hi\"");
        assert_eq!(options["g"], "q");
    }

    #[test]
    fn jaas_quoted_string_cannot_span_lines() {
        let e = jaas::parse("M required a=\"x\ny\";").unwrap_err();
        assert!(e.to_string().contains("at character 14"), "{e}");
    }

    #[test]
    fn jaas_words_comments_and_case() {
        let text = "/* leading */ org.Mod REQUIRED // flag\n user_name=al-ice$1 /\n   ssl.key=a.b:c*d ;  // trailing\n/* end";
        let entry = jaas::parse(text).unwrap();
        assert_eq!(entry.module, "org.Mod");
        assert_eq!(entry.options["user_name"], "al-ice$1");
        assert_eq!(entry.options["ssl.key"], "a.b:c*d");
        assert_eq!(
            entry.options.len(),
            2,
            "a lone `/` comments out the rest of its line"
        );
        assert!(jaas::parse("M optional;").is_ok());
        assert!(jaas::parse("M Sufficient;").is_ok());
        assert!(jaas::parse("M requisite;").is_ok());
        assert!(
            jaas::parse("M 'required';").is_ok(),
            "Java takes a quoted flag as text"
        );
        assert!(jaas::parse("\"M\" required;").is_ok());
    }

    #[test]
    fn jaas_entry_debug_hides_option_values() {
        let entry = jaas::parse(&format!("M required username=u password=\"{SECRET}\";")).unwrap();
        assert_eq!(
            format!("{entry:?}"),
            r#"Entry { module: "M", options: ["password", "username"] }"#
        );
    }

    #[test]
    fn jaas_repeated_option_keeps_the_last_value() {
        assert_eq!(jaas_options("M required a=1 a=2;")["a"], "2");
    }

    #[test]
    fn jaas_c1_control_characters_are_not_text() {
        let e = jaas::parse("M required a=\u{85};").unwrap_err();
        assert!(e.to_string().contains("an option has no value"), "{e}");
        assert_eq!(jaas_options("M required a=é\u{a0}ü;")["a"], "é\u{a0}ü");
    }

    #[test]
    fn jaas_rejects_unknown_flags() {
        let e = jaas::parse("M sometimes;").unwrap_err();
        assert_eq!(e.to_string(), "malformed JAAS configuration at character 3: the control flag must be required, requisite, sufficient or optional");
        assert!(jaas::parse("M ;").is_err());
        assert!(jaas::parse("M")
            .unwrap_err()
            .to_string()
            .contains("control flag is missing"));
    }

    #[test]
    fn secrets_are_masked_in_debug_and_display() {
        let secret = Secret::new(SECRET);
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), SECRET);
        assert_eq!(format!("{:?}", ConfigValue::Secret(secret)), "[redacted]");
        assert_eq!(
            format!("{:?}", ConfigValue::Plain("shown".into())),
            "\"shown\""
        );
        let t = translated(&sasl_ssl("PLAIN", &plain_jaas(SECRET)));
        let debug = format!("{:?}", t.client);
        assert!(debug.contains("\"sasl.password\": [redacted]"), "{debug}");
        assert!(debug.contains("\"sasl.username\": \"alice\""), "{debug}");
    }

    #[test]
    fn every_java_password_setting_is_secret() {
        for key in [
            "sasl.jaas.config",
            "SSL.KEY.PASSWORD",
            "ssl.keystore.password",
            "ssl.keystore.key",
            "ssl.keystore.certificate.chain",
            "ssl.truststore.password",
            "ssl.truststore.certificates",
        ] {
            assert!(is_secret_setting(key), "{key}");
        }
        assert!(!is_secret_setting("ssl.keystore.location"));
        assert!(!is_secret_setting("bootstrap.servers"));
    }

    #[test]
    fn secrets_never_show_in_any_outcome() {
        let key_pem = format!("KEY{SECRET}");
        let outcomes = [
            translate(&settings(&sasl_ssl("PLAIN", &plain_jaas(SECRET)))),
            translate(&settings(&sasl_ssl(
                "PLAIN",
                &format!("{SECRET} required;"),
            ))),
            translate(&settings(&sasl_ssl("PLAIN", &format!("M {SECRET};")))),
            translate(&settings(&sasl_ssl(
                "PLAIN",
                &format!("M required {SECRET};"),
            ))),
            translate(&settings(&sasl_ssl(
                "PLAIN",
                &format!("M required a={SECRET}"),
            ))),
            translate(&settings(&with_bootstrap(&[
                ("security.protocol", "SSL"),
                ("ssl.keystore.type", "PEM"),
                ("ssl.keystore.key", &key_pem),
            ]))),
            translate(&settings(&with_bootstrap(&[
                ("security.protocol", "SSL"),
                ("ssl.keystore.type", "JKS"),
                ("ssl.keystore.key", &key_pem),
                ("ssl.keystore.certificate.chain", "c"),
            ]))),
            translate(&settings(&with_bootstrap(&[
                ("ssl.keystore.password", SECRET),
                ("sasl.jaas.config", SECRET),
            ]))),
            translate(&settings(&[
                ("bootstrap.servers", ""),
                ("ssl.key.password", SECRET),
            ])),
        ];
        for outcome in &outcomes {
            assert_no_secret(outcome);
        }
    }

    #[test]
    fn cluster_key_ignores_order_spark_additions_and_engine_settings() {
        let jaas = plain_jaas(SECRET);
        let base = translated(&[
            ("bootstrap.servers", "b1:9092,b2:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", &jaas),
        ]);
        let spark_executor = translated(&[
            ("sasl.jaas.config", &jaas),
            (
                "key.deserializer",
                "org.apache.kafka.common.serialization.ByteArrayDeserializer",
            ),
            ("sasl.mechanism", "plain"),
            ("group.id", "spark-kafka-source-1-executor"),
            ("auto.offset.reset", "none"),
            ("enable.auto.commit", "false"),
            ("receive.buffer.bytes", "65536"),
            ("security.protocol", "sasl_ssl"),
            ("Bootstrap.Servers", "B2:9092, b1:9092"),
            ("consumer.commit.groupid", "g"),
            ("committer.keepalive.interval.ms", "5000"),
            ("request.timeout.ms", "20000"),
        ]);
        assert_eq!(
            base.client.cluster_key(),
            spark_executor.client.cluster_key()
        );
        assert!(!base.client.cluster_key().contains(SECRET));
        assert!(
            base.client.cluster_key().contains("fnv1a64:"),
            "{}",
            base.client.cluster_key()
        );
    }

    #[test]
    fn cluster_key_tells_clusters_and_credentials_apart() {
        let key = |pairs: &[(&str, &str)]| translated(pairs).client.cluster_key();
        let jaas_a = plain_jaas("password-a");
        let jaas_b = plain_jaas("password-b");
        let reference = key(&sasl_ssl("PLAIN", &jaas_a));
        assert_ne!(
            reference,
            key(&sasl_ssl("PLAIN", &jaas_b)),
            "another password"
        );
        assert_ne!(
            reference,
            key(&sasl_ssl("SCRAM-SHA-256", &jaas_a)),
            "another mechanism"
        );
        assert_ne!(
            key(&[("bootstrap.servers", "a:1")]),
            key(&[("bootstrap.servers", "b:1")])
        );
        assert_ne!(
            key(&[("bootstrap.servers", "a:1")]),
            key(&[("bootstrap.servers", "a:1"), ("security.protocol", "SSL")])
        );
        assert_ne!(
            key(&[("bootstrap.servers", "a:1")]),
            key(&[("bootstrap.servers", "a:1"), ("client.id", "other")])
        );
        assert_eq!(
            key(&[("bootstrap.servers", "a:1")]),
            key(&[
                ("bootstrap.servers", "a:1"),
                ("security.protocol", "PLAINTEXT")
            ])
        );
    }

    #[test]
    fn fingerprints_are_stable_fnv1a() {
        // Reference values of FNV-1a 64.
        assert_eq!(Secret::new("").fingerprint(), "fnv1a64:cbf29ce484222325");
        assert_eq!(Secret::new("a").fingerprint(), "fnv1a64:af63dc4c8601ec8c");
        assert_eq!(
            Secret::new("foobar").fingerprint(),
            "fnv1a64:85944171f73967e8"
        );
    }

    #[test]
    fn config_error_display_names_the_key() {
        let e = ConfigError {
            key: "k".into(),
            reason: "why".into(),
        };
        assert_eq!(e.to_string(), "invalid Kafka setting `k`: why");
    }
}
