//! [`Bus`]: how a node publishes to Redis without waiting.
//!
//! Everything a node says to Redis (directory events, record updates, and messages for a
//! node that cannot be linked) goes into one queue, drained by one task that writes it as
//! pipelines of as many items as are waiting. One connection and one task keep the order:
//! what a node publishes reaches every other node in the order it was queued. Senders never
//! wait (the services queue under their locks); while Redis
//! is unreachable, what is queued is lost with a warning, as a connection's frames would be.
//!
//! Messages for one node (frames, forwarded requests, stops: a kick's frame before its stop)
//! go over a direct [link](super::links), and through that node's Redis inbox when it cannot
//! be linked.

use std::sync::{Arc, OnceLock};

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tracing::warn;

use super::links::Links;
use super::wire::{inbox, Control, DirEvent, NodeMessage, DIRECTORY_CHANNEL};
use crate::directory::outbound::{Lane, SessionId};
use tokio_tungstenite::tungstenite::Message;

/// Most items written in one pipeline.
const PIPELINE_ITEMS: usize = 512;

enum Out {
    Publish { channel: String, payload: Vec<u8> },
    Command(redis::Cmd),
}

/// A node's way to publish (cheap to clone).
#[derive(Clone)]
pub struct Bus {
    node: Arc<str>,
    tx: mpsc::UnboundedSender<Out>,
    /// Links to the other nodes, once set up: messages for one node go there.
    links: Arc<OnceLock<Links>>,
}

impl Bus {
    /// A bus writing through `conn`; its task ends when every clone is dropped.
    pub fn start(node: Arc<str>, conn: ConnectionManager) -> Bus {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(drain(conn, rx));
        Bus {
            node,
            tx,
            links: Arc::default(),
        }
    }

    /// From now on, messages for one node go over `links`.
    pub fn use_links(&self, links: Links) {
        let _ = self.links.set(links);
    }

    pub fn links(&self) -> Option<&Links> {
        self.links.get()
    }

    /// Publishes an encoded [`NodeMessage`] to `to`'s Redis inbox.
    pub fn publish_to_inbox(&self, to: &str, message: Vec<u8>) {
        self.publish(inbox(to), message);
    }

    pub(crate) fn to_node(&self, to: &str, message: Vec<u8>) {
        match self.links.get() {
            Some(links) => links.send(to, message),
            None => self.publish(inbox(to), message),
        }
    }

    /// This node's ID.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn node_arc(&self) -> Arc<str> {
        self.node.clone()
    }

    /// Queues a frame for session `session` of node `to`, in `lane`.
    pub fn deliver(&self, to: &str, session: SessionId, lane: Lane, message: Message) {
        let message = NodeMessage::Deliver {
            session,
            lane,
            message,
        };
        self.to_node(to, message.encode());
    }

    /// Queues a control message for node `to`.
    pub fn control(&self, to: &str, control: Control) {
        self.to_node(to, NodeMessage::Control(control).encode());
    }

    /// Queues a directory event for every node.
    pub fn event(&self, event: &DirEvent) {
        self.publish(DIRECTORY_CHANNEL.to_owned(), event.encode());
    }

    /// Queues a command (a record update), in order with the publications.
    pub fn command(&self, cmd: redis::Cmd) {
        let _ = self.tx.send(Out::Command(cmd));
    }

    fn publish(&self, channel: String, payload: Vec<u8>) {
        let _ = self.tx.send(Out::Publish { channel, payload });
    }
}

async fn drain(mut conn: ConnectionManager, mut rx: mpsc::UnboundedReceiver<Out>) {
    while let Some(first) = rx.recv().await {
        let mut pipe = redis::pipe();
        let mut add = |out: Out| match out {
            Out::Publish { channel, payload } => {
                pipe.publish(channel, payload).ignore();
            }
            Out::Command(cmd) => {
                pipe.add_command(cmd).ignore();
            }
        };
        add(first);
        for _ in 1..PIPELINE_ITEMS {
            match rx.try_recv() {
                Ok(out) => add(out),
                Err(_) => break,
            }
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            warn!("cluster: publishing to Redis failed, messages lost: {e}");
        }
    }
}
