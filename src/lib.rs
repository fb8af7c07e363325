//! CRVideo SDK: the meeting-management client library.
//!
//! The C ABI (`CRVideo_*` functions, `CRVideo_Callbacks`, `CRVIDEOSDK_*` codes) lives in
//! [`ffi`] and is the only place with `extern "C"`. Behind it:
//!
//! - [`instance`]: the one SDK instance of the process (Init/Uninit, its threads);
//! - [`event`]: [`Event`], what the app is told, one variant per callback (generated from
//!   `CRVideo_Callbacks`);
//! - [`dispatch`]: the event queue and the one thread that runs the app's callbacks;
//! - [`client`]: the engine on a tokio runtime: connection, session state, requests;
//! - [`params`]: parsing of the Init parameters and server address lists.
//!
//! See `docs/ARCHITECTURE.md` for the flow of a request and of an event.

#![allow(non_snake_case)]

pub mod audio;
pub mod client;
pub mod dispatch;
pub mod event;
pub mod ffi;
pub mod files;
pub mod http;
pub mod instance;
pub mod media;
pub mod params;
pub mod record;
pub mod sink;
pub mod video;

pub use event::Event;

pub use crvideo_proto::ErrorCode;
