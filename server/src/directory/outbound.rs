//! The way into one session from anywhere in the server: three outbound lanes of WebSocket
//! messages, drained by the session's writer task, and a stop signal.
//!
//! The control lane carries replies, events and relayed commands; the media lane relayed
//! video frames; the bulk lane relayed transfer chunks (and each transfer's end of data,
//! which must follow its chunks). The writer always sends what the control lane holds
//! first, then media, then bulk, so a reply or a command is never stuck behind data and a
//! video frame never waits behind a file.
//!
//! The media lane is the one lane that loses frames instead of ending the session: over
//! [`MEDIA_CAPACITY_BYTES`] a frame is refused ([`MediaSent::Dropped`]) and the relay skips
//! that receiver's frames up to the next key frame. Audio packets share the lane but wait
//! in it at most [`AUDIO_MAX_WAIT`]: a receiver behind on video loses the older ones (its
//! SDK conceals them) rather than hearing everyone late.
//!
//! Nothing ever waits on a session: sending never blocks, and it comes last in the server's
//! lock order (see the [crate] documentation), so any lock may be held while sending. Both
//! lanes are bounded, and the control lane counts two kinds of frames apart:
//!
//! - **Pushed** frames (events, relayed commands, pings: what others cause) are bounded per
//!   session in frames ([`OUTBOUND_CAPACITY`]) and bytes (`limits.max_outbound_bytes`), and
//!   per tenant in bytes (`limits.max_tenant_outbound_bytes`, see [`TenantBudget`]). Over a
//!   bound the client is not reading: the session is ended instead of buffering more.
//! - **Replies** to the client's own requests never end its session. They are bounded by the
//!   session's read loop instead, which reads no further request while the replies queued
//!   reach [`REPLY_WINDOW_FRAMES`] or [`REPLY_WINDOW_BYTES`] (see
//!   [`SessionLink::replies_backlogged`]); what arrives later, after the request was read
//!   (a command's acknowledgement), is bounded by the commands a session may have in flight.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crvideo_proto::ServerFrame;
use tokio::sync::{mpsc, watch, Notify};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Pushed control frames a session may have queued for sending before it counts as not
/// reading.
pub const OUTBOUND_CAPACITY: usize = 1024;

/// Replies queued at which the session's read loop stops reading requests until the client
/// has taken some (see [`SessionLink::replies_backlogged`]).
pub const REPLY_WINDOW_FRAMES: usize = 256;
/// Bytes of replies queued at which the read loop stops reading requests. One reply may be
/// larger (a meeting's whole whiteboard state); it is queued, then reading waits for it.
pub const REPLY_WINDOW_BYTES: usize = 4 << 20;

/// A session's share of its tenant's budget that it may always use: a session holding less
/// than this is never ended because the tenant's budget is spent (the sessions holding more
/// are the ones not reading).
pub const TENANT_FAIR_SHARE_BYTES: usize = 1 << 20;

/// Bytes of bulk frames (relayed chunks) a session may have queued for sending before it
/// counts as not reading. A receiver whose outstanding credit, over all its incoming
/// transfers, stays within this is never dropped for it (the credit bounds what is in flight).
pub const BULK_CAPACITY_BYTES: usize = 16 << 20;

/// Bytes of video frames a session may have queued: about a second of a 720p camera at a
/// generous bitrate. A receiver behind by more loses frames (see [`MediaSent::Dropped`]).
pub const MEDIA_CAPACITY_BYTES: usize = 2 << 20;

/// Longest an audio packet waits in a media lane; an older one is dropped when the writer
/// comes to it.
pub const AUDIO_MAX_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// A frame in the media lane, and for an audio packet when it goes stale.
struct MediaItem {
    message: Message,
    stale_at: Option<tokio::time::Instant>,
}

/// What became of a video frame offered to a session's media lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaSent {
    Queued,
    /// The lane is full: the frame was dropped (the session goes on).
    Dropped,
}

/// What one queued frame costs beyond its bytes, so tiny frames count too.
const FRAME_OVERHEAD: usize = 64;

fn cost(message: &Message) -> usize {
    message.len() + FRAME_OVERHEAD
}

/// The bounds of a session's control lane (from the config's `[limits]`).
#[derive(Debug, Clone, Copy)]
pub struct LinkLimits {
    /// Bytes of pushed control frames one session may have queued.
    pub max_outbound_bytes: usize,
}

impl Default for LinkLimits {
    fn default() -> LinkLimits {
        LinkLimits {
            max_outbound_bytes: crate::config::Limits::default().max_outbound_bytes,
        }
    }
}

