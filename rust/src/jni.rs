//! The JVM boundary: every export of `io.kafkaoffsetcommitter.NativeBridge`.
//!
//! Each export is a thin shell around [`boundary`], which runs the body with panics caught, turns
//! a [`CommitterError`] into the matching Java exception, turns a panic into an
//! `OffsetCommitterException`, and never replaces an exception already pending. No `Env` is
//! stored and nothing here runs on a librdkafka thread.

use std::time::Duration;

use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JClass, JIntArray, JLongArray, JObject, JObjectArray, JString, JValue};
use jni::strings::JNIString;
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_sig, jni_str, Env, EnvUnowned};

use crate::commit::CommitRequest;
use crate::config::ConfigError;
use crate::engine::jvm_executor::{JvmAnswer, JvmChannel, JvmPartitionAnswer, Pulled};
use crate::engine::{self, CommitOutcome, Committer, GroupStatus, OAuthToken, Status};
use crate::error::CommitterError;
use crate::helper::{self, protocol::Fault};
use crate::logging;
use crate::offsets::PartitionOffset;
use std::sync::Arc;

const PACKAGE: &str = "io/kafkaoffsetcommitter/";

/// Why a native call did not produce a value.
#[derive(Debug)]
enum BridgeError {
    Committer(CommitterError),
    /// A JNI call failed; a Java exception may already be pending.
    Jni(jni::errors::Error),
}

impl From<jni::errors::Error> for BridgeError {
    fn from(e: jni::errors::Error) -> Self {
        BridgeError::Jni(e)
    }
}

impl From<CommitterError> for BridgeError {
    fn from(e: CommitterError) -> Self {
        BridgeError::Committer(e)
    }
}

/// The Java exception class (simple name in our package) and message for an error: the one place
/// where Rust errors meet Java classes.
fn exception_for(error: &CommitterError) -> (&'static str, String) {
    let class = match error {
        CommitterError::InvalidConfig(_) => "InvalidConfigException",
        CommitterError::InvalidOffsets(_) => "InvalidOffsetsException",
        CommitterError::InvalidArgument(_) => "InvalidArgumentException",
        CommitterError::Closed => "CommitterClosedException",
        CommitterError::Timeout(_) => "CommitTimeoutException",
        CommitterError::Client(_) => "OffsetCommitterException",
    };
    (class, error.to_string())
}

