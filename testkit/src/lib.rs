//! One raw client of the crvideo protocol (WebSocket + `crvideo-proto` frames), owned by one
//! task, for the server's integration tests and the load generators in `benches/`.
//!
//! [`Conn`] reads frames only when its owner asks for one (tungstenite answers the server's
//! pings while reading). Its fallible methods return the problem as text, for load
//! generators that report and stop; [`expect`] adds the panicking helpers tests use.

mod conn;
pub mod engines;
pub mod expect;

pub use conn::{Conn, Incoming, ReadError};
pub use expect::{PATIENCE, QUIET};
