//! `crvideo-server`: the server the CRVideo SDK talks to over WebSocket.
//!
//! This version: tenants, hello / login / logout, relogin kicks the older session, heartbeat.
//!
//! Layout: [`config`] (settings, TOML), [`auth`] (passwords, user IDs), [`directory`] (who is
//! online, how to reach them), [`link`] (a session's outbound queues and stop signal),
//! [`relay`] (the transparent channel: commands and bulk transfers), [`queues`] (call-center
//! queues: customers, agents, the assignment engine), [`rooms`] (live meeting rooms), and the private modules `server` (listener, accept loop), `session` (one connection),
//! `requests`, `call_requests`, `relay_requests`, `queue_requests`, `room_requests` (request handlers), `heartbeat`, `background` ([`BackgroundServer`]).

pub mod auth;
mod background;
mod boards;
mod call_requests;
pub mod calls;
pub mod config;
pub mod directory;
mod heartbeat;
pub mod link;
pub mod logging;
pub mod meetings;
mod prelogin;
mod presence;
mod queue_requests;
pub mod queues;
pub mod relay;
mod relay_requests;
mod requests;
mod resume;
mod room_requests;
mod room_signals;
pub mod rooms;
mod server;
mod session;
pub mod store;
mod throttle;
pub mod tls;

pub use background::BackgroundServer;
pub use config::{Config, ConfigError, QueueConfig, TenantConfig};
/// For the fuzz targets (`fuzz/`): the depth check every text frame passes first.
#[doc(hidden)]
pub use requests::json_depth_exceeds;
pub use requests::SERVER_AGENT;
pub use server::Server;