fn throw(env: &mut Env<'_>, class: &str, message: &str) -> jni::errors::Result<()> {
    if env.exception_check() {
        return Ok(()); // the first failure is the one the caller should see
    }
    match env.throw_new(JNIString::from(format!("{PACKAGE}{class}")), JNIString::from(message)) {
        // `throw_new` reports the exception it raised as an error: that is success here.
        Err(jni::errors::Error::JavaException) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Maps errors and panics to this project's Java exception hierarchy.
struct ThrowCommitterException;

impl<T: Default> ErrorPolicy<T, BridgeError> for ThrowCommitterException {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        error: BridgeError,
    ) -> jni::errors::Result<T> {
        match error {
            BridgeError::Committer(error) => {
                let (class, message) = exception_for(&error);
                throw(env, class, &message)?;
            }
            BridgeError::Jni(error) => throw(env, "OffsetCommitterException", &format!("JNI call failed: {error}"))?,
        }
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _captures: &mut Self::Captures<'unowned_env_local, 'native_method>,
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let message = format!("internal error in the native committer: {}", crate::panic_message(payload.as_ref()));
        logging::log(logging::Level::Error, &message);
        throw(env, "OffsetCommitterException", &message)?;
        Ok(T::default())
    }
}

/// The one error boundary every export goes through.
fn boundary<'local, T, F>(env: &mut EnvUnowned<'local>, body: F) -> T
where
    T: Default,
    F: FnOnce(&mut Env<'local>) -> Result<T, BridgeError>,
{
    env.with_env(body).resolve::<ThrowCommitterException>()
}

/// # Safety
/// `handle` must be 0 or a value returned by `open` and not yet passed to `close`; the Java side
/// guarantees this by clearing its handle under a write lock before calling `close`.
unsafe fn committer<'a>(handle: jlong) -> Result<&'a Committer, BridgeError> {
    if handle == 0 {
        return Err(CommitterError::Closed.into());
    }
    Ok(unsafe { &*(handle as *const Committer) })
}

fn read_string(env: &Env<'_>, value: &JString<'_>, what: &str) -> Result<String, BridgeError> {
    if value.is_null() {
        return Err(CommitterError::InvalidArgument(format!("{what} is null")).into());
    }
    Ok(value.try_to_string(env)?)
}

/// One Kafka setting; a null key or value is a configuration error naming the setting.
fn read_setting(env: &Env<'_>, key: &JString<'_>, value: &JString<'_>) -> Result<(String, String), BridgeError> {
    let null = |key: &str, reason: &str| -> BridgeError {
        CommitterError::InvalidConfig(ConfigError { key: key.to_string(), reason: reason.to_string() }).into()
    };
    if key.is_null() {
        return Err(null("(null)", "a setting key is null"));
    }
    let key = key.try_to_string(env)?;
    if value.is_null() {
        return Err(null(&key, "the value is null"));
    }
    Ok((key, value.try_to_string(env)?))
}

/// The Java strings of a commit call, as Rust strings.
struct CommitArguments {
    group: String,
    offsets_json: String,
    metadata: String,
}

impl CommitArguments {
    fn read(
        env: &Env<'_>,
        group: &JString<'_>,
        offsets_json: &JString<'_>,
        metadata: &JString<'_>,
    ) -> Result<Self, BridgeError> {
        Ok(CommitArguments {
            group: read_string(env, group, "the group id")?,
            offsets_json: read_string(env, offsets_json, "the offsets")?,
            metadata: read_string(env, metadata, "the metadata")?,
        })
    }
}

/// Offsets handed over as three parallel arrays (the typed path: no text format in between).
fn read_offsets(
    env: &mut Env<'_>,
    topics: &JObjectArray<'_, JString<'_>>,
    partitions: &JIntArray<'_>,
    offsets: &JLongArray<'_>,
) -> Result<Vec<PartitionOffset>, BridgeError> {
    if topics.is_null() || partitions.is_null() || offsets.is_null() {
        return Err(CommitterError::InvalidArgument("an offsets array is null".into()).into());
    }
    let count = topics.len(env)?;
    if partitions.len(env)? != count || offsets.len(env)? != count {
        return Err(CommitterError::InvalidArgument("the offsets arrays differ in length".into()).into());
    }
    let mut partition_numbers = vec![0; count];
    partitions.get_region(env, 0, &mut partition_numbers)?;
    let mut offset_values = vec![0; count];
    offsets.get_region(env, 0, &mut offset_values)?;
    let mut result = Vec::with_capacity(count);
    for (index, (partition, offset)) in partition_numbers.into_iter().zip(offset_values).enumerate() {
        // One local frame per element, so thousands of partitions never pile up local references.
        let topic = env.with_local_frame(1, |env| -> Result<_, BridgeError> {
            let topic = topics.get_element(env, index)?;
            read_string(env, &topic, "a topic")
        })?;
        result.push(PartitionOffset { topic, partition, offset });
    }
    Ok(result)
}

fn millis(value: jlong) -> Duration {
    Duration::from_millis(value.max(0) as u64)
}

// Results go back to Java as objects of the classes the Java side declares, built here: no text
// format in between. Classes are found with `FindClass`, which inside a native method searches the
// loader of `NativeBridge` (not the thread's context loader), so they are the classes Java expects.

/// A Java array of `class` with one element per item, each built in its own local frame (of
/// `locals` references), so long lists never pile up local references.
fn object_array<'local, T>(
    env: &mut Env<'local>,
    class: &JClass<'_>,
    items: impl ExactSizeIterator<Item = T>,
    locals: usize,
    build: impl for<'frame> Fn(&mut Env<'frame>, T) -> Result<JObject<'frame>, BridgeError>,
) -> Result<JObjectArray<'local>, BridgeError> {
    let array = env.new_object_array(items.len() as i32, class, JObject::null())?;
    for (index, item) in items.enumerate() {
        env.with_local_frame(locals, |env| -> Result<_, BridgeError> {
            let element = build(env, item)?;
            Ok(array.set_element(env, index, &element)?)
        })?;
    }
    Ok(array)
}

