//! One connection from accept to close, and the session it carries: [`connection`] (the
//! handshakes, the read loop, how it ends), [`routing`] (each request's checks and its one
//! route), [`replies`], [`login`], [`resume`] with [`resumable`] (sessions that outlive their
//! connection), the requests that need several services ([`meeting_requests`],
//! [`call_requests`], [`relay_requests`] with binary frames), [`heartbeat`], [`prelogin`]
//! (connections not logged in yet), and [`writer`] (the task that drains its outbound lanes,
//! woken by the socket only when a write waits for it: [`quiet_sink`]).

pub(crate) mod call_requests;
pub(crate) mod connection;
pub(crate) mod forwarding;
pub(crate) mod heartbeat;
pub(crate) mod json_depth;
pub(crate) mod login;
pub(crate) mod meeting_requests;
pub(crate) mod prelogin;
pub(crate) mod quiet_sink;
pub(crate) mod relay_requests;
pub(crate) mod replies;
pub(crate) mod resumable;
pub(crate) mod resume;
pub(crate) mod routing;
pub(crate) mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tracing::info;

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::{Outbox, SessionLink, Stop};
use crate::state::Shared;
use crate::throttle::TokenBucket;
use prelogin::Ticket;
pub(crate) use relay_requests::relay_media;
use resumable::Resumable;
use writer::Replay;

/// Where a session is in its life.
#[derive(Clone)]
pub(crate) enum Phase {
    /// Connected; the first request must be `hello`.
    AwaitHello,
    /// Hello done; waiting for a successful `login`.
    AwaitLogin,
    /// Logged in and registered in the directory.
    LoggedIn(SessionHandle),
}

/// The state of one session, shared by the read loop and the request handlers. It lives as
/// long as its connection, or longer when its client enabled resuming (see
/// [`resumable`]): then it may be parked and carried on by another connection.
pub(crate) struct Session {
    pub shared: Arc<Shared>,
    /// The sessions that may be resumed (this one too, once it enabled resuming).
    pub resumable: Arc<Resumable<Session>>,
    pub link: SessionLink,
    pub phase: Phase,
    /// Requests (text frames with an id) allowed (`limits.requests_per_sec`).
    pub requests: TokenBucket,
    /// Commands allowed (`limits.cmds_per_sec`).
    pub commands: TokenBucket,
    /// The outbound lanes the link fills, drained by the current connection's writer.
    pub outbox: Arc<tokio::sync::Mutex<Outbox>>,
    /// Text frames written and not yet acknowledged (resumable sessions).
    pub replay: Arc<std::sync::Mutex<Replay>>,
    /// Stop requests for this session (see [`SessionLink::stop`]).
    pub stop_rx: watch::Receiver<Option<Stop>>,
    /// Resuming, once enabled: the token and the window granted.
    pub resume: Option<(String, Duration)>,
    /// Whether the client's text frames are counted (from the one after `enable_resume`).
    pub counting: bool,
    /// The client's text frames counted.
    pub received: u64,
    /// A parked session this connection takes over (set by `resume`), with the frames to
    /// send again first.
    pub take_over: Option<(Box<Session>, Vec<Message>)>,
    /// Until logged in: this connection's place among those not logged in (see
    /// [`prelogin`]).
    pub prelogin: Option<Ticket>,
    /// Until logged in: when the connection is closed if it has not logged in by then.
    pub login_deadline: Instant,
}

impl Session {
    /// A session of another cluster node as this node serves its forwarded requests (see
    /// [`crate::cluster`]): its link is the mirror that reaches the real session, so its
    /// replies and the events it causes travel there. It has no connection: its outbox and
    /// stop signal are never used, and its requests were rate-limited where they arrived.
    pub(crate) fn delegate(shared: Arc<Shared>, handle: SessionHandle) -> Session {
        let (_, outbox, stop_rx) = SessionLink::with_limits(
            handle.session_id(),
            handle.peer(),
            crate::directory::outbound::LinkLimits::default(),
        );
        Session {
            shared,
            resumable: Arc::default(),
            link: handle.link().clone(),
            phase: Phase::LoggedIn(handle),
            requests: TokenBucket::new(u32::MAX, u32::MAX),
            commands: TokenBucket::new(u32::MAX, u32::MAX),
            outbox: Arc::new(tokio::sync::Mutex::new(outbox)),
            replay: Arc::new(std::sync::Mutex::new(writer::new_replay())),
            stop_rx,
            resume: None,
            counting: false,
            received: 0,
            take_over: None,
            prelogin: None,
            login_deadline: Instant::now(),
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.link.peer()
    }

    pub fn id(&self) -> u64 {
        self.link.id()
    }

    /// This connection asked to log in (or resume): from now on it no longer gives way to
    /// newer connections (see [`prelogin`]).
    pub(crate) fn logging_in(&self) {
        if let Some(ticket) = &self.prelogin {
            ticket.logging_in();
        }
    }

    /// Takes this session out of everything it is part of (once logged in: queues, calls,
    /// room, directory, relay), and forgets its resume token.
    pub(crate) fn go_offline(&mut self) {
        if let Some((token, _)) = &self.resume {
            self.resumable.forget(token);
        }
        if let Phase::LoggedIn(handle) = &self.phase {
            if take_offline(&self.shared, handle) {
                info!(
                    peer = %self.peer(),
                    session = self.id(),
                    tenant = handle.tenant(),
                    user = handle.user_id(),
                    "offline"
                );
            }
        }
    }
}

/// Takes a logged-in session out of everything it is part of here: it leaves its queue or
/// stops serving them (the agents and customers involved are told), then its calls end (the
/// other parties are told), then it leaves its room, then it goes offline, then its commands
/// and transfers end (after the directory: nothing new can be addressed to it any more).
/// Also run for a session of another cluster node that went offline or died. True if the
/// directory removed it.
pub(crate) fn take_offline(shared: &Shared, handle: &SessionHandle) -> bool {
    shared.queues.leave(handle);
    shared.calls.leave(&*shared.directory, handle);
    shared.rooms.leave(&*shared.directory, handle);
    if let Some(node) = &shared.cluster {
        node.forget_route(handle.session_id());
        node.forget_queue_use(handle.session_id());
    }
    let removed = shared
        .directory
        .remove(handle.tenant(), handle.user_id(), handle.session_id());
    shared.relay.leave(handle);
    shared.netdisk.leave(handle);
    removed
}