/// Bytes of pushed control frames queued over all sessions of one tenant, and the most
/// allowed. Over it, a session holding more than [`TENANT_FAIR_SHARE_BYTES`] is ended when
/// one more frame is pushed to it.
#[derive(Debug)]
pub struct TenantBudget {
    queued: AtomicUsize,
    max: usize,
}

impl TenantBudget {
    pub fn new(max: usize) -> TenantBudget {
        TenantBudget {
            queued: AtomicUsize::new(0),
            max,
        }
    }

    /// Bytes queued now over the tenant's sessions.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

/// What a session has queued for sending, in bytes (each frame counted with a small
/// overhead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueuedBytes {
    /// Replies to its requests.
    pub replies: usize,
    /// Events, relayed commands, pings.
    pub pushed: usize,
    /// Relayed transfer chunks.
    pub bulk: usize,
    /// Relayed video frames.
    pub media: usize,
}

/// What a control frame is, for the lane's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A reply to one of the client's requests.
    Reply,
    /// Anything else sent to the client; `tenant`: also counted in the tenant's budget.
    Pushed { tenant: bool },
    /// Close, release, start counting: the session's own housekeeping, not bounded.
    Internal,
}

/// The counters of one session's queues, shared by its links and its writer.
#[derive(Debug, Default)]
struct Queued {
    reply_frames: AtomicUsize,
    reply_bytes: AtomicUsize,
    pushed_frames: AtomicUsize,
    pushed_bytes: AtomicUsize,
    bulk_bytes: AtomicUsize,
    media_bytes: AtomicUsize,
    /// The tenant's budget, once logged in.
    tenant: OnceLock<Arc<TenantBudget>>,
    /// Signalled when the writer takes a reply (see [`SessionLink::replies_drained`]).
    replies_taken: Notify,
}

impl Queued {
    /// Accounts for a control frame taken by the writer.
    fn took(&self, kind: Kind, cost: usize) {
        match kind {
            Kind::Reply => {
                self.reply_frames.fetch_sub(1, Ordering::Relaxed);
                self.reply_bytes.fetch_sub(cost, Ordering::Relaxed);
                self.replies_taken.notify_one();
            }
            Kind::Pushed { tenant } => {
                self.pushed_frames.fetch_sub(1, Ordering::Relaxed);
                self.pushed_bytes.fetch_sub(cost, Ordering::Relaxed);
                if let Some(budget) = self.tenant.get().filter(|_| tenant) {
                    budget.queued.fetch_sub(cost, Ordering::Relaxed);
                }
            }
            Kind::Internal => {}
        }
    }
}

/// One item of the control lane, with what it was counted as.
struct Control {
    out: Outbound,
    kind: Kind,
    cost: usize,
}

/// Identifies one connection for the server's lifetime (never reused; in a cluster, unique
/// across its nodes: see [`crate::cluster`]).
pub type SessionId = u64;

/// Which of [`SessionLink`]'s sending methods a message is for (a cluster node sends a
/// remote session's messages to its node with it: see `crate::cluster::mirror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// [`SessionLink::send_reply`].
    Reply,
    /// [`SessionLink::send_message`].
    Pushed,
    /// [`SessionLink::send_media`].
    Video,
    /// [`SessionLink::send_audio`].
    Audio,
    /// [`SessionLink::send_bulk`].
    Bulk,
}

impl SessionLink {
    /// Queues `message` as it was queued in `lane` of another link.
    pub fn send_in_lane(&self, lane: Lane, message: Message) -> Result<(), SessionGone> {
        match lane {
            Lane::Reply => self.send_reply(message),
            Lane::Pushed => self.send_message(message),
            Lane::Video => self.send_media(message).map(drop),
            Lane::Audio => self.send_audio(message).map(drop),
            Lane::Bulk => self.send_bulk(message),
        }
    }
}

/// What the writer task is asked to do.
pub(crate) enum Outbound {
    /// Send this message.
    Message(Message),
    /// Send a Close frame and stop writing.
    Close(CloseFrame),
    /// From here on, text frames are the session's resumable stream: counted and kept
    /// until the client acknowledges them (see [`crate::session::writer::Replay`]).
    StartCounting,
    /// Stop writing and give the sink back (the connection moves to another session).
    Release,
}