fn string_array<'local, 'item>(
    env: &mut Env<'local>,
    items: impl ExactSizeIterator<Item = &'item str>,
) -> Result<JObjectArray<'local>, BridgeError> {
    let class = env.find_class(jni_str!("java/lang/String"))?;
    object_array(env, &class, items, 1, |env, item| Ok(env.new_string(item)?.into()))
}

fn string_or_null<'local>(env: &mut Env<'local>, value: Option<&str>) -> Result<JObject<'local>, BridgeError> {
    Ok(match value {
        Some(value) => env.new_string(value)?.into(),
        None => JObject::null(),
    })
}

/// `commit_sync`'s outcome as a `CommitResult`.
fn commit_result<'local>(env: &mut Env<'local>, outcome: &CommitOutcome) -> Result<JObject<'local>, BridgeError> {
    let partition_class = env.find_class(jni_str!("io/kafkaoffsetcommitter/CommitResult$PartitionResult"))?;
    let partitions = object_array(env, &partition_class, outcome.partitions.iter(), 4, |env, result| {
        let topic = env.new_string(&result.topic)?;
        let (kind, message) = result.error.as_ref().map(|(kind, message)| (kind.as_str(), message.as_str())).unzip();
        let kind = string_or_null(env, kind)?;
        let message = string_or_null(env, message)?;
        Ok(env.new_object(
            &partition_class,
            jni_sig!("(Ljava/lang/String;IJLjava/lang/String;Ljava/lang/String;)V"),
            &[
                JValue::from(&topic),
                JValue::Int(result.partition),
                JValue::Long(result.offset),
                JValue::from(&kind),
                JValue::from(&message),
            ],
        )?)
    })?;
    let class = env.find_class(jni_str!("io/kafkaoffsetcommitter/CommitResult"))?;
    Ok(env.new_object(
        &class,
        jni_sig!("([Lio/kafkaoffsetcommitter/CommitResult$PartitionResult;)V"),
        &[JValue::from(&partitions)],
    )?)
}

/// A committer's status as a `ClusterStatus`; a helper that is not running has pid -1.
fn cluster_status<'local>(env: &mut Env<'local>, status: &Status) -> Result<JObject<'local>, BridgeError> {
    let group_class = env.find_class(jni_str!("io/kafkaoffsetcommitter/GroupStatus"))?;
    // A group's frame holds its strings, its three offset arrays and the group object itself.
    let groups =
        object_array(env, &group_class, status.groups.iter(), 16, |env, group| group_status(env, &group_class, group))?;
    let helper = &status.helper;
    let last_exit = string_or_null(env, helper.last_exit.as_ref().map(|exit| exit.description.as_str()))?;
    let class = env.find_class(jni_str!("io/kafkaoffsetcommitter/ClusterStatus"))?;
    Ok(env.new_object(
        &class,
        jni_sig!("(JJLjava/lang/String;[Lio/kafkaoffsetcommitter/GroupStatus;)V"),
        &[
            JValue::Long(helper.pid.map_or(-1, i64::from)),
            JValue::Long(helper.restarts as i64),
            JValue::from(&last_exit),
            JValue::from(&groups),
        ],
    )?)
}

