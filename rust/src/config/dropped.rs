//! Settings no translation step took: each is left out with a reason (logged once by the
//! engine), or refused when it is a security setting the native client cannot honour.

use super::oauth;
use super::protocol::SecurityProtocol;

// Reasons for leaving a setting out; each ends up in one log line.
const NOT_USED: &str = "not used by the commit client";
pub(super) const COMMIT_GROUP: &str = "the commit group is given with each commit";
const OWN_OPTION: &str = "an option of the offset committer, not a Kafka setting";
const GROUP_MEMBERSHIP: &str = "group membership setting; commits are made without joining the group";
const READS_NO_RECORDS: &str = "consumer fetch setting; the commit client reads no records";
const JAVA_CLASSES: &str = "names Java classes, which the native client cannot load";
const JAVA_METRICS: &str = "Java client metrics setting";
/// Names `committer.retry.max.attempts` (checked by a test against the engine's key).
const RETRIES: &str = "commit retries are set by committer.retry.max.attempts";
const JAVA_SECURITY_PROVIDER: &str = "Java security provider setting; OpenSSL is used";
const TLS_VERSIONS: &str = "TLS versions are negotiated by OpenSSL";
const CIPHER_SUITES: &str = "Java (IANA) cipher suite names differ from OpenSSL's; OpenSSL's default suites are used";
const TLS_NOT_USED: &str = "TLS setting; security.protocol does not use TLS";
const SASL_NOT_USED: &str = "SASL setting; security.protocol does not use SASL";
const KERBEROS_NOT_USED: &str = "Kerberos setting; sasl.mechanism is not GSSAPI";
pub(super) const JAVA_LOGIN_TUNING: &str = "Java login setting; librdkafka refreshes credentials itself";
const TOKEN_VALIDATION: &str = "Java token validation setting";

