//! Who hears of a change to a room's shared state.

use crvideo_proto::Event;

/// Who gets an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every member, the requester too.
    All,
    /// Every member but the requester.
    Others,
}

/// The events a change causes, each with who gets it, in the order they go out.
pub type Fanout = Vec<(Event, Audience)>;