/// One group as a `GroupStatus`. Its last commit and last error are optional: a null metadata or
/// error kind says there is none (the Java constructor turns the other fields into nulls), a
/// latency of -1 that none was measured; the committed offsets travel as three parallel arrays.
fn group_status<'local>(
    env: &mut Env<'local>,
    class: &JClass<'_>,
    group: &GroupStatus,
) -> Result<JObject<'local>, BridgeError> {
    let last_commit = group.last_commit.as_ref();
    let committed: Vec<(&str, i32, i64)> = last_commit
        .iter()
        .flat_map(|commit| &commit.offsets)
        .flat_map(|(topic, partitions)| {
            partitions.iter().map(move |(&partition, &offset)| (topic.as_str(), partition, offset))
        })
        .collect();
    let topics = string_array(env, committed.iter().map(|&(topic, _, _)| topic))?;
    let partitions = env.new_int_array(committed.len())?;
    partitions.set_region(env, 0, &committed.iter().map(|&(_, partition, _)| partition).collect::<Vec<_>>())?;
    let offsets = env.new_long_array(committed.len())?;
    offsets.set_region(env, 0, &committed.iter().map(|&(_, _, offset)| offset).collect::<Vec<_>>())?;

    let name = env.new_string(&group.group)?;
    let metadata = string_or_null(env, last_commit.map(|commit| commit.metadata.as_str()))?;
    let last_error = group.last_error.as_ref();
    let error_kind = string_or_null(env, last_error.map(|error| error.kind.as_str()))?;
    let error_message = string_or_null(env, last_error.map(|error| error.message.as_str()))?;
    Ok(env.new_object(
        class,
        jni_sig!(
            "(Ljava/lang/String;JJZJZZLjava/lang/String;JJ[Ljava/lang/String;[I[JLjava/lang/String;Ljava/lang/String;Z)V"
        ),
        &[
            JValue::from(&name),
            JValue::Long(group.commits_succeeded as i64),
            JValue::Long(group.commits_failed as i64),
            JValue::Bool(group.last_attempt_failed),
            JValue::Long(group.pending_partitions as i64),
            JValue::Bool(group.in_flight),
            JValue::Bool(group.parked),
            JValue::from(&metadata),
            JValue::Long(last_commit.map_or(0, |commit| commit.at_epoch_ms as i64)),
            JValue::Long(last_commit.and_then(|commit| commit.latency_ms).map_or(-1, |latency| latency as i64)),
            JValue::from(&topics),
            JValue::from(&partitions),
            JValue::from(&offsets),
            JValue::from(&error_kind),
            JValue::from(&error_message),
            JValue::Bool(last_error.is_some_and(|error| error.retriable)),
        ],
    )?)
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_version<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JObject<'local> {
    boundary(&mut env, |env| Ok(env.new_string(crate::VERSION)?.into()))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_open<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    keys: JObjectArray<'local, JString<'local>>,
    values: JObjectArray<'local, JString<'local>>,
) -> jlong {
    boundary(&mut env, |env| {
        let count = keys.len(env)?;
        if values.len(env)? != count {
            return Err(CommitterError::InvalidArgument("keys and values differ in length".into()).into());
        }
        let mut settings = Vec::with_capacity(count);
        for index in 0..count {
            // One local frame per element, so a long settings list never piles up local references.
            let setting = env.with_local_frame(2, |env| -> Result<_, BridgeError> {
                let key = keys.get_element(env, index)?;
                let value = values.get_element(env, index)?;
                read_setting(env, &key, &value)
            })?;
            settings.push(setting);
        }
        let committer = Committer::open(&settings)?;
        Ok(Box::into_raw(Box::new(committer)) as jlong)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_commitAsync<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    group: JString<'local>,
    offsets_json: JString<'local>,
    metadata: JString<'local>,
) {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        let commit = CommitArguments::read(env, &group, &offsets_json, &metadata)?;
        Ok(committer.commit_async(&commit.group, commit.offsets_json.as_str(), &commit.metadata)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_commitSync<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    group: JString<'local>,
    offsets_json: JString<'local>,
    metadata: JString<'local>,
    timeout_ms: jlong,
) -> JObject<'local> {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        let commit = CommitArguments::read(env, &group, &offsets_json, &metadata)?;
        let outcome =
            committer.commit_sync(&commit.group, commit.offsets_json.as_str(), &commit.metadata, millis(timeout_ms))?;
        commit_result(env, &outcome)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_flush<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    timeout_ms: jlong,
) -> jboolean {
    boundary(&mut env, |_env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        Ok(committer.flush(millis(timeout_ms)))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_status<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JObject<'local> {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        cluster_status(env, &committer.status())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_statusJson<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JObject<'local> {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        Ok(env.new_string(committer.status_json())?.into())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_close<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    timeout_ms: jlong,
) -> jboolean {
    boundary(&mut env, |_env| {
        if handle == 0 {
            return Ok(true);
        }
        // SAFETY: `handle` came from `open` and the Java side passes it to `close` exactly once.
        let committer = unsafe { Box::from_raw(handle as *mut Committer) };
        Ok(committer.close(millis(timeout_ms)))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_shutdownAll<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    timeout_ms: jlong,
) {
    boundary(&mut env, |_env| {
        engine::shut_down_all(millis(timeout_ms));
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_drainLogs<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    wait_ms: jlong,
) -> JObject<'local> {
    boundary(&mut env, |env| {
        let lines = logging::drain(millis(wait_ms));
        Ok(string_array(env, lines.iter().map(String::as_str))?.into())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_useHelper<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    path: JString<'local>,
) {
    boundary(&mut env, |env| {
        helper::use_executable(read_string(env, &path, "the helper path")?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_installHelper<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    image: JByteArray<'local>,
    fallback_directory: JString<'local>,
) -> JObject<'local> {
    boundary(&mut env, |env| {
        if image.is_null() {
            return Err(CommitterError::InvalidArgument("the helper image is null".into()).into());
        }
        let bytes = env.convert_byte_array(&image)?;
        let directory = read_string(env, &fallback_directory, "the helper directory")?;
        let path = helper::install_image(&bytes, std::path::Path::new(&directory)).map_err(CommitterError::Client)?;
        Ok(env.new_string(path.display().to_string())?.into())
    })
}

/// Test-only: `abort` or `segfault` crash the cluster's helper right after its next commit reaches
/// librdkafka; `panic` panics inside this native call (the boundary must turn it into an exception).
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_injectFault<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    kind: JString<'local>,
) {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        match read_string(env, &kind, "the fault kind")?.as_str() {
            "abort" => committer.inject_helper_fault(Fault::Abort),
            "segfault" => committer.inject_helper_fault(Fault::Segfault),
            "panic" => panic!("injected panic (test-only)"),
            other => return Err(CommitterError::InvalidArgument(format!("unknown fault `{other}`")).into()),
        }
        Ok(())
    })
}

/// The arguments of a typed commit call, as Rust values.
struct TypedCommit {
    group: String,
    offsets: Vec<PartitionOffset>,
    metadata: String,
}

impl TypedCommit {
    fn read(
        env: &mut Env<'_>,
        group: &JString<'_>,
        (topics, partitions, offsets): (&JObjectArray<'_, JString<'_>>, &JIntArray<'_>, &JLongArray<'_>),
        metadata: &JString<'_>,
    ) -> Result<Self, BridgeError> {
        Ok(TypedCommit {
            group: read_string(env, group, "the group id")?,
            offsets: read_offsets(env, topics, partitions, offsets)?,
            metadata: read_string(env, metadata, "the metadata")?,
        })
    }
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_commitOffsetsAsync<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    group: JString<'local>,
    topics: JObjectArray<'local, JString<'local>>,
    partitions: JIntArray<'local>,
    offsets: JLongArray<'local>,
    metadata: JString<'local>,
) {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        let commit = TypedCommit::read(env, &group, (&topics, &partitions, &offsets), &metadata)?;
        Ok(committer.commit_async(&commit.group, commit.offsets, &commit.metadata)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_commitOffsetsSync<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    group: JString<'local>,
    topics: JObjectArray<'local, JString<'local>>,
    partitions: JIntArray<'local>,
    offsets: JLongArray<'local>,
    metadata: JString<'local>,
    timeout_ms: jlong,
) -> JObject<'local> {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        let commit = TypedCommit::read(env, &group, (&topics, &partitions, &offsets), &metadata)?;
        let outcome = committer.commit_sync(&commit.group, commit.offsets, &commit.metadata, millis(timeout_ms))?;
        commit_result(env, &outcome)
    })
}

/// The OAUTHBEARER token the JVM's login handler made, with its SASL extensions as two parallel
/// arrays; see `Committer::set_oauth_token`. No value read here appears in an error.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_setOAuthToken<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    token: JString<'local>,
    expires_at_epoch_ms: jlong,
    principal: JString<'local>,
    extension_keys: JObjectArray<'local, JString<'local>>,
    extension_values: JObjectArray<'local, JString<'local>>,
) {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        let value = read_string(env, &token, "the OAUTHBEARER token")?;
        let principal = read_string(env, &principal, "the token's principal")?;
        if extension_keys.is_null() || extension_values.is_null() {
            return Err(CommitterError::InvalidArgument("an extensions array is null".into()).into());
        }
        let count = extension_keys.len(env)?;
        if extension_values.len(env)? != count {
            return Err(CommitterError::InvalidArgument("the extensions arrays differ in length".into()).into());
        }
        let mut extensions = Vec::with_capacity(count);
        for index in 0..count {
            let extension = env.with_local_frame(2, |env| -> Result<_, BridgeError> {
                let key = extension_keys.get_element(env, index)?;
                let value = extension_values.get_element(env, index)?;
                Ok((read_string(env, &key, "an extension name")?, read_string(env, &value, "an extension value")?))
            })?;
            extensions.push(extension);
        }
        Ok(committer.set_oauth_token(OAuthToken { value, expires_at_epoch_ms, principal, extensions })?)
    })
}

/// The JVM's login handler could not make an OAUTHBEARER token; `reason` is already scrubbed of
/// secrets by the caller. See `Committer::set_oauth_token_failure`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_setOAuthTokenFailure<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    reason: JString<'local>,
) {
    boundary(&mut env, |env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        let reason = read_string(env, &reason, "the login failure's reason")?;
        Ok(committer.set_oauth_token_failure(&reason)?)
    })
}

// The JVM executor (see `engine::jvm_executor`): the cluster's one JVM thread takes the channel
// with `jvmExecutor`, pulls requests with `nextCommitRequest`, answers with `answerCommit`, and
// hands the channel back with `releaseJvmExecutor` when it ends. Its handle is a boxed `Arc` of
// the channel, independent of any committer's handle, so a committer closing under the thread
// frees nothing the thread uses.

/// # Safety
/// `handle` must be 0 or a value returned by `jvmExecutor` and not yet passed to
/// `releaseJvmExecutor`; the Java side guarantees this with a lock around the handle.
unsafe fn jvm_channel<'a>(handle: jlong) -> Result<&'a JvmChannel, BridgeError> {
    if handle == 0 {
        return Err(CommitterError::Closed.into());
    }
    Ok(unsafe { &**(handle as *const Arc<JvmChannel>) })
}

/// A handle on the committer's JVM executor for the caller to serve with one JVM thread, or 0
/// when its cluster runs on the helper process or a thread already serves it.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_jvmExecutor<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    boundary(&mut env, |_env| {
        // SAFETY: see `committer`.
        let committer = unsafe { committer(handle) }?;
        Ok(committer.jvm_executor().map_or(0, |channel| Box::into_raw(Box::new(channel)) as jlong))
    })
}

