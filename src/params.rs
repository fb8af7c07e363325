//! Parsing of `CRVideo_Init`'s JSON parameters and of server address lists.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::ErrorCode;

/// How callbacks reach the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchMode {
    /// One dedicated SDK thread runs every callback.
    Thread,
    /// The app runs callbacks on its own thread with `CRVideo_PollEvents`.
    Poll,
}

/// The SDK's settings, from `CRVideo_Init`.
#[derive(Debug, Clone, PartialEq)]
pub struct SdkParams {
    pub servers: Vec<ServerAddr>,
    pub tmp_dir: PathBuf,
    pub request_timeout: Duration,
    pub log_level: Option<String>,
    pub dispatch: DispatchMode,
    /// Largest buffer `CRVideo_SendBuffer` sends and this SDK accepts (`maxBufferBytes`).
    pub max_buffer_bytes: u64,
    /// PEM file of the certificate authorities trusted for `wss://` servers (`caFile`);
    /// `None`: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Longest cookie accepted (`maxCookieBytes`).
    pub max_cookie_bytes: usize,
    /// How long a lost connection may be replaced by a new one without a new login
    /// (`resumeWindowMs`; 0: never, the app gets LineOff at once).
    pub resume_window: Duration,
    /// How long an HTTP transfer may move no byte before it ends with timeout
    /// (`httpTimeoutMs`, an SDK extension; default: `timeoutMs`).
    pub http_timeout: Option<Duration>,
    /// The longest local recording (`recordMaxSecs`, an SDK extension; default 8 hours,
    /// 1 s – 24 h): reaching it ends the recording with `RecordErr(901)`.
    pub record_max: Duration,
}

impl SdkParams {
    /// The stall timeout of HTTP transfers: `httpTimeoutMs`, else `timeoutMs`.
    pub fn http_stall(&self) -> Duration {
        self.http_timeout.unwrap_or(self.request_timeout)
    }
}

/// Default resume window: 30 s.
pub const DEFAULT_RESUME_WINDOW_MS: u64 = 30_000;
/// Longest resume window accepted: 10 minutes.
pub const MAX_RESUME_WINDOW_MS: u64 = 600_000;

/// Default cap on cookies: 4 KiB.
pub const DEFAULT_MAX_COOKIE_BYTES: usize = 4096;

/// Default cap on `CRVideo_SendBuffer`: 100 MiB.
pub const DEFAULT_MAX_BUFFER_BYTES: u64 = 100 * 1024 * 1024;

/// Longest local recording unless `recordMaxSecs` says otherwise: 8 hours.
pub const DEFAULT_RECORD_MAX_SECS: u64 = 8 * 3600;

/// Range of `httpTimeoutMs`, in milliseconds.
pub const HTTP_TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=600_000;

/// Request timeout range of the original SDK, in milliseconds.
pub const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 10_000..=120_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

impl Default for SdkParams {
    fn default() -> Self {
        SdkParams {
            servers: Vec::new(),
            tmp_dir: std::env::temp_dir(),
            request_timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            log_level: None,
            dispatch: DispatchMode::Thread,
            max_buffer_bytes: DEFAULT_MAX_BUFFER_BYTES,
            ca_file: None,
            max_cookie_bytes: DEFAULT_MAX_COOKIE_BYTES,
            resume_window: Duration::from_millis(DEFAULT_RESUME_WINDOW_MS),
            http_timeout: None,
            record_max: Duration::from_secs(DEFAULT_RECORD_MAX_SECS),
        }
    }
}

