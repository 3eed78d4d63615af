//! Where to connect and as which client: bootstrap servers, client id and rack, DNS lookup.

use super::normalize::JavaSettings;
use super::{invalid, ConfigError, Output};

pub(super) const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
pub(super) const CLIENT_ID: &str = "client.id";
const CLIENT_RACK: &str = "client.rack";
pub(super) const DNS_LOOKUP: &str = "client.dns.lookup";
const DNS_LOOKUPS: [&str; 2] = ["use_all_dns_ips", "resolve_canonical_bootstrap_servers_only"];

pub(super) fn translate(input: &mut JavaSettings, out: &mut Output) -> Result<(), ConfigError> {
    let servers = input.take(BOOTSTRAP_SERVERS).unwrap_or_default();
    let servers = parse_bootstrap_servers(&servers).map_err(|reason| invalid(BOOTSTRAP_SERVERS, reason))?;
    out.client.set_plain(BOOTSTRAP_SERVERS, servers.join(","));

    for key in [CLIENT_ID, CLIENT_RACK] {
        if let Some(value) = input.take(key) {
            out.client.set_plain(key, value);
        }
    }

    if let Some(value) = input.take(DNS_LOOKUP) {
        let lookup = value.to_ascii_lowercase();
        if !DNS_LOOKUPS.contains(&lookup.as_str()) {
            return Err(invalid(DNS_LOOKUP, format!("`{value}` is not one of {}", DNS_LOOKUPS.join(", "))));
        }
        out.client.set_plain(DNS_LOOKUP, lookup);
    }
    Ok(())
}

/// Reads `bootstrap.servers` the way Java's clients do (`ClientUtils.parseAndValidateAddresses`):
/// comma-separated, blanks ignored, each entry `[anything]host:port` where a leading
/// `PROTOCOL://` is ignored. librdkafka would instead insist that such a prefix match
/// `security.protocol`, so the prefix is removed.
fn parse_bootstrap_servers(value: &str) -> Result<Vec<String>, String> {
    let mut servers = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (host, port) = java_host_and_port(entry).ok_or_else(|| format!("`{entry}` is not a host:port address"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| format!("`{entry}` has a port outside 1-65535"))?;
        // IPv6 literals need brackets so that the port stays separable.
        servers.push(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") });
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

#[cfg(test)]
mod tests {
    use crate::config::test_support::{
        assert_refusals, translated, value, with_bootstrap, Reason::Contains, Reason::Is,
    };

    #[test]
    fn bootstrap_servers_are_read_like_java() {
        // (given, sent to librdkafka, why)
        let cases = [
            ("b1:9092,b2:9093", "b1:9092,b2:9093", "a plain list"),
            (
                " b1:9092 , SASL_SSL://b2:9093,, [::1]:9094,[fe80::1%eth0]:1 ",
                "b1:9092,b2:9093,[::1]:9094,[fe80::1%eth0]:1",
                "blanks, protocol prefixes and IPv6 brackets",
            ),
            ("ÿƝb:9092", "b:9092", "Java skips what precedes the host"),
        ];
        for (given, sent, why) in cases {
            let t = translated(&[("bootstrap.servers", given)]);
            assert_eq!(value(&t, "bootstrap.servers"), Some(sent), "{why}");
        }
    }

    #[test]
    fn bad_bootstrap_servers_are_refused() {
        let servers = |list| vec![("bootstrap.servers", list)];
        let missing = Contains("at least one host:port");
        #[rustfmt::skip]
        let rows = [
            ("not set", vec![("client.id", "x")], "bootstrap.servers", missing),
            ("only commas", servers(" , ,"), "bootstrap.servers", missing),
            ("only blanks", servers("   "), "bootstrap.servers", missing),
            ("no port", servers("broker"), "bootstrap.servers", Contains("`broker` is not a host:port")),
            ("empty port", servers("broker:"), "bootstrap.servers", Contains("not a host:port")),
            ("no host", servers(":9092"), "bootstrap.servers", Contains("not a host:port")),
            ("port 0", servers("b:0"), "bootstrap.servers", Contains("outside 1-65535")),
            ("port 65536", servers("b:65536"), "bootstrap.servers", Contains("outside 1-65535")),
            ("the bad entry is named", servers("b:1,c"), "bootstrap.servers", Contains("`c`")),
            (
                "unknown DNS lookup",
                with_bootstrap(&[("client.dns.lookup", "default")]),
                "client.dns.lookup",
                Is("`default` is not one of use_all_dns_ips, \
                    resolve_canonical_bootstrap_servers_only"),
            ),
        ];
        assert_refusals(&rows);
    }

    #[test]
    fn client_identity_settings_pass_through() {
        let t = translated(&with_bootstrap(&[
            ("client.id", "spark-committer"),
            ("client.rack", "rack-1"),
            ("client.dns.lookup", "RESOLVE_CANONICAL_BOOTSTRAP_SERVERS_ONLY"),
        ]));
        assert_eq!(value(&t, "client.id"), Some("spark-committer"));
        assert_eq!(value(&t, "client.rack"), Some("rack-1"));
        assert_eq!(value(&t, "client.dns.lookup"), Some("resolve_canonical_bootstrap_servers_only"));
        assert!(t.dropped.is_empty(), "{:?}", t.dropped);
    }
}