/// Why and how a session must end.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Send a WebSocket Close frame with this code and reason, then end.
    Close {
        code: CloseCode,
        reason: Cow<'static, str>,
    },
    /// Drop the connection without a closing handshake (not reading, protocol trouble).
    Abort { reason: Cow<'static, str> },
    /// The connection is gone (closed, broken, silent, write failed): drop it; a session
    /// that enabled resuming waits for its client to come back.
    Lost { reason: Cow<'static, str> },
}

impl Stop {
    pub fn close(code: CloseCode, reason: impl Into<Cow<'static, str>>) -> Stop {
        Stop::Close {
            code,
            reason: reason.into(),
        }
    }

    pub fn abort(reason: impl Into<Cow<'static, str>>) -> Stop {
        Stop::Abort {
            reason: reason.into(),
        }
    }

    pub fn lost(reason: impl Into<Cow<'static, str>>) -> Stop {
        Stop::Lost {
            reason: reason.into(),
        }
    }
}

/// The receiving ends of a session's two lanes, drained by the session's writer (see
/// [`crate::session::writer`]).
pub(crate) struct Outbox {
    control: mpsc::UnboundedReceiver<Control>,
    media: mpsc::UnboundedReceiver<MediaItem>,
    bulk: mpsc::UnboundedReceiver<Message>,
    /// Shared with the links: what the lanes hold.
    queued: Arc<Queued>,
    /// False once every sender of the bulk lane is gone.
    bulk_open: bool,
    /// False once every sender of the media lane is gone.
    media_open: bool,
}

impl Outbox {
    /// The next item, waiting for one: control frames, then media, then bulk ones. None
    /// once the control lane is closed (every link is gone).
    pub(crate) async fn next(&mut self) -> Option<Outbound> {
        loop {
            tokio::select! {
                biased;
                control = self.control.recv() => return control.map(|c| self.took_control(c)),
                media = self.media.recv(), if self.media_open => match media {
                    Some(item) => match self.took_media(item) {
                        Some(out) => return Some(out),
                        None => continue, // a stale audio packet
                    },
                    None => self.media_open = false,
                },
                bulk = self.bulk.recv(), if self.bulk_open => match bulk {
                    Some(message) => return Some(self.took_bulk(message)),
                    None => self.bulk_open = false,
                },
            }
        }
    }

    /// The next queued item without waiting: control frames first, then media, then bulk.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Result<Outbound, mpsc::error::TryRecvError> {
        self.ready().ok_or(mpsc::error::TryRecvError::Empty)
    }

    /// The next item ready now, control first, then media, then bulk.
    pub(crate) fn ready(&mut self) -> Option<Outbound> {
        if let Ok(control) = self.control.try_recv() {
            return Some(self.took_control(control));
        }
        while let Ok(item) = self.media.try_recv() {
            if let Some(out) = self.took_media(item) {
                return Some(out);
            }
        }
        let message = self.bulk.try_recv().ok()?;
        Some(self.took_bulk(message))
    }

    /// Accounts for a frame taken from the media lane: None for an audio packet gone
    /// stale.
    fn took_media(&self, item: MediaItem) -> Option<Outbound> {
        self.queued
            .media_bytes
            .fetch_sub(cost(&item.message), Ordering::Relaxed);
        let stale = item
            .stale_at
            .is_some_and(|t| t <= tokio::time::Instant::now());
        (!stale).then_some(Outbound::Message(item.message))
    }

    /// Accounts for an item taken from the control lane.
    fn took_control(&self, control: Control) -> Outbound {
        self.queued.took(control.kind, control.cost);
        control.out
    }

    /// Accounts for a frame taken from the bulk lane.
    fn took_bulk(&self, message: Message) -> Outbound {
        self.queued
            .bulk_bytes
            .fetch_sub(cost(&message), Ordering::Relaxed);
        Outbound::Message(message)
    }
}

/// A message could not be queued: the session is ending or already gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionGone;

/// Where a link to a session of another cluster node sends (see `crate::cluster::mirror`):
/// the node that holds the session queues each message in the same lane there.
pub trait RemoteSink: Send + Sync {
    fn deliver(&self, session: SessionId, lane: Lane, message: Message);
    fn stop(&self, session: SessionId, stop: &Stop);
}

/// A cheap, cloneable handle to one session's outbound side: the lanes of a connection of
/// this process, or (in a cluster) a session of another node, reached through its node.
#[derive(Clone)]
pub struct SessionLink(Inner);

#[derive(Clone)]
enum Inner {
    Local(LocalLink),
    Remote {
        id: SessionId,
        sink: Arc<dyn RemoteSink>,
    },
}