impl SdkParams {
    /// Parses the Init JSON. Empty text means defaults; unknown keys are ignored; malformed
    /// JSON, a non-object, or a known key with a wrong type or value is `PARAM_ERR`.
    pub fn parse(json: &str) -> Result<SdkParams, ErrorCode> {
        let mut params = SdkParams::default();
        if json.trim().is_empty() {
            return Ok(params);
        }
        let value: Value = serde_json::from_str(json).map_err(|_| ErrorCode::ParamErr)?;
        let Value::Object(map) = value else {
            return Err(ErrorCode::ParamErr);
        };
        if let Some(v) = map.get("serverAddr") {
            params.servers = parse_server_list(v.as_str().ok_or(ErrorCode::ParamErr)?)?;
        }
        if let Some(v) = map.get("tmpDir") {
            let dir = v
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or(ErrorCode::ParamErr)?;
            params.tmp_dir = PathBuf::from(dir);
        }
        if let Some(v) = map.get("timeoutMs") {
            let ms = v.as_u64().ok_or(ErrorCode::ParamErr)?;
            if !TIMEOUT_RANGE_MS.contains(&ms) {
                return Err(ErrorCode::ParamErr);
            }
            params.request_timeout = Duration::from_millis(ms);
        }
        if let Some(v) = map.get("httpTimeoutMs") {
            let ms = v
                .as_u64()
                .filter(|ms| HTTP_TIMEOUT_RANGE_MS.contains(ms))
                .ok_or(ErrorCode::ParamErr)?;
            params.http_timeout = Some(Duration::from_millis(ms));
        }
        if let Some(v) = map.get("recordMaxSecs") {
            let secs = (v.as_u64())
                .filter(|s| (1..=24 * 3600).contains(s))
                .ok_or(ErrorCode::ParamErr)?;
            params.record_max = Duration::from_secs(secs);
        }
        if let Some(v) = map.get("logLevel") {
            let level = v
                .as_str()
                .map(str::to_ascii_lowercase)
                .ok_or(ErrorCode::ParamErr)?;
            if !LOG_LEVELS.contains(&level.as_str()) {
                return Err(ErrorCode::ParamErr);
            }
            params.log_level = Some(level);
        }
        if let Some(v) = map.get("maxBufferBytes") {
            params.max_buffer_bytes = v.as_u64().filter(|&n| n > 0).ok_or(ErrorCode::ParamErr)?;
        }
        if let Some(v) = map.get("maxCookieBytes") {
            params.max_cookie_bytes =
                v.as_u64().filter(|&n| n > 0).ok_or(ErrorCode::ParamErr)? as usize;
        }
        if let Some(v) = map.get("resumeWindowMs") {
            let ms = v
                .as_u64()
                .filter(|ms| *ms <= MAX_RESUME_WINDOW_MS)
                .ok_or(ErrorCode::ParamErr)?;
            params.resume_window = Duration::from_millis(ms);
        }
        if let Some(v) = map.get("caFile") {
            let path = v
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or(ErrorCode::ParamErr)?;
            params.ca_file = Some(PathBuf::from(path));
        }
        if let Some(v) = map.get("dispatch") {
            params.dispatch = match v.as_str() {
                Some("thread") => DispatchMode::Thread,
                Some("poll") => DispatchMode::Poll,
                _ => return Err(ErrorCode::ParamErr),
            };
        }
        Ok(params)
    }
}

/// One entry of a server address list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// `wss://`: TLS, with the server's certificate verified.
    pub tls: bool,
}

impl ServerAddr {
    /// The WebSocket URL of the server's endpoint.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.authority(), crvideo_proto::WS_PATH)
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.tls {
            write!(f, "wss://{}", self.authority())
        } else {
            write!(f, "{}", self.authority())
        }
    }
}