/// The next request as a `JvmCommitRequest`, waiting up to `wait_ms`; null when none came.
/// Throws `CommitterClosedException` when the cluster is closed: the thread ends.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_nextCommitRequest<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    wait_ms: jlong,
) -> JObject<'local> {
    boundary(&mut env, |env| {
        // SAFETY: see `jvm_channel`.
        let channel = unsafe { jvm_channel(handle) }?;
        match channel.pull(millis(wait_ms)) {
            Pulled::Request(request) => jvm_commit_request(env, &request),
            Pulled::Nothing => Ok(JObject::null()),
            Pulled::Closed => Err(CommitterError::Closed.into()),
        }
    })
}

fn jvm_commit_request<'local>(env: &mut Env<'local>, request: &CommitRequest) -> Result<JObject<'local>, BridgeError> {
    let topics = string_array(env, request.offsets.iter().map(|(topic, _, _)| &**topic))?;
    let partitions = env.new_int_array(request.offsets.len())?;
    partitions.set_region(env, 0, &request.offsets.iter().map(|&(_, partition, _)| partition).collect::<Vec<_>>())?;
    let offsets = env.new_long_array(request.offsets.len())?;
    offsets.set_region(env, 0, &request.offsets.iter().map(|&(_, _, offset)| offset).collect::<Vec<_>>())?;
    let group = env.new_string(&request.group)?;
    let metadata = env.new_string(&request.metadata)?;
    let class = env.find_class(jni_str!("io/kafkaoffsetcommitter/JvmCommitRequest"))?;
    Ok(env.new_object(
        &class,
        jni_sig!("(JLjava/lang/String;[Ljava/lang/String;[I[JLjava/lang/String;J)V"),
        &[
            JValue::Long(request.request_id as i64),
            JValue::from(&group),
            JValue::from(&topics),
            JValue::from(&partitions),
            JValue::from(&offsets),
            JValue::from(&metadata),
            JValue::Long(request.timeout_ms as i64),
        ],
    )?)
}