/// The lanes of a connection of this process, and its stop signal.
#[derive(Clone)]
struct LocalLink {
    id: SessionId,
    peer: SocketAddr,
    control: mpsc::UnboundedSender<Control>,
    media: mpsc::UnboundedSender<MediaItem>,
    bulk: mpsc::UnboundedSender<Message>,
    queued: Arc<Queued>,
    limits: LinkLimits,
    stop: Arc<watch::Sender<Option<Stop>>>,
}

/// What a remote link answers where a local one would tell about its lanes.
fn remote_peer() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

impl SessionLink {
    /// A link to session `id` of another cluster node, through `sink` (no lanes here: what
    /// is sent goes to the node at once, and its bounds apply there).
    pub fn remote(id: SessionId, sink: Arc<dyn RemoteSink>) -> SessionLink {
        SessionLink(Inner::Remote { id, sink })
    }

    /// Whether this link reaches a session of another node.
    pub fn is_remote(&self) -> bool {
        matches!(self.0, Inner::Remote { .. })
    }

    /// A link with the default [`LinkLimits`].
    #[cfg(test)]
    pub(crate) fn new(
        id: SessionId,
        peer: SocketAddr,
    ) -> (SessionLink, Outbox, watch::Receiver<Option<Stop>>) {
        SessionLink::with_limits(id, peer, LinkLimits::default())
    }

    pub(crate) fn with_limits(
        id: SessionId,
        peer: SocketAddr,
        limits: LinkLimits,
    ) -> (SessionLink, Outbox, watch::Receiver<Option<Stop>>) {
        // Unbounded as channels, bounded by the counters in `queued`.
        let (control, control_rx) = mpsc::unbounded_channel();
        let (bulk, bulk_rx) = mpsc::unbounded_channel();
        let (media, media_rx) = mpsc::unbounded_channel();
        let queued = Arc::new(Queued::default());
        let (stop, stop_rx) = watch::channel(None);
        let link = SessionLink(Inner::Local(LocalLink {
            id,
            peer,
            control,
            media,
            bulk,
            queued: queued.clone(),
            limits,
            stop: Arc::new(stop),
        }));
        let outbox = Outbox {
            control: control_rx,
            media: media_rx,
            bulk: bulk_rx,
            queued,
            bulk_open: true,
            media_open: true,
        };
        (link, outbox, stop_rx)
    }

    pub fn id(&self) -> SessionId {
        match &self.0 {
            Inner::Local(l) => l.id,
            Inner::Remote { id, .. } => *id,
        }
    }

    /// The client's address (unspecified for a session of another node).
    pub fn peer(&self) -> SocketAddr {
        match &self.0 {
            Inner::Local(l) => l.peer,
            Inner::Remote { .. } => remote_peer(),
        }
    }

    fn local(&self) -> Option<&LocalLink> {
        match &self.0 {
            Inner::Local(l) => Some(l),
            Inner::Remote { .. } => None,
        }
    }

    /// From now on, what is pushed to this session also counts in `budget` (its tenant's;
    /// set once, at login).
    pub(crate) fn join_tenant(&self, budget: Arc<TenantBudget>) {
        if let Some(l) = self.local() {
            l.join_tenant(budget)
        }
    }

    /// Queues a control frame for the client: a reply if it is one, else a pushed frame.
    pub fn send(&self, frame: &ServerFrame) -> Result<(), SessionGone> {
        let message = Message::text(crvideo_proto::encode(frame));
        match frame {
            ServerFrame::Reply(_) => self.send_reply(message),
            _ => self.send_message(message),
        }
    }

    /// Queues a reply to one of the client's requests (see `LocalLink::send_reply`).
    pub fn send_reply(&self, message: Message) -> Result<(), SessionGone> {
        match &self.0 {
            Inner::Local(l) => l.send_reply(message),
            Inner::Remote { id, sink } => {
                sink.deliver(*id, Lane::Reply, message);
                Ok(())
            }
        }
    }

    /// Queues a pushed message in the control lane (see `LocalLink::send_message`).
    pub fn send_message(&self, message: Message) -> Result<(), SessionGone> {
        match &self.0 {
            Inner::Local(l) => l.send_message(message),
            Inner::Remote { id, sink } => {
                sink.deliver(*id, Lane::Pushed, message);
                Ok(())
            }
        }
    }

    /// What this session has queued for sending (nothing here for a remote one).
    pub fn queued_bytes(&self) -> QueuedBytes {
        match &self.0 {
            Inner::Local(l) => l.queued_bytes(),
            Inner::Remote { .. } => QueuedBytes::default(),
        }
    }

    pub(crate) fn replies_backlogged(&self) -> bool {
        self.local().is_some_and(LocalLink::replies_backlogged)
    }

