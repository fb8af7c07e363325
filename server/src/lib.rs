//! `crvideo-server`: the server the CRVideo SDK talks to over WebSocket.

pub mod auth;
pub mod config;
pub mod directory;
mod harness;
pub mod logging;
mod server;
pub mod services;
mod session;
mod shutdown;
mod state;
mod throttle;
pub mod tls;

pub use config::{Config, ConfigError, QueueConfig, TenantConfig};
pub use harness::BackgroundServer;
pub use server::Server;
/// For the fuzz targets (`fuzz/`): the depth check every text frame passes first.
#[doc(hidden)]
pub use session::json_depth::json_depth_exceeds;
pub use session::login::SERVER_AGENT;
