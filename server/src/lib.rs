//! `crvideo-server`: the server the CRVideo SDK talks to over WebSocket.
//!
//! The parts, each using only those before it: [`config`], [`auth`], [`tls`], [`logging`],
//! `throttle` (settings and checks); [`directory`] (who is online, their presence, and the
//! outbound lanes that reach a session: the seam between services and sessions); [`services`]
//! (calls, queues, relay, rooms, meetings and their store); `state` (what every session
//! shares); `session` (one connection: its read loop, the routing of its requests, login,
//! resume, its writer); `server` (the listener and accept loop: [`Server`]). `harness`
//! ([`BackgroundServer`]) is for tests only.
//!
//! # Lock order
//!
//! State shared between sessions sits under `std` mutexes, never held across an `.await`. A
//! change, its reply and the events it causes happen under the lock of the state it changes,
//! so everyone sees one order of changes. While holding a lock, code takes only locks that
//! come later in this one order:
//!
//! 1. the calls' table (one for the server);
//! 2. a tenant's queues (one per tenant): the calls tell them when a call is placed or ends;
//! 3. the rooms' table (one for the server);
//! 4. the relay's table (one for the server);
//! 5. a tenant's directory state (one per tenant): presence and its fan-out;
//! 6. a session's outbound lanes and stop signal (one per session): queuing never waits.
//!
//! Nothing calls back up the list: the queues never call the calls, the directory calls no
//! service. Rooms and relay are never held with each other or with 1 and 2; their places
//! only make the list one order. The directory's map of tenants is held alone, only to find
//! a tenant's state. Every other lock is taken alone, or with only lanes under it: the
//! resumable sessions (which stop a session's old connection), connections not logged in,
//! login back-off and turns, verified passwords, known users.

pub mod auth;
pub mod cluster;
pub mod config;
pub mod directory;
mod harness;
pub mod logging;
mod server;
pub mod services;
mod session;
mod shutdown;
mod state;
pub mod store;
mod throttle;
pub mod tls;

pub use config::{ClusterConfig, Config, ConfigError, QueueConfig, TenantConfig};
pub use harness::BackgroundServer;
pub use server::Server;
pub use services::netdisk::s3::S3Config;
/// For the fuzz targets (`fuzz/`): the depth check every text frame passes first.
#[doc(hidden)]
pub use session::json_depth::json_depth_exceeds;
pub use session::login::SERVER_AGENT;