    pub(crate) async fn replies_drained(&self) {
        if let Some(l) = self.local() {
            l.replies_drained().await
        }
    }

    /// Queues a bulk frame (see `LocalLink::send_bulk`).
    pub fn send_bulk(&self, message: Message) -> Result<(), SessionGone> {
        match &self.0 {
            Inner::Local(l) => l.send_bulk(message),
            Inner::Remote { id, sink } => {
                sink.deliver(*id, Lane::Bulk, message);
                Ok(())
            }
        }
    }

    /// Queues a video frame (see `LocalLink::send_media`); a remote session's node
    /// decides whether it is dropped.
    pub fn send_media(&self, message: Message) -> Result<MediaSent, SessionGone> {
        match &self.0 {
            Inner::Local(l) => l.send_media(message),
            Inner::Remote { id, sink } => {
                sink.deliver(*id, Lane::Video, message);
                Ok(MediaSent::Queued)
            }
        }
    }

    /// Queues an audio packet (see `LocalLink::send_audio`).
    pub fn send_audio(&self, message: Message) -> Result<MediaSent, SessionGone> {
        match &self.0 {
            Inner::Local(l) => l.send_audio(message),
            Inner::Remote { id, sink } => {
                sink.deliver(*id, Lane::Audio, message);
                Ok(MediaSent::Queued)
            }
        }
    }

    /// Asks the session to end. The first request wins; later ones are ignored.
    pub fn stop(&self, stop: Stop) {
        match &self.0 {
            Inner::Local(l) => l.stop(stop),
            Inner::Remote { id, sink } => sink.stop(*id, &stop),
        }
    }

    pub(crate) fn clear_stop(&self) {
        if let Some(l) = self.local() {
            l.clear_stop()
        }
    }

    pub(crate) fn queue_close(&self, frame: CloseFrame) -> bool {
        self.local().is_some_and(|l| l.queue_close(frame))
    }

    pub(crate) fn queue_start_counting(&self) -> bool {
        self.local().is_some_and(LocalLink::queue_start_counting)
    }

    pub(crate) fn queue_release(&self) -> bool {
        self.local().is_some_and(LocalLink::queue_release)
    }
}

impl LocalLink {
    /// From now on, what is pushed to this session also counts in `budget` (its tenant's;
    /// set once, at login).
    pub(crate) fn join_tenant(&self, budget: Arc<TenantBudget>) {
        let _ = self.queued.tenant.set(budget);
    }

    /// Queues a reply to one of the client's requests. Never ends the session (see the
    /// module's notes on how replies are bounded).
    pub fn send_reply(&self, message: Message) -> Result<(), SessionGone> {
        let cost = cost(&message);
        self.queued.reply_frames.fetch_add(1, Ordering::Relaxed);
        self.queued.reply_bytes.fetch_add(cost, Ordering::Relaxed);
        self.queue(Outbound::Message(message), Kind::Reply, cost)
    }

    /// Queues a pushed message in the control lane. Over the session's or the tenant's bound
    /// the client is not reading: the session is ended.
    pub fn send_message(&self, message: Message) -> Result<(), SessionGone> {
        let cost = cost(&message);
        let q = &self.queued;
        let frames = q.pushed_frames.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = q.pushed_bytes.fetch_add(cost, Ordering::Relaxed) + cost;
        let tenant = q.tenant.get();
        let tenant_total = tenant.map_or(0, |t| t.queued.fetch_add(cost, Ordering::Relaxed) + cost);
        let over = if frames > OUTBOUND_CAPACITY {
            Some(format!("{OUTBOUND_CAPACITY} frames"))
        } else if bytes > self.limits.max_outbound_bytes {
            Some(format!("{} bytes", self.limits.max_outbound_bytes))
        } else if tenant.is_some_and(|t| tenant_total > t.max) && bytes > TENANT_FAIR_SHARE_BYTES {
            Some("its tenant's budget".to_owned())
        } else {
            None
        };
        let kind = Kind::Pushed {
            tenant: tenant.is_some(),
        };
        if let Some(over) = over {
            q.took(kind, cost);
            tracing::warn!(
                peer = %self.peer,
                session = self.id,
                "outbound queue over {over}: client not reading, dropping it"
            );
            self.stop(Stop::abort("client not reading"));
            return Err(SessionGone);
        }
        self.queue(Outbound::Message(message), kind, cost)
    }

    fn queue(&self, out: Outbound, kind: Kind, cost: usize) -> Result<(), SessionGone> {
        self.control
            .send(Control { out, kind, cost })
            .map_err(|unsent| {
                self.queued.took(kind, unsent.0.cost);
                SessionGone
            })
    }