/// Parses `"host:port;host2:port2"` (entries tried in order). A `ws://` prefix is accepted;
/// `wss://` selects TLS; blanks around entries and empty entries are skipped. No entry at all, or an entry
/// without a valid port, is `PARAM_ERR`; so is a host that is neither an IPv6 address in
/// brackets nor a host name or IPv4 address (ASCII letters, digits, `-`, `.`, `_`).
pub fn parse_server_list(list: &str) -> Result<Vec<ServerAddr>, ErrorCode> {
    let mut servers = Vec::new();
    for entry in list.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (tls, entry) = match entry.strip_prefix("wss://") {
            Some(rest) => (true, rest),
            None => (false, entry.strip_prefix("ws://").unwrap_or(entry)),
        };
        let entry = entry.trim_end_matches('/');
        let (host, port) = entry.rsplit_once(':').ok_or(ErrorCode::ParamErr)?;
        let port: u16 = port.parse().map_err(|_| ErrorCode::ParamErr)?;
        let name_char = |c: char| c.is_ascii_alphanumeric() || "-._".contains(c);
        let host = match host.strip_prefix('[') {
            // Else the URL is not one: `[::1]:99::1]:9` was `::1]:99::1` port 9.
            Some(inner) => inner
                .strip_suffix(']')
                .filter(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
                .ok_or(ErrorCode::ParamErr)?,
            None if !host.is_empty() && host.chars().all(name_char) => host,
            None => return Err(ErrorCode::ParamErr),
        };
        if port == 0 {
            return Err(ErrorCode::ParamErr);
        }
        servers.push(ServerAddr {
            host: host.to_string(),
            port,
            tls,
        });
    }
    if servers.is_empty() {
        return Err(ErrorCode::ParamErr);
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_for_empty_and_braces() {
        assert_eq!(SdkParams::parse("").unwrap(), SdkParams::default());
        assert_eq!(SdkParams::parse("{}").unwrap(), SdkParams::default());
        assert_eq!(
            SdkParams::default().request_timeout,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn all_keys() {
        let p = SdkParams::parse(
            r#"{"serverAddr":"a:1;b:2","tmpDir":"/x","timeoutMs":10000,"logLevel":"DEBUG","dispatch":"poll","other":[1]}"#,
        )
        .unwrap();
        assert_eq!(p.servers.len(), 2);
        assert_eq!(p.tmp_dir, PathBuf::from("/x"));
        assert_eq!(p.request_timeout, Duration::from_secs(10));
        assert_eq!(p.log_level.as_deref(), Some("debug"));
        assert_eq!(p.dispatch, DispatchMode::Poll);
        // No httpTimeoutMs: HTTP transfers stall out after timeoutMs.
        assert_eq!(p.http_stall(), Duration::from_secs(10));
        let p = SdkParams::parse(r#"{"httpTimeoutMs":100}"#).unwrap();
        assert_eq!(p.http_stall(), Duration::from_millis(100));
        let p = SdkParams::parse(r#"{"httpTimeoutMs":600000}"#).unwrap();
        assert_eq!(p.http_stall(), Duration::from_secs(600));
    }

    #[test]
    fn record_max_secs() {
        let p = SdkParams::parse(r#"{"recordMaxSecs":2}"#).unwrap();
        assert_eq!(p.record_max, Duration::from_secs(2));
        assert_eq!(
            SdkParams::default().record_max,
            Duration::from_secs(8 * 3600)
        );
    }

    #[test]
    fn bad_params_are_param_err() {
        for bad in [
            "{",
            "[]",
            "3",
            r#"{"timeoutMs":9999}"#,
            r#"{"timeoutMs":120001}"#,
            r#"{"timeoutMs":"60000"}"#,
            r#"{"serverAddr":5}"#,
            r#"{"serverAddr":"nohost"}"#,
            r#"{"tmpDir":""}"#,
            r#"{"logLevel":"loud"}"#,
            r#"{"dispatch":"fiber"}"#,
            r#"{"httpTimeoutMs":99}"#,
            r#"{"httpTimeoutMs":600001}"#,
            r#"{"httpTimeoutMs":"1000"}"#,
            r#"{"recordMaxSecs":0}"#,
            r#"{"recordMaxSecs":86401}"#,
        ] {
            assert_eq!(SdkParams::parse(bad), Err(ErrorCode::ParamErr), "{bad}");
        }
    }

    #[test]
    fn server_lists() {
        let list = parse_server_list(" 127.0.0.1:2727 ; ws://example.com:80/;[::1]:9;").unwrap();
        assert_eq!(
            list,
            vec![
                ServerAddr {
                    host: "127.0.0.1".into(),
                    port: 2727,
                    tls: false,
                },
                ServerAddr {
                    host: "example.com".into(),
                    port: 80,
                    tls: false,
                },
                ServerAddr {
                    host: "::1".into(),
                    port: 9,
                    tls: false,
                },
            ]
        );
        assert_eq!(list[0].url(), "ws://127.0.0.1:2727/crvideo");
        assert_eq!(list[2].url(), "ws://[::1]:9/crvideo");
        assert_eq!(list[2].to_string(), "[::1]:9");
        let secure = parse_server_list("wss://chat.example.com:443").unwrap();
        assert_eq!(secure[0].url(), "wss://chat.example.com:443/crvideo");
        assert_eq!(secure[0].to_string(), "wss://chat.example.com:443");
        for bad in [
            "",
            ";",
            "host",
            "host:",
            "host:0",
            "host:70000",
            ":80",
            "a b:1",
            "::1:80",
            "[::1:80",
            "wss://nohost",
            // Found by fuzzing (fuzz/fuzz_targets/sdk_params.rs): hosts no URL can hold.
            "[::1]:99::1]:9",
            "[[::1]]:9",
            "[example.com]:9",
            "a[b:9",
            "h\u{e9}te:9",
            "a%20b:9",
            "a\"b:9",
        ] {
            assert_eq!(parse_server_list(bad), Err(ErrorCode::ParamErr), "{bad:?}");
        }
    }
}
