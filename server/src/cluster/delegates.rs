//! Delegates: the sessions of other nodes as this node serves their forwarded requests.
//!
//! Each such session has a task of its own that serves its requests one after another, in
//! the order they came, as its own node would. So a slow request (entering a meeting looks
//! it up in PostgreSQL: a millisecond, or the store's whole timeout while PostgreSQL
//! hangs) holds up only the next requests of the same session: never another session's,
//! nor the node's cluster task (its heartbeat, which keeps the node alive for the others,
//! and the directory's events).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::session::Session;
use crate::state::Shared;

/// The request queues of the delegates this node runs, by session.
#[derive(Default)]
pub(crate) struct Delegates {
    queues: HashMap<SessionId, (SessionHandle, mpsc::UnboundedSender<String>)>,
}

impl Delegates {
    /// Queues request `text` of `requester` (a session of another node) for its delegate,
    /// starting one if it has none, or its last one ended (a request that ends a session,
    /// as a logout, ends its delegate).
    pub(crate) fn serve(&mut self, shared: &Arc<Shared>, requester: SessionHandle, text: String) {
        let session = requester.session_id();
        let text = match self.queues.get(&session) {
            Some((_, queue)) => match queue.send(text) {
                Ok(()) => return,
                Err(unsent) => unsent.0,
            },
            None => text,
        };
        let (queue, requests) = mpsc::unbounded_channel();
        let _ = queue.send(text);
        let delegate = Session::delegate(shared.clone(), requester.clone());
        tokio::spawn(serve_in_order(delegate, requests));
        self.queues.insert(session, (requester, queue));
    }

    /// Keeps the delegates of the sessions `online` says are still there; the others end
    /// once they have served what they were given.
    pub(crate) fn retain(&mut self, online: impl Fn(&SessionHandle) -> bool) {
        self.queues
            .retain(|_, (handle, queue)| !queue.is_closed() && online(handle));
    }
}

/// A delegate's task: its session's requests, one at a time, until its queue is dropped or
/// a request ends the session.
async fn serve_in_order(mut delegate: Session, mut requests: mpsc::UnboundedReceiver<String>) {
    while let Some(text) = requests.recv().await {
        if delegate.on_forwarded(&text).await.is_some() {
            return;
        }
    }
}
