//! Who is online, with which presence, and how to reach their sessions.

pub mod handle;
pub mod local;
pub mod outbound;
