//! The server's decoding of a text frame (`Session::on_text`): the depth check, then the
//! `ClientFrame` decoder.
//!
//! Invariants:
//! - on valid JSON, `json_depth_exceeds(text, max)` is exactly "nested deeper than `max`";
//! - a frame that passes the depth check never reaches serde's recursion limit;
//! - a decoded frame encodes to text that decodes to the same frame and encodes the same,
//!   whose `op` is `Request::op()` and whose `id` is the frame's, and that passes the check.
#![no_main]

use crvideo_proto::{decode, encode, ClientFrame};
use crvideo_server::json_depth_exceeds;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The server's default `limits.max_json_depth`.
const MAX_DEPTH: usize = 32;

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    // WebSocket text frames are UTF-8 (tungstenite refuses others).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let too_deep = json_depth_exceeds(text, MAX_DEPTH);
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let d = depth(&value);
        for max in [0, 1, 2, d.saturating_sub(1), d, d + 1, MAX_DEPTH] {
            assert_eq!(
                json_depth_exceeds(text, max),
                d > max,
                "depth {d}, max {max}"
            );
        }
    }
    match decode::<ClientFrame>(text) {
        Err(e) => assert!(
            too_deep || !e.to_string().contains("recursion limit"),
            "passed the depth check but hit serde's limit: {e}"
        ),
        Ok(frame) => {
            let wire = encode(&frame);
            let again: ClientFrame = decode(&wire).expect("an encoded frame decodes");
            assert_eq!(again, frame);
            assert_eq!(encode(&again), wire);
            let value: Value = serde_json::from_str(&wire).unwrap();
            assert_eq!(value["op"], frame.request.op());
            assert_eq!(value["id"], frame.id);
            assert!(!json_depth_exceeds(&wire, MAX_DEPTH));
        }
    }
});
