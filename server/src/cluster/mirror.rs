//! Mirrors: a session of another node as this node's services see it.
//!
//! A mirror is a [`SessionLink`] with the remote session's ID and no lanes of its own:
//! what a service sends to it goes at once, with the lane it was sent in, to the node that
//! holds the connection, which queues it in the same lane of the real session (its bounds
//! and priorities apply there). A stop (a kick) follows the frames sent before it. So every
//! service sends to a user on another node exactly as to one here, and a mirror costs a few
//! dozen bytes, not the lanes and task a connection has.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Message;

use crate::directory::outbound::{Lane, RemoteSink, SessionId, SessionLink, Stop};

use super::bus::Bus;
use super::wire::Control;

/// The way to the sessions of one node.
pub struct NodeSink {
    bus: Bus,
    node: Arc<str>,
}

impl NodeSink {
    pub fn new(bus: Bus, node: Arc<str>) -> Arc<NodeSink> {
        Arc::new(NodeSink { bus, node })
    }
}

impl RemoteSink for NodeSink {
    fn deliver(&self, session: SessionId, lane: Lane, message: Message) {
        self.bus.deliver(&self.node, session, lane, message);
    }

    fn stop(&self, session: SessionId, stop: &Stop) {
        self.bus.control(&self.node, Control::stop(session, stop));
    }
}

/// A link to session `session` of the node `sink` reaches.
pub fn mirror(sink: Arc<NodeSink>, session: SessionId) -> SessionLink {
    SessionLink::remote(session, sink)
}
