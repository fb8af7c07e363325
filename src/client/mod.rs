//! The client engine: one tokio task owning the session state.
//!
//! API calls become [`Command`]s; the connection's tasks report [`Internal`] messages; the
//! engine turns both into wire frames and app [`Event`](crate::dispatch::Event)s. Because one
//! task owns all session state, there are no locks on it and every outcome is decided in
//! one order.

pub mod boards;
pub mod calls;
pub mod connection;
pub(crate) mod engine;
pub mod handshake;
pub mod meetings;
mod net_state;
pub mod netdisk;
pub mod pending;
pub mod presence;
pub mod queues;
mod resume;
pub mod room_calls;
pub mod rooms;
pub mod tls;
pub mod transfer;

use std::sync::mpsc::SyncSender;

use crvideo_proto::{LoginRequest, Request, ServerFrame};

pub use engine::{Engine, EngineConfig};
pub use pending::ReplyHandler;

use crate::params::ServerAddr;

/// State of the logged-in session kept by the SDK itself; reset when the session ends.
#[derive(Default)]
pub struct SessionLocal {
    /// The cookie of `CRVideo_StartUserStatusNotify` while subscribed.
    pub status_cookie: Option<String>,
    /// Bulk transfers in both directions.
    pub transfers: transfer::Transfers,
    /// Net-disk uploads and downloads (they outlive a reconnect).
    pub netdisk: netdisk::DiskTransfers,
    /// How to resume this session on a new connection, once the server granted it.
    pub resume: Option<resume::Ticket>,
    /// Whether the server's text frames are counted (from the one after the reply that
    /// enabled resuming).
    pub counting_received: bool,
}

/// The file IDs with a net-disk transfer, shared by the engine (which keeps it) and the API
/// (which refuses a second transfer of one at once).
pub type ActiveDiskFiles = std::sync::Arc<parking_lot::Mutex<std::collections::HashSet<String>>>;

/// A session request: what to send, and how its outcome becomes a result event.
pub struct RequestSpec {
    pub request: Request,
    pub handler: ReplyHandler,
}

impl RequestSpec {
    pub fn new(
        request: Request,
        handler: impl FnOnce(
                &mut SessionLocal,
                Result<serde_json::Value, i32>,
            ) -> Option<crate::dispatch::Event>
            + Send
            + 'static,
    ) -> RequestSpec {
        RequestSpec {
            request,
            handler: Box::new(handler),
        }
    }
}

/// What the API asks of the engine.
pub enum Command {
    /// `CRVideo_Login`: LoginSuccess or LoginFail follows.
    Login {
        servers: Vec<ServerAddr>,
        login: LoginRequest,
        cookie: String,
    },
    /// `CRVideo_Logout`: the engine answers on `done` with 0 or `NOT_LOGIN`.
    Logout { done: SyncSender<i32> },
    /// A request of the logged-in session; its handler makes the result event.
    Request(RequestSpec),
    /// `CRVideo_SendCmd`: SendCmdRlst follows.
    SendCmd {
        task_id: String,
        target: String,
        payload: Vec<u8>,
        cookie: String,
    },
    /// `CRVideo_SendBuffer` / `CRVideo_SendFile`: progress and the result follow.
    SendBulk {
        task_id: String,
        target: String,
        kind: crvideo_proto::TransferKind,
        name: String,
        outgoing: Box<transfer::Outgoing>,
    },
    /// `CRVideo_CancelSend`: CancelSendRlst follows.
    CancelSend { task_id: String },
    /// A net-disk upload or download, or its pause or cancel.
    NetDisk(netdisk::NetDiskCommand),
    /// `CRVideo_Uninit`: log out if needed and stop.
    Shutdown,
}

/// Reports from the engine's own helper tasks.
pub enum Internal {
    /// A login attempt finished.
    LoginDone {
        attempt: u64,
        result: Result<Box<handshake::Established>, i32>,
    },
    /// A frame arrived on connection `conn`.
    Frame { conn: u64, frame: ServerFrame },
    /// A binary frame (command or chunk) arrived on connection `conn`.
    Data { conn: u64, data: bytes::Bytes },
    /// An upload task sent everything (`Ok`) or failed (`Err(code)`).
    UploadDone {
        transfer_id: String,
        result: Result<(), i32>,
    },
    /// An incoming transfer's sink wrote and hashed `bytes` more.
    SinkConsumed { transfer_id: String, bytes: u64 },
    /// An incoming transfer's sink verified and completed it, or failed.
    SinkFinished {
        transfer_id: String,
        result: Result<(), crate::ErrorCode>,
    },
    /// About a net-disk transfer.
    NetDisk(netdisk::NetDiskReport),
    /// Connection `conn` is gone.
    Closed { conn: u64, reason: String },
    /// Connection `conn` sent a heartbeat ping.
    PingSent { conn: u64 },
    /// A pong answered one of connection `conn`'s pings after `rtt`.
    Pong { conn: u64, rtt: std::time::Duration },
    /// The server got this many of the session's text frames (its ping on `conn`).
    Acked { conn: u64, received: u64 },
    /// Reconnect attempt `attempt` ended: the session resumed on a new connection, or it
    /// cannot be resumed (`Err(code)`).
    Resumed {
        attempt: u64,
        result: Result<Box<handshake::Resumed>, i32>,
    },
}
