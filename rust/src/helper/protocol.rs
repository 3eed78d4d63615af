//! What the supervising parent and the helper process say to each other over the helper's stdin
//! and stdout: length-prefixed JSON frames, so a frame cut short by a dying helper is detected as
//! such, never misread.

use std::fmt;
use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::commit::{CommitRequest, CommitResponse};

/// A frame larger than this is garbage, not a message (a commit of 100,000 partitions is ~5 MB).
const MAX_FRAME_BYTES: u32 = 64 << 20;
/// What a commit frame holds besides its partitions: the request's fields and its metadata
/// (at most 4096 bytes, each escaped to at most 6).
const COMMIT_FRAME_OVERHEAD: usize = 32 * 1024;
/// What one partition adds to a commit frame besides its topic name: brackets, commas, quotes
/// and two numbers.
const PARTITION_FRAME_BYTES: usize = 40;

/// Whether a commit of partitions of these topics (one name per partition) fits into one frame,
/// so a submission the helper could never receive is refused when it is made.
pub fn commit_fits<'a>(topics: impl Iterator<Item = &'a str>) -> bool {
    let mut bytes = COMMIT_FRAME_OVERHEAD;
    for topic in topics {
        bytes += PARTITION_FRAME_BYTES + topic.chars().map(escaped_length).sum::<usize>();
    }
    bytes <= MAX_FRAME_BYTES as usize
}

/// The length of a character inside a JSON string.
fn escaped_length(c: char) -> usize {
    match c {
        '"' | '\\' => 2,
        c if c.is_control() => 6,
        c => c.len_utf8(),
    }
}

/// Parent to helper.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToHelper {
    /// The first frame: the librdkafka client to create.
    Open(OpenClient),
    Commit(CommitRequest),
    /// Test-only: crash in the given way right after handing the next commit to librdkafka.
    Fault(Fault),
    /// The cluster's current OAUTHBEARER token, pushed by the application; every new helper gets
    /// the latest one right after its Open frame.
    OAuthToken(OAuthToken),
    /// The application's login handler could not make a token (the reason is scrubbed of secrets):
    /// librdkafka fails the login with it until the next token comes. Every new helper gets it
    /// after the token, as long as no newer token came.
    OAuthTokenFailure(String),
    /// Destroy the client and exit.
    Close,
}

/// What the application's OAUTHBEARER login handler gave last: a token, or why it made none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OAuthLogin {
    Token(OAuthToken),
    Failed(String),
}

/// An OAUTHBEARER token from the application's login handler, for `rd_kafka_oauthbearer_set_token`.
/// `Debug` shows neither the token nor the extension values (an extension may carry a credential).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthToken {
    pub value: String,
    /// When the token expires, in milliseconds since the Unix epoch.
    pub expires_at_epoch_ms: i64,
    pub principal: String,
    /// SASL extensions (RFC 7628) sent with the token, e.g. Confluent Cloud's `logicalCluster`.
    pub extensions: Vec<(String, String)>,
}

impl OAuthToken {
    /// `text` with neither the token nor an extension value in it (librdkafka's reasons may quote
    /// what it refuses, a login handler's what it last made).
    pub fn redact_from(&self, text: String) -> String {
        let shown = self.extensions.iter().map(|(_, value)| value).chain([&self.value]);
        shown.filter(|value| !value.is_empty()).fold(text, |text, value| text.replace(value.as_str(), "[redacted]"))
    }
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extension_keys: Vec<&str> = self.extensions.iter().map(|(key, _)| key.as_str()).collect();
        f.debug_struct("OAuthToken")
            .field("value", &"[redacted]")
            .field("expires_at_epoch_ms", &self.expires_at_epoch_ms)
            .field("principal", &self.principal)
            .field("extension_keys", &extension_keys)
            .finish()
    }
}

/// The helper's one librdkafka client. Values may hold passwords: `Debug` shows keys only.
#[derive(Serialize, Deserialize)]
pub struct OpenClient {
    pub cluster_label: String,
    pub settings: Vec<(String, String)>,
}

impl fmt::Debug for OpenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.settings.iter().map(|(key, _)| key.as_str()).collect();
        f.debug_struct("OpenClient").field("cluster_label", &self.cluster_label).field("keys", &keys).finish()
    }
}

/// Ways to make the helper die, for the tests that prove the JVM outlives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// `abort()`, as librdkafka's failed assertions do.
    Abort,
    /// A segmentation fault.
    Segfault,
    /// `abort()` whenever a commit for this group reaches the helper: a request that crashes
    /// librdkafka every time (the engine hands this fault to every helper it starts).
    AbortOnGroup(String),
}

/// Helper to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromHelper {
    /// The client exists; commits may follow.
    Ready,
    /// librdkafka refused the settings; the helper exits after this.
    OpenFailed(String),
    Response(CommitResponse),
    /// A log line, `LEVEL message` as the crate's log buffer renders it.
    Log(String),
}

/// A frame is its body's length (big-endian, this many bytes), then the body.
pub const LENGTH_BYTES: usize = 4;

/// The length of the frame at the start of `bytes`, its length prefix included, once the prefix is
/// there (`None` before). An impossible length is refused at once, before its body is waited for.
pub fn frame_bytes(bytes: &[u8]) -> io::Result<Option<usize>> {
    match bytes.first_chunk::<LENGTH_BYTES>() {
        Some(prefix) => Ok(Some(LENGTH_BYTES + body_length(*prefix)?)),
        None => Ok(None),
    }
}

fn body_length(prefix: [u8; LENGTH_BYTES]) -> io::Result<usize> {
    let length = u32::from_be_bytes(prefix);
    if length > MAX_FRAME_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a frame claims {length} bytes")));
    }
    Ok(length as usize)
}

