//! Session resume: a session whose client enabled it (`enable_resume`) outlives the loss of
//! its connection for the window granted. It stays registered everywhere (online, in its
//! meeting room, calls and queues) while *parked* here; events for it keep queuing in its
//! outbound lanes. A new connection that says `resume` with the session's token takes it
//! over: each side sends again the text frames the other did not count (see
//! [`Replay`](super::writer::Replay)) and the session goes on. When the window passes, or
//! the session is stopped meanwhile (a relogin elsewhere, its queue overflowing), it ends as
//! if its connection had just closed.
//!
//! Bulk transfers and commands do not survive a lost connection: they end when it is lost
//! (their other parties are told), so nothing half-sent is ever resumed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crvideo_proto::ErrorCode;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::directory::outbound::{SessionLink, Stop};
use crate::shutdown::shutdown_requested;

/// How long `resume` waits for a session whose old connection is not yet known to be lost
/// (the client noticed first) to be parked.
const TAKE_OVER_WAIT: Duration = Duration::from_secs(3);

/// The sessions that may be resumed, by token. `S` is the parked session (a
/// [`Session`](super::Session)); this table only keeps it, so it does not need to know it.
pub(crate) struct Resumable<S> {
    inner: Mutex<Inner<S>>,
    /// Wakes the resumes waiting in [`Resumable::take`] when a session is parked or ends.
    changed: Notify,
}

struct Inner<S> {
    /// Sessions with resume enabled and a connection.
    live: HashMap<String, SessionLink>,
    /// Sessions waiting for their client.
    parked: HashMap<String, Parked<S>>,
    /// Parked sessions ended by a relogin elsewhere, until their window would have passed:
    /// their client's resume is told so (not just "no such session").
    kicked: HashMap<String, Instant>,
    next_generation: u64,
}

struct Parked<S> {
    session: Box<S>,
    generation: u64,
}

impl<S> Default for Resumable<S> {
    fn default() -> Resumable<S> {
        Resumable {
            inner: Mutex::new(Inner {
                live: HashMap::new(),
                parked: HashMap::new(),
                kicked: HashMap::new(),
                next_generation: 0,
            }),
            changed: Notify::new(),
        }
    }
}

/// A fresh session token: 128 random bits as 32 hex digits.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    crvideo_proto::hex(&bytes)
}

impl<S: Send + 'static> Resumable<S> {
    /// `link`'s session enabled resume with `token`.
    pub fn register(&self, token: &str, link: SessionLink) {
        let mut inner = self.inner.lock().unwrap();
        inner.live.insert(token.to_owned(), link);
    }

    /// The session of `token` has ended for good.
    pub fn forget(&self, token: &str) {
        {
            let mut inner = self.inner.lock().unwrap();
            inner.live.remove(token);
            inner.parked.remove(token);
        }
        self.changed.notify_waiters();
    }

    /// Parks `session` (its connection is lost) for `window`; unless resumed within it,
    /// `end` ends it, with the reason. `stopped`: the session's stop requests from now on
    /// (a relogin, an overflowing queue; the stop that lost the connection already seen);
    /// `shutdown`: the server's stop signal (parked sessions end with it).
    pub fn park(
        self: &Arc<Self>,
        token: String,
        window: Duration,
        session: S,
        mut stopped: watch::Receiver<Option<Stop>>,
        mut shutdown: watch::Receiver<bool>,
        end: impl FnOnce(S, &'static str) + Send + 'static,
    ) {
        let generation = {
            let mut inner = self.inner.lock().unwrap();
            inner.live.remove(&token);
            inner.next_generation += 1;
            let generation = inner.next_generation;
            inner.parked.insert(
                token.clone(),
                Parked {
                    session: Box::new(session),
                    generation,
                },
            );
            generation
        };
        self.changed.notify_waiters();
        let this = self.clone();
        let window_ends = Instant::now() + window;
        tokio::spawn(async move {
            let why = tokio::select! {
                _ = tokio::time::sleep_until(window_ends) => "resume window over",
                _ = stopped.changed() => "stopped while waiting to be resumed",
                _ = shutdown_requested(&mut shutdown) => "server shutting down",
            };
            // A Close while parked is a kick: the only one is a relogin elsewhere.
            let kicked = matches!(*stopped.borrow(), Some(Stop::Close { .. }));
            let ended = {
                let mut inner = this.inner.lock().unwrap();
                let now = Instant::now();
                inner.kicked.retain(|_, until| *until > now);
                match inner.parked.get(&token) {
                    Some(p) if p.generation == generation => {
                        if kicked {
                            inner.kicked.insert(token.clone(), window_ends);
                        }
                        inner.parked.remove(&token)
                    }
                    _ => None,
                }
            };
            if let Some(parked) = ended {
                end(*parked.session, why);
            }
        });
    }

    /// Takes the session of `token` over for a new connection: a parked one at once; a live
    /// one (its old connection not yet known to be lost) is stopped and taken once parked.
    /// Errors: `KICKOUT_BY_RELOGIN` (it was ended by a login elsewhere while parked),
    /// `CONNECTIONLOST` (no such session: ended, never existed).
    pub async fn take(&self, token: &str) -> Result<S, ErrorCode> {
        let deadline = tokio::time::Instant::now() + TAKE_OVER_WAIT;
        loop {
            // Registered before looking, so a park between the look and the wait wakes it.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut inner = self.inner.lock().unwrap();
                if let Some(parked) = inner.parked.remove(token) {
                    return Ok(*parked.session);
                }
                if inner.kicked.remove(token).is_some() {
                    return Err(ErrorCode::KickoutByRelogin);
                }
                match inner.live.get(token) {
                    Some(link) => link.stop(Stop::lost("resumed on another connection")),
                    None => return Err(ErrorCode::ConnectionLost),
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(ErrorCode::ConnectionLost);
            }
        }
    }
}