/// Why a setting that no translation step consumed is left out, or (`Err`) why it cannot be.
pub(super) fn leftover_reason(key: &str, protocol: SecurityProtocol) -> Result<&'static str, &'static str> {
    if key.starts_with("ssl.") {
        return if protocol.uses_tls() { tls_leftover_reason(key) } else { Ok(TLS_NOT_USED) };
    }
    if key.starts_with("sasl.") {
        return if protocol.uses_sasl() { sasl_leftover_reason(key) } else { Ok(SASL_NOT_USED) };
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
        oauth::TOKEN_URL => Ok(oauth::OIDC_ONLY),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::engine_keys::RETRY_MAX_ATTEMPTS;
    use crate::config::test_support::{
        assert_no_secret, assert_refusals, plain_jaas, sasl_ssl, settings, ssl, translated, value, with_bootstrap,
        Reason::Is, SECRET,
    };
    use crate::config::translate;

    #[test]
    fn settings_without_a_librdkafka_meaning_are_dropped_with_reasons() {
        let jaas = plain_jaas(SECRET);
        let plaintext = with_bootstrap(&[]);
        let tls = ssl(&[]);
        let sasl = sasl_ssl("PLAIN", &jaas);
        // (setting, value, the settings it is added to, why it is dropped)
        #[rustfmt::skip]
        let cases = [
            ("group.id", "spark-kafka-source-123-executor", &plaintext, COMMIT_GROUP),
            ("consumer.commit.groupid", "my-group", &plaintext, OWN_OPTION),
            ("group.instance.id", "static-1", &plaintext, GROUP_MEMBERSHIP),
            ("partition.assignment.strategy", "org.apache.kafka.clients.consumer.RangeAssignor", &plaintext, GROUP_MEMBERSHIP),
            ("session.timeout.ms", "45000", &plaintext, GROUP_MEMBERSHIP),
            ("heartbeat.interval.ms", "3000", &plaintext, GROUP_MEMBERSHIP),
            ("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer", &plaintext, READS_NO_RECORDS),
            ("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer", &plaintext, READS_NO_RECORDS),
            ("auto.offset.reset", "none", &plaintext, READS_NO_RECORDS),
            ("enable.auto.commit", "false", &plaintext, READS_NO_RECORDS),
            ("max.poll.records", "1", &plaintext, READS_NO_RECORDS),
            ("fetch.max.wait.ms", "500", &plaintext, READS_NO_RECORDS),
            ("isolation.level", "read_committed", &plaintext, READS_NO_RECORDS),
            ("interceptor.classes", "com.example.Interceptor", &plaintext, JAVA_CLASSES),
            ("metric.reporters", "com.example.Reporter", &plaintext, JAVA_CLASSES),
            ("metrics.num.samples", "2", &plaintext, JAVA_METRICS),
            ("retries", "5", &plaintext, RETRIES),
            ("security.providers", "com.example.Provider", &plaintext, JAVA_SECURITY_PROVIDER),
            ("some.future.setting", "1", &plaintext, NOT_USED),
            // TLS settings without TLS.
            ("ssl.truststore.location", "/etc/kafka/truststore.jks", &plaintext, TLS_NOT_USED),
            ("ssl.truststore.password", SECRET, &plaintext, TLS_NOT_USED),
            ("ssl.engine.factory.class", "com.example.Factory", &plaintext, TLS_NOT_USED),
            ("ssl.endpoint.identification.algorithm", "", &plaintext, TLS_NOT_USED),
            // Java-only TLS settings.
            ("ssl.cipher.suites", "TLS_AES_256_GCM_SHA384", &tls, CIPHER_SUITES),
            ("ssl.protocol", "TLSv1.3", &tls, TLS_VERSIONS),
            ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3", &tls, TLS_VERSIONS),
            ("ssl.provider", "SunJSSE", &tls, JAVA_SECURITY_PROVIDER),
            ("ssl.keymanager.algorithm", "SunX509", &tls, JAVA_SECURITY_PROVIDER),
            ("ssl.trustmanager.algorithm", "PKIX", &tls, JAVA_SECURITY_PROVIDER),
            ("ssl.secure.random.implementation", "SHA1PRNG", &tls, JAVA_SECURITY_PROVIDER),
            // SASL settings without SASL.
            ("sasl.mechanism", "GSSAPI", &tls, SASL_NOT_USED),
            ("sasl.jaas.config", jaas.as_str(), &tls, SASL_NOT_USED),
            // Java-only SASL settings.
            ("sasl.login.refresh.window.factor", "0.8", &sasl, JAVA_LOGIN_TUNING),
            ("sasl.kerberos.service.name", "kafka", &sasl, KERBEROS_NOT_USED),
            ("sasl.client.callback.handler.class", "com.example.Handler", &sasl, JAVA_CLASSES),
            ("sasl.oauthbearer.expected.audience", "x", &sasl, TOKEN_VALIDATION),
        ];
        for (key, given, context, reason) in cases {
            let mut pairs = context.clone();
            pairs.push((key, given));
            let result = translate(&settings(&pairs));
            let t = result.as_ref().unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(t.dropped, [(key.to_string(), reason)], "{key}");
            assert_eq!(t.client, translated(context).client, "{key} changed the client");
            assert_no_secret(key, &result);
        }
    }

    #[test]
    fn settings_spark_adds_are_dropped_in_key_order() {
        let t = translated(&with_bootstrap(&[
            ("group.id", "spark-kafka-source-123-executor"),
            ("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer"),
            ("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer"),
            ("auto.offset.reset", "none"),
            ("enable.auto.commit", "false"),
            ("max.poll.records", "1"),
            ("receive.buffer.bytes", "65536"),
            ("consumer.commit.groupid", "my-group"),
            ("some.future.setting", "1"),
        ]));
        let dropped: Vec<(&str, &str)> = t.dropped.iter().map(|(key, reason)| (key.as_str(), *reason)).collect();
        assert_eq!(
            dropped,
            [
                ("auto.offset.reset", READS_NO_RECORDS),
                ("consumer.commit.groupid", OWN_OPTION),
                ("enable.auto.commit", READS_NO_RECORDS),
                ("group.id", COMMIT_GROUP),
                ("key.deserializer", READS_NO_RECORDS),
                ("max.poll.records", READS_NO_RECORDS),
                ("some.future.setting", NOT_USED),
                ("value.deserializer", READS_NO_RECORDS),
            ],
            "dropped settings are listed in key order"
        );
        assert_eq!(value(&t, "socket.receive.buffer.bytes"), Some("65536"));
        assert_eq!(value(&t, "group.id"), None);
        for key in ["enable.auto.commit", "enable.auto.offset.store"] {
            assert_eq!(value(&t, key), None, "consumer-only key on an admin client: {key}");
        }
    }

    #[test]
    fn security_settings_the_native_client_lacks_are_refused() {
        let jaas = plain_jaas(SECRET);
        let mut new_sasl_feature = sasl_ssl("PLAIN", &jaas);
        new_sasl_feature.push(("sasl.new.feature", "x"));
        #[rustfmt::skip]
        let rows = [
            ("a Java SSL engine factory", ssl(&[("ssl.engine.factory.class", "com.example.F")]), "ssl.engine.factory.class", Is("a Java SSL engine factory cannot run in librdkafka")),
            ("an unknown TLS setting", ssl(&[("ssl.something.new", "x")]), "ssl.something.new", Is("TLS setting not supported by the native Kafka client")),
            ("an unknown SASL setting", new_sasl_feature, "sasl.new.feature", Is("SASL setting not supported by the native Kafka client")),
        ];
        assert_refusals(&rows);
    }

    #[test]
    fn the_retries_reason_names_the_engine_setting() {
        assert!(RETRIES.ends_with(RETRY_MAX_ATTEMPTS), "{RETRIES}");
    }
}