/// The answer to a pulled request: per partition Kafka's error code (0: committed) and message, and
/// a code other than 0 when the request failed as a whole. An answer to a request given up meanwhile
/// is dropped.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_answerCommit<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    request_id: jlong,
    topics: JObjectArray<'local, JString<'local>>,
    partitions: JIntArray<'local>,
    error_codes: JIntArray<'local>,
    error_messages: JObjectArray<'local, JString<'local>>,
    request_error_code: jint,
    request_error_message: JString<'local>,
) {
    boundary(&mut env, |env| {
        // SAFETY: see `jvm_channel`.
        let channel = unsafe { jvm_channel(handle) }?;
        if topics.is_null() || partitions.is_null() || error_codes.is_null() || error_messages.is_null() {
            return Err(CommitterError::InvalidArgument("an answer array is null".into()).into());
        }
        let count = topics.len(env)?;
        if partitions.len(env)? != count || error_codes.len(env)? != count || error_messages.len(env)? != count {
            return Err(CommitterError::InvalidArgument("the answer arrays differ in length".into()).into());
        }
        let mut partition_numbers = vec![0; count];
        partitions.get_region(env, 0, &mut partition_numbers)?;
        let mut codes = vec![0; count];
        error_codes.get_region(env, 0, &mut codes)?;
        let mut answered = Vec::with_capacity(count);
        for (index, (partition, error_code)) in partition_numbers.into_iter().zip(codes).enumerate() {
            let (topic, error_message) = env.with_local_frame(2, |env| -> Result<_, BridgeError> {
                let topic = topics.get_element(env, index)?;
                let message = error_messages.get_element(env, index)?;
                let message = if message.is_null() { String::new() } else { message.try_to_string(env)? };
                Ok((read_string(env, &topic, "a topic")?, message))
            })?;
            answered.push(JvmPartitionAnswer { topic, partition, error_code, error_message });
        }
        let request_error = if request_error_code == 0 {
            None
        } else {
            let message = read_string(env, &request_error_message, "the request's error message")?;
            Some((request_error_code, message))
        };
        channel.answer(JvmAnswer { request_id: request_id as u64, partitions: answered, request_error });
        Ok(())
    })
}

/// The JVM thread ended (or never started): frees its handle; the next committer on the cluster may
/// start another thread.
#[unsafe(no_mangle)]
pub extern "system" fn Java_io_kafkaoffsetcommitter_NativeBridge_releaseJvmExecutor<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    boundary(&mut env, |_env| {
        if handle != 0 {
            // SAFETY: `handle` came from `jvmExecutor` and the Java side releases it exactly once.
            let channel = unsafe { Box::from_raw(handle as *mut Arc<JvmChannel>) };
            channel.service_ended();
        }
        Ok(())
    })
}
