//! `CRVideo_Init`'s JSON parameters (`SdkParams::parse`) and server address lists
//! (`parse_server_list`, also fed the raw input).
//!
//! Invariants:
//! - a refusal is `PARAM_ERR`;
//! - accepted parameters keep their documented limits: the timeout and the resume window in
//!   range, positive caps, non-empty paths, a known log level (lower case); blank text is
//!   the defaults, anything else accepted is a JSON object;
//! - every accepted server address prints (`Display`) as text that parses back to it, alone
//!   and as a list;
//! - its `url()` is a WebSocket URL the connector accepts, naming the same host and port.
#![no_main]

use crvideosdk::params::{
    parse_server_list, SdkParams, ServerAddr, MAX_RESUME_WINDOW_MS, TIMEOUT_RANGE_MS,
};
use crvideosdk::ErrorCode;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

fn check_servers(servers: &[ServerAddr]) {
    assert!(!servers.is_empty());
    for server in servers {
        assert!(!server.host.is_empty() && server.port != 0, "{server:?}");
        let printed = server.to_string();
        assert_eq!(
            parse_server_list(&printed),
            Ok(vec![server.clone()]),
            "{printed}"
        );
        let url = server.url();
        let request = url
            .as_str()
            .into_client_request()
            .unwrap_or_else(|e| panic!("{server:?}: {url} is not a valid request URL: {e}"));
        let uri = request.uri();
        let host = if server.host.contains(':') {
            format!("[{}]", server.host)
        } else {
            server.host.clone()
        };
        assert_eq!(uri.host(), Some(host.as_str()), "{url}");
        assert_eq!(uri.port_u16(), Some(server.port), "{url}");
    }
    let list: Vec<String> = servers.iter().map(ToString::to_string).collect();
    assert_eq!(parse_server_list(&list.join(";")).as_deref(), Ok(servers));
}

fuzz_target!(|data: &[u8]| {
    // The C API refuses text that is not UTF-8 before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match SdkParams::parse(text) {
        Err(code) => assert_eq!(code, ErrorCode::ParamErr),
        Ok(params) => {
            if text.trim().is_empty() {
                assert_eq!(params, SdkParams::default());
            } else {
                let value: Value = serde_json::from_str(text).expect("accepted text is JSON");
                assert!(value.is_object());
                if value.get("serverAddr").is_some() {
                    check_servers(&params.servers);
                }
            }
            let ms = u64::try_from(params.request_timeout.as_millis()).unwrap();
            assert!(TIMEOUT_RANGE_MS.contains(&ms), "{ms}");
            assert!(params.max_buffer_bytes > 0 && params.max_cookie_bytes > 0);
            assert!(params.resume_window.as_millis() <= u128::from(MAX_RESUME_WINDOW_MS));
            assert!(!params.tmp_dir.as_os_str().is_empty());
            if let Some(ca) = &params.ca_file {
                assert!(!ca.as_os_str().is_empty());
            }
            if let Some(level) = &params.log_level {
                assert!(LOG_LEVELS.contains(&level.as_str()), "{level}");
            }
        }
    }
    match parse_server_list(text) {
        Ok(servers) => check_servers(&servers),
        Err(code) => assert_eq!(code, ErrorCode::ParamErr),
    }
});
