//! The wire protocol between the CRVideo SDK and `crvideo-server`.
//!
//! Transport: one WebSocket connection per logged-in SDK. Control messages are JSON text
//! frames (see [`msg`]); bulk data (transparent channel) travels in binary frames. Liveness
//! is checked with WebSocket ping/pong in both directions at the interval the server
//! announces in its hello reply.
//!
//! A session starts with `hello` (protocol version check), then `login`.

pub mod boards;
pub mod data;
pub mod error;
pub mod md5_thread;
pub mod msg;
pub mod netdisk;
pub mod replay;
pub mod writeback;

pub use boards::{BoardObj, BoardState, PageElements};
pub use error::ErrorCode;
pub use msg::*;

/// `bytes` as lowercase hex digits (IDs, tokens, digests on the wire and in the API).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Protocol version spoken by this build. A server refuses a client whose version differs
/// with [`ErrorCode::MismatchClientVer`].
pub const PROTOCOL_VERSION: u32 = 1;

/// The WebSocket path the server serves.
pub const WS_PATH: &str = "/crvideo";

/// A side of a resumable session acknowledges the text frames it got at least every this
/// many frames (besides every heartbeat): in its ping's payload (see PROTOCOL.md).
pub const RESUME_ACK_EVERY: u64 = 256;

/// Largest `CRVideo_SendCmd` payload, in bytes.
pub const MAX_CMD_BYTES: usize = 51_200;

/// Default cap on one control (text) frame, in bytes. The server closes the session of a
/// client that sends a larger one.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;