pub fn write_frame<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    let length = u32::try_from(body.len()).ok().filter(|n| *n <= MAX_FRAME_BYTES).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("a {} byte frame is too large", body.len()))
    })?;
    out.write_all(&length.to_be_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

/// Reads one frame; `Ok(None)` when the stream ends cleanly between frames.
pub fn read_frame<T: DeserializeOwned>(input: &mut impl Read) -> io::Result<Option<T>> {
    let mut length = [0u8; LENGTH_BYTES];
    let mut filled = 0;
    while filled < length.len() {
        match input.read(&mut length[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let length = body_length(length)?;
    let mut body = vec![0u8; length];
    input.read_exact(&mut body)?;
    // Never the parser's own message: it can quote a piece of the frame, and frames carry passwords.
    serde_json::from_slice(&body).map(Some).map_err(|e| {
        let place = format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column());
        io::Error::new(io::ErrorKind::InvalidData, format!("a {length} byte frame is not a valid message ({place})"))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn frames_round_trip_and_a_cut_frame_is_an_error() {
        let mut buffer = Vec::new();
        let request = CommitRequest {
            request_id: 7,
            group: "g".into(),
            offsets: vec![("t".into(), 0, 42)],
            metadata: "m".into(),
            timeout_ms: 1000,
        };
        write_frame(&mut buffer, &ToHelper::Commit(request.clone())).unwrap();
        write_frame(&mut buffer, &ToHelper::Close).unwrap();
        let mut input = buffer.as_slice();
        assert!(matches!(read_frame(&mut input).unwrap(), Some(ToHelper::Commit(r)) if r == request));
        assert!(matches!(read_frame(&mut input).unwrap(), Some(ToHelper::Close)));
        assert!(read_frame::<ToHelper>(&mut input).unwrap().is_none());

        let cut = &buffer[..buffer.len() - 3];
        let mut input = cut;
        read_frame::<ToHelper>(&mut input).unwrap();
        assert!(read_frame::<ToHelper>(&mut input).is_err());

        let secret = br#"{"Open":{"cluster_label":"b","settings":[["sasl.password",7]]}}"#;
        let mut framed = (secret.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(secret);
        let error = read_frame::<ToHelper>(&mut framed.as_slice()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(!error.to_string().contains("sasl.password"), "{error}");

        let mut oversized = &(MAX_FRAME_BYTES + 1).to_be_bytes()[..];
        assert_eq!(read_frame::<ToHelper>(&mut oversized).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_commit_that_fits_by_the_estimate_fits_the_frame_limit() {
        let topic = "t\"\u{1}é".repeat(20);
        let fitting = ((MAX_FRAME_BYTES as usize - COMMIT_FRAME_OVERHEAD) / (PARTITION_FRAME_BYTES + 20 * 11)) as i32;
        assert!(commit_fits(std::iter::repeat_n(topic.as_str(), fitting as usize)));
        assert!(!commit_fits(std::iter::repeat_n(topic.as_str(), fitting as usize + 1)));
        let request = CommitRequest {
            request_id: u64::MAX,
            group: "g".into(),
            offsets: (0..fitting).map(|p| (Arc::from(topic.as_str()), i32::MAX - p, i64::MAX)).collect(),
            metadata: "\u{1}".repeat(4096),
            timeout_ms: u64::MAX,
        };
        write_frame(&mut io::sink(), &ToHelper::Commit(request)).expect("the estimate is never short");
    }

    #[test]
    fn settings_values_never_show_in_debug() {
        let open =
            OpenClient { cluster_label: "b:9092".into(), settings: vec![("sasl.password".into(), "hunter2".into())] };
        let shown = format!("{:?}", ToHelper::Open(open));
        assert!(shown.contains("sasl.password") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn token_values_never_show_in_debug_and_tokens_round_trip() {
        let token = OAuthToken {
            value: "eyJ.secret-token.sig".into(),
            expires_at_epoch_ms: 1_800_000_000_000,
            principal: "committer".into(),
            extensions: vec![("logicalCluster".into(), "lkc-secret-extension".into())],
        };
        let shown = format!("{:?}", ToHelper::OAuthToken(token.clone()));
        assert!(shown.contains("committer") && shown.contains("logicalCluster"), "{shown}");
        assert!(!shown.contains("secret-token") && !shown.contains("lkc-secret-extension"), "{shown}");
        let mut buffer = Vec::new();
        write_frame(&mut buffer, &ToHelper::OAuthToken(token.clone())).unwrap();
        assert!(matches!(read_frame(&mut buffer.as_slice()).unwrap(), Some(ToHelper::OAuthToken(t)) if t == token));
    }

    #[test]
    fn a_frames_length_is_known_once_its_prefix_is_there() {
        let mut framed = Vec::new();
        write_frame(&mut framed, &ToHelper::Close).unwrap();
        assert_eq!(frame_bytes(&framed[..LENGTH_BYTES - 1]).unwrap(), None);
        assert_eq!(frame_bytes(&framed[..LENGTH_BYTES]).unwrap(), Some(framed.len()));
        let oversized = (MAX_FRAME_BYTES + 1).to_be_bytes();
        assert_eq!(frame_bytes(&oversized).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn login_failures_round_trip() {
        let mut buffer = Vec::new();
        write_frame(&mut buffer, &ToHelper::OAuthTokenFailure("401 invalid_client".into())).unwrap();
        let read = read_frame(&mut buffer.as_slice()).unwrap();
        assert!(matches!(read, Some(ToHelper::OAuthTokenFailure(reason)) if reason == "401 invalid_client"));
    }
}