    /// What this session has queued for sending.
    pub fn queued_bytes(&self) -> QueuedBytes {
        let q = &self.queued;
        QueuedBytes {
            replies: q.reply_bytes.load(Ordering::Relaxed),
            pushed: q.pushed_bytes.load(Ordering::Relaxed),
            bulk: q.bulk_bytes.load(Ordering::Relaxed),
            media: q.media_bytes.load(Ordering::Relaxed),
        }
    }

    /// Whether the replies queued for this session reached the reply window: its read loop
    /// then reads no further request until [`SessionLink::replies_drained`].
    pub(crate) fn replies_backlogged(&self) -> bool {
        self.queued.reply_frames.load(Ordering::Relaxed) >= REPLY_WINDOW_FRAMES
            || self.queued.reply_bytes.load(Ordering::Relaxed) >= REPLY_WINDOW_BYTES
    }

    /// Completes when the writer has taken a reply since the last call (check
    /// [`SessionLink::replies_backlogged`] again).
    pub(crate) async fn replies_drained(&self) {
        self.queued.replies_taken.notified().await
    }

    /// Queues a bulk frame (a relayed chunk) in the bulk lane, sent after every queued
    /// control frame. A full lane ends the session (the client is not reading).
    pub fn send_bulk(&self, message: Message) -> Result<(), SessionGone> {
        let cost = cost(&message);
        let bulk_bytes = &self.queued.bulk_bytes;
        let queued = bulk_bytes.fetch_add(cost, Ordering::Relaxed) + cost;
        if queued > BULK_CAPACITY_BYTES {
            bulk_bytes.fetch_sub(cost, Ordering::Relaxed);
            tracing::warn!(
                peer = %self.peer,
                session = self.id,
                "bulk queue full ({BULK_CAPACITY_BYTES} bytes): client not reading, dropping it"
            );
            self.stop(Stop::abort("client not reading"));
            return Err(SessionGone);
        }
        self.bulk.send(message).map_err(|_| {
            bulk_bytes.fetch_sub(cost, Ordering::Relaxed);
            SessionGone
        })
    }

    /// Queues a video frame in the media lane, sent after the queued control frames and
    /// before bulk ones. Over [`MEDIA_CAPACITY_BYTES`] the frame is dropped instead: the
    /// client is slow, and loses frames rather than its session or others' quality.
    pub fn send_media(&self, message: Message) -> Result<MediaSent, SessionGone> {
        self.queue_media(message, None)
    }

    /// Queues an audio packet in the media lane, as [`SessionLink::send_media`]; one that
    /// waited [`AUDIO_MAX_WAIT`] is dropped when the writer comes to it.
    pub fn send_audio(&self, message: Message) -> Result<MediaSent, SessionGone> {
        let stale_at = tokio::time::Instant::now() + AUDIO_MAX_WAIT;
        self.queue_media(message, Some(stale_at))
    }

    fn queue_media(
        &self,
        message: Message,
        stale_at: Option<tokio::time::Instant>,
    ) -> Result<MediaSent, SessionGone> {
        let cost = cost(&message);
        let media_bytes = &self.queued.media_bytes;
        if media_bytes.fetch_add(cost, Ordering::Relaxed) + cost > MEDIA_CAPACITY_BYTES {
            media_bytes.fetch_sub(cost, Ordering::Relaxed);
            return Ok(MediaSent::Dropped);
        }
        match self.media.send(MediaItem { message, stale_at }) {
            Ok(()) => Ok(MediaSent::Queued),
            Err(_) => {
                media_bytes.fetch_sub(cost, Ordering::Relaxed);
                Err(SessionGone)
            }
        }
    }

    /// Asks the session to end. The first request wins; later ones are ignored.
    pub fn stop(&self, stop: Stop) {
        self.stop.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(stop);
                true
            } else {
                false
            }
        });
    }

    /// Forgets a stop request (the session is parked or resumed: the stop that lost its
    /// connection is spent), so that the next one counts.
    pub(crate) fn clear_stop(&self) {
        self.stop.send_replace(None);
    }

    /// Queues the Close frame (the last thing the writer sends). False if the session is
    /// gone or not reading (over a bound: it is dropped without a goodbye).
    pub(crate) fn queue_close(&self, frame: CloseFrame) -> bool {
        !self.over_a_bound()
            && self
                .queue(Outbound::Close(frame), Kind::Internal, 0)
                .is_ok()
    }

    /// Whether the pushed frames queued are at a bound (the client is not reading).
    fn over_a_bound(&self) -> bool {
        self.queued.pushed_frames.load(Ordering::Relaxed) >= OUTBOUND_CAPACITY
            || self.queued.pushed_bytes.load(Ordering::Relaxed) >= self.limits.max_outbound_bytes
    }

    /// Queues the start of the resumable stream (after the reply that enabled it).
    pub(crate) fn queue_start_counting(&self) -> bool {
        self.queue(Outbound::StartCounting, Kind::Internal, 0)
            .is_ok()
    }

    /// Queues the release of the writer's sink (after what is queued before it).
    pub(crate) fn queue_release(&self) -> bool {
        self.queue(Outbound::Release, Kind::Internal, 0).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_stops_the_session() {
        let (link, _rx, stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        for _ in 0..OUTBOUND_CAPACITY {
            link.send_message(Message::Ping(Default::default()))
                .unwrap();
        }
        assert!(stop.borrow().is_none());
        assert_eq!(
            link.send_message(Message::Ping(Default::default())),
            Err(SessionGone)
        );
        assert!(matches!(*stop.borrow(), Some(Stop::Abort { .. })));
        // The first stop request wins.
        link.stop(Stop::close(CloseCode::Normal, "later"));
        assert!(matches!(*stop.borrow(), Some(Stop::Abort { .. })));
        assert!(!link.queue_close(CloseFrame {
            code: CloseCode::Normal,
            reason: "x".into()
        }));
    }

    #[test]
    fn a_closed_session_reports_gone() {
        let (link, rx, _stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        drop(rx);
        assert_eq!(
            link.send(&ServerFrame::Event(crvideo_proto::Event::Kicked {
                code: 10
            })),
            Err(SessionGone)
        );
    }

    #[test]
    fn a_full_media_lane_drops_frames_and_keeps_the_session() {
        let (link, mut outbox, stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        let frame = || Message::binary(vec![0u8; MEDIA_CAPACITY_BYTES / 4]);
        let mut queued = 0;
        while link.send_media(frame()) == Ok(MediaSent::Queued) {
            queued += 1;
        }
        assert_eq!(
            queued, 3,
            "a quarter of the lane each, with the per-frame overhead"
        );
        assert!(stop.borrow().is_none(), "a slow receiver keeps its session");
        link.send(&ServerFrame::Event(crvideo_proto::Event::MeetingStopped))
            .unwrap();
        assert!(
            matches!(outbox.try_recv(), Ok(Outbound::Message(m)) if m.is_text()),
            "control frames go first"
        );
        assert!(matches!(outbox.try_recv(), Ok(Outbound::Message(m)) if m.is_binary()));
        assert_eq!(
            link.send_media(frame()),
            Ok(MediaSent::Queued),
            "room again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn audio_that_waited_too_long_in_the_media_lane_is_dropped() {
        let (link, mut outbox, _stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        let frame = |tag: u8| Message::binary(vec![tag; 80]);
        link.send_audio(frame(1)).unwrap();
        link.send_media(frame(2)).unwrap(); // video waits as long as the lane allows
        tokio::time::advance(AUDIO_MAX_WAIT + std::time::Duration::from_millis(1)).await;
        link.send_audio(frame(3)).unwrap();
        let tags: Vec<u8> = std::iter::from_fn(|| match outbox.try_recv() {
            Ok(Outbound::Message(m)) => Some(m.into_data()[0]),
            _ => None,
        })
        .collect();
        assert_eq!(
            tags,
            [2, 3],
            "the stale packet went, the fresh one and video stay"
        );
        assert_eq!(
            outbox.queued.media_bytes.load(Ordering::Relaxed),
            0,
            "all counted out"
        );
        // The waiting writer skips a stale packet too.
        link.send_audio(frame(4)).unwrap();
        tokio::time::advance(AUDIO_MAX_WAIT * 2).await;
        link.send_audio(frame(5)).unwrap();
        match outbox.next().await {
            Some(Outbound::Message(m)) => assert_eq!(m.into_data()[0], 5),
            _ => panic!("a frame"),
        }
    }

    #[test]
    fn a_full_bulk_lane_stops_the_session() {
        let (link, mut rx, stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        let quarter = || Message::binary(vec![2u8; BULK_CAPACITY_BYTES / 4]);
        for _ in 0..3 {
            link.send_bulk(quarter()).unwrap();
        }
        // What the writer took no longer counts.
        assert!(matches!(rx.try_recv(), Ok(Outbound::Message(_))));
        link.send_bulk(quarter()).unwrap();
        assert!(stop.borrow().is_none());
        assert_eq!(link.send_bulk(quarter()), Err(SessionGone));
        assert!(matches!(*stop.borrow(), Some(Stop::Abort { .. })));
        // Many tiny frames count too.
        let (link, _rx, stop) = SessionLink::new(2, "127.0.0.1:1".parse().unwrap());
        let mut sent = 0;
        while link.send_bulk(Message::binary(vec![])).is_ok() {
            sent += 1;
        }
        assert_eq!(sent, BULK_CAPACITY_BYTES / FRAME_OVERHEAD);
        assert!(stop.borrow().is_some());
    }

    #[test]
    fn pushed_bytes_are_bounded_too() {
        let limits = LinkLimits {
            max_outbound_bytes: 1 << 20,
        };
        let (link, _rx, stop) = SessionLink::with_limits(1, "127.0.0.1:1".parse().unwrap(), limits);
        // Commands of 51,200 bytes: the byte bound ends the session long before 1,024 frames.
        let command = || Message::binary(vec![7u8; crvideo_proto::MAX_CMD_BYTES]);
        let mut queued = 0;
        while link.send_message(command()).is_ok() {
            queued += 1;
        }
        assert_eq!(
            queued,
            (1 << 20) / (crvideo_proto::MAX_CMD_BYTES + FRAME_OVERHEAD)
        );
        assert!(matches!(*stop.borrow(), Some(Stop::Abort { .. })));
    }

    #[test]
    fn replies_never_end_the_session_and_hold_back_reading() {
        let (link, mut rx, stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        // Far more replies than any pushed bound, as when a dropped target's commands are
        // all answered at once: the session stays.
        for _ in 0..OUTBOUND_CAPACITY * 3 {
            link.send(&ServerFrame::Reply(crvideo_proto::Reply::ok(1, ())))
                .unwrap();
        }
        assert!(stop.borrow().is_none());
        assert!(link.replies_backlogged());
        // Pushed frames have their own bound, untouched by the replies.
        for _ in 0..OUTBOUND_CAPACITY {
            link.send_message(Message::Ping(Default::default()))
                .unwrap();
        }
        assert!(stop.borrow().is_none());
        // Reading resumes once the writer took replies below the window.
        let mut taken = 0;
        while link.replies_backlogged() {
            assert!(matches!(rx.try_recv(), Ok(Outbound::Message(_))));
            taken += 1;
        }
        assert_eq!(taken, OUTBOUND_CAPACITY * 3 - REPLY_WINDOW_FRAMES + 1);
    }

    #[test]
    fn a_spent_tenant_budget_ends_the_sessions_that_hold_the_most() {
        let budget = Arc::new(TenantBudget::new(3 * TENANT_FAIR_SHARE_BYTES));
        let limits = LinkLimits {
            max_outbound_bytes: 8 * TENANT_FAIR_SHARE_BYTES,
        };
        let peer = "127.0.0.1:1".parse().unwrap();
        let (slow, _slow_rx, slow_stop) = SessionLink::with_limits(1, peer, limits);
        let (reader, mut reader_rx, reader_stop) = SessionLink::with_limits(2, peer, limits);
        slow.join_tenant(budget.clone());
        reader.join_tenant(budget.clone());
        let chunk = || Message::binary(vec![0u8; 64 * 1024]);
        // The slow session fills the tenant's budget (within its own bound)...
        while slow.send_message(chunk()).is_ok() {}
        assert!(
            slow_stop.borrow().is_some(),
            "ended when over the tenant's budget"
        );
        assert!(budget.queued() <= 3 * TENANT_FAIR_SHARE_BYTES + chunk().len() + FRAME_OVERHEAD);
        // ...while a session that reads keeps getting frames even with the budget spent.
        for _ in 0..100 {
            reader.send_message(chunk()).unwrap();
            assert!(matches!(reader_rx.try_recv(), Ok(Outbound::Message(_))));
        }
        assert!(reader_stop.borrow().is_none());
        // Another session not reading is ended once past its fair share, far below its own
        // bound.
        let (hog, _hog_rx, hog_stop) = SessionLink::with_limits(3, peer, limits);
        hog.join_tenant(budget.clone());
        let mut queued = 0;
        while hog.send_message(chunk()).is_ok() {
            queued += 64 * 1024 + FRAME_OVERHEAD;
        }
        assert!(hog_stop.borrow().is_some());
        assert!(queued <= TENANT_FAIR_SHARE_BYTES + 64 * 1024, "{queued}");
    }
}
