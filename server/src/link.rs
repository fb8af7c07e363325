//! The way into one session from anywhere in the server: two bounded queues of outbound
//! WebSocket messages, drained by the session's writer task, and a stop signal.
//!
//! The control lane carries replies, events and relayed commands; the bulk lane carries
//! relayed transfer chunks (and each transfer's end of data, which must follow its chunks).
//! The writer always sends what the control lane holds before the
//! next bulk frame, so a reply or a command is never stuck behind bulk data.
//!
//! Nothing ever waits on a session: sending never blocks. A full queue (either lane) means
//! the client is not reading; that session is then ended instead of buffering without bound.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crvideo_proto::ServerFrame;
use futures_util::stream::SplitSink;
use futures_util::{Sink, SinkExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Control frames a session may have queued for sending before it counts as not reading.
pub const OUTBOUND_CAPACITY: usize = 1024;

/// Bytes of bulk frames (relayed chunks) a session may have queued for sending before it
/// counts as not reading. A receiver whose outstanding credit, over all its incoming
/// transfers, stays within this is never dropped for it (the credit bounds what is in flight).
pub const BULK_CAPACITY_BYTES: usize = 16 << 20;

/// What one queued bulk frame costs beyond its bytes, so tiny frames count too.
const BULK_FRAME_OVERHEAD: usize = 64;

fn bulk_cost(message: &Message) -> usize {
    message.len() + BULK_FRAME_OVERHEAD
}

/// Identifies one connection for the server's lifetime (never reused).
pub type SessionId = u64;

pub(crate) type WsSink = SplitSink<WebSocketStream<crate::tls::Conn>, Message>;

/// What the writer task is asked to do.
pub(crate) enum Outbound {
    /// Send this message.
    Message(Message),
    /// Send a Close frame and stop writing.
    Close(CloseFrame),
    /// From here on, text frames are the session's resumable stream: counted and kept
    /// until the client acknowledges them (see [`Replay`]).
    StartCounting,
    /// Stop writing and give the sink back (the connection moves to another session).
    Release,
}

/// Text frames written to the client and not yet acknowledged (resumable sessions).
pub type Replay = crvideo_proto::replay::Replay<Message>;

/// Unacknowledged frames kept at most (clients acknowledge every heartbeat and every
/// [`crvideo_proto::RESUME_ACK_EVERY`] frames, so this is reached only by a stuck client).
pub const REPLAY_MAX_FRAMES: usize = 4096;
/// Unacknowledged bytes kept at most.
pub const REPLAY_MAX_BYTES: usize = 32 << 20;

/// An empty replay with the server's bounds.
pub fn new_replay() -> Replay {
    Replay::new(REPLAY_MAX_FRAMES, REPLAY_MAX_BYTES)
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

/// The receiving ends of a session's two lanes, drained by [`run_writer`].
pub(crate) struct Outbox {
    control: mpsc::Receiver<Outbound>,
    bulk: mpsc::UnboundedReceiver<Message>,
    /// Shared with the links: what the bulk lane holds (see [`BULK_CAPACITY_BYTES`]).
    bulk_bytes: Arc<AtomicUsize>,
}

impl Outbox {
    /// The next queued item without waiting: control frames first, then bulk ones.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Result<Outbound, mpsc::error::TryRecvError> {
        self.control.try_recv().or_else(|_| {
            let message = self.bulk.try_recv()?;
            Ok(self.took_bulk(message))
        })
    }

    /// The next item ready now, control first.
    fn ready(&mut self) -> Option<Outbound> {
        match self.control.try_recv() {
            Ok(out) => Some(out),
            Err(_) => {
                let message = self.bulk.try_recv().ok()?;
                Some(self.took_bulk(message))
            }
        }
    }

    /// Accounts for a frame taken from the bulk lane.
    fn took_bulk(&self, message: Message) -> Outbound {
        self.bulk_bytes
            .fetch_sub(bulk_cost(&message), Ordering::Relaxed);
        Outbound::Message(message)
    }
}

/// A message could not be queued: the session is ending or already gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionGone;

/// A cheap, cloneable handle to one connection's outbound side.
#[derive(Clone)]
pub struct SessionLink {
    id: SessionId,
    peer: SocketAddr,
    outbound: mpsc::Sender<Outbound>,
    bulk: mpsc::UnboundedSender<Message>,
    bulk_bytes: Arc<AtomicUsize>,
    stop: Arc<watch::Sender<Option<Stop>>>,
}

impl SessionLink {
    pub(crate) fn new(
        id: SessionId,
        peer: SocketAddr,
    ) -> (SessionLink, Outbox, watch::Receiver<Option<Stop>>) {
        let (outbound, control) = mpsc::channel(OUTBOUND_CAPACITY);
        // Unbounded as a channel, bounded in bytes by `bulk_bytes`.
        let (bulk, bulk_rx) = mpsc::unbounded_channel();
        let bulk_bytes = Arc::new(AtomicUsize::new(0));
        let (stop, stop_rx) = watch::channel(None);
        let link = SessionLink {
            id,
            peer,
            outbound,
            bulk,
            bulk_bytes: bulk_bytes.clone(),
            stop: Arc::new(stop),
        };
        let outbox = Outbox {
            control,
            bulk: bulk_rx,
            bulk_bytes,
        };
        (link, outbox, stop_rx)
    }

    pub fn id(&self) -> SessionId {
        self.id
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Queues a control frame for the client.
    pub fn send(&self, frame: &ServerFrame) -> Result<(), SessionGone> {
        self.send_message(Message::text(crvideo_proto::encode(frame)))
    }

    /// Queues a raw WebSocket message. A full queue ends the session (the client is not
    /// reading).
    pub fn send_message(&self, message: Message) -> Result<(), SessionGone> {
        match self.outbound.try_send(Outbound::Message(message)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    peer = %self.peer,
                    session = self.id,
                    "outbound queue full ({OUTBOUND_CAPACITY} frames): client not reading, dropping it"
                );
                self.stop(Stop::abort("client not reading"));
                Err(SessionGone)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SessionGone),
        }
    }

    /// Queues a bulk frame (a relayed chunk) in the bulk lane, sent after every queued
    /// control frame. A full lane ends the session (the client is not reading).
    pub fn send_bulk(&self, message: Message) -> Result<(), SessionGone> {
        let cost = bulk_cost(&message);
        let queued = self.bulk_bytes.fetch_add(cost, Ordering::Relaxed) + cost;
        if queued > BULK_CAPACITY_BYTES {
            self.bulk_bytes.fetch_sub(cost, Ordering::Relaxed);
            tracing::warn!(
                peer = %self.peer,
                session = self.id,
                "bulk queue full ({BULK_CAPACITY_BYTES} bytes): client not reading, dropping it"
            );
            self.stop(Stop::abort("client not reading"));
            return Err(SessionGone);
        }
        self.bulk.send(message).map_err(|_| {
            self.bulk_bytes.fetch_sub(cost, Ordering::Relaxed);
            SessionGone
        })
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

    /// Queues the Close frame (the last thing the writer sends). False if the queue is full.
    pub(crate) fn queue_close(&self, frame: CloseFrame) -> bool {
        self.outbound.try_send(Outbound::Close(frame)).is_ok()
    }

    /// Queues the start of the resumable stream (after the reply that enabled it).
    pub(crate) fn queue_start_counting(&self) -> bool {
        self.outbound.try_send(Outbound::StartCounting).is_ok()
    }

    /// Queues the release of the writer's sink (after what is queued before it).
    pub(crate) fn queue_release(&self) -> bool {
        self.outbound.try_send(Outbound::Release).is_ok()
    }
}

/// The writer task: first `resend` (frames the client missed when it resumes), then what is
/// queued, control frames before bulk ones, batching what is ready before each flush. Each
/// text frame is recorded in `replay` before it is written. Returns the sink after sending
/// a Close frame (so the session can finish the closing handshake) or on `Release`, or
/// `None` if writing failed (the session is told to stop).
pub(crate) async fn run_writer<S, O>(
    mut sink: S,
    mut outbox: O,
    link: SessionLink,
    replay: Arc<std::sync::Mutex<Replay>>,
    resend: Vec<Message>,
) -> Option<S>
where
    S: Sink<Message, Error = WsError> + Unpin,
    O: std::ops::DerefMut<Target = Outbox>,
{
    if !resend.is_empty() {
        for message in resend {
            if let Err(e) = sink.feed(message).await {
                return write_failed(&link, e);
            }
        }
        // Out now, not with whatever is written next (maybe a heartbeat later).
        if let Err(e) = sink.flush().await {
            return write_failed(&link, e);
        }
    }
    let outbox = &mut *outbox;
    let mut bulk_open = true;
    loop {
        let first = tokio::select! {
            biased;
            control = outbox.control.recv() => match control {
                Some(out) => out,
                None => return Some(sink),
            },
            bulk = outbox.bulk.recv(), if bulk_open => match bulk {
                Some(message) => outbox.took_bulk(message),
                None => {
                    bulk_open = false;
                    continue;
                }
            },
        };
        let mut next = Some(first);
        while let Some(out) = next.take() {
            match out {
                Outbound::Message(message) => {
                    if message.is_text() {
                        replay.lock().unwrap().record(&message, message.len());
                    }
                    if let Err(e) = sink.feed(message).await {
                        return write_failed(&link, e);
                    }
                }
                Outbound::StartCounting => replay.lock().unwrap().start_counting(),
                Outbound::Release => {
                    if let Err(e) = sink.flush().await {
                        return write_failed(&link, e);
                    }
                    return Some(sink);
                }
                Outbound::Close(frame) => {
                    if let Err(e) = sink.send(Message::Close(Some(frame))).await {
                        return write_failed(&link, e);
                    }
                    return Some(sink);
                }
            }
            next = outbox.ready();
        }
        if let Err(e) = sink.flush().await {
            return write_failed(&link, e);
        }
    }
}

fn write_failed<S>(link: &SessionLink, e: WsError) -> Option<S> {
    tracing::debug!(peer = %link.peer, session = link.id, "write failed: {e}");
    link.stop(Stop::lost(format!("write failed: {e}")));
    None
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
        assert_eq!(sent, BULK_CAPACITY_BYTES / BULK_FRAME_OVERHEAD);
        assert!(stop.borrow().is_some());
    }

    /// A sink that records what it is sent and lets the test act on each message.
    struct Recorder<F: FnMut(&Message)> {
        sent: Vec<Message>,
        on_send: F,
    }

    impl<F: FnMut(&Message) + Unpin> Sink<Message> for Recorder<F> {
        type Error = WsError;

        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), WsError>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn start_send(self: std::pin::Pin<&mut Self>, item: Message) -> Result<(), WsError> {
            let this = self.get_mut();
            (this.on_send)(&item);
            this.sent.push(item);
            Ok(())
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), WsError>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), WsError>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    fn labels(sent: &[Message]) -> Vec<String> {
        sent.iter()
            .map(|m| match m {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => format!("b{}", b[0]),
                Message::Close(_) => "close".into(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn control_frames_overtake_queued_bulk_frames() {
        let (link, outbox, _stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        for i in 0..3u8 {
            link.send_bulk(Message::binary(vec![i])).unwrap();
        }
        link.send_message(Message::text("c0")).unwrap();
        // A control frame queued while bulk frames wait is the next frame written.
        let during = link.clone();
        let mut pushed = false;
        let sink = Recorder {
            sent: Vec::new(),
            on_send: move |m: &Message| {
                if !pushed && m.is_binary() {
                    pushed = true;
                    during.send_message(Message::text("c1")).unwrap();
                }
            },
        };
        link.queue_close(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        });
        let sink = run_writer(
            sink,
            Box::new(outbox),
            link.clone(),
            Arc::new(new_replay().into()),
            Vec::new(),
        )
        .await
        .unwrap();
        let sent = labels(&sink.sent);
        // The Close frame was queued in the control lane before c1, so the writer stops
        // there: bulk frames still queued are not sent after a Close.
        assert_eq!(sent, vec!["c0", "close"]);

        let (link, outbox, _stop) = SessionLink::new(2, "127.0.0.1:1".parse().unwrap());
        for i in 0..3u8 {
            link.send_bulk(Message::binary(vec![i])).unwrap();
        }
        link.send_message(Message::text("c0")).unwrap();
        let during = link.clone();
        let mut seen = 0;
        let sink = Recorder {
            sent: Vec::new(),
            on_send: move |m: &Message| {
                if m.is_binary() {
                    seen += 1;
                    if seen == 1 {
                        during.send_message(Message::text("c1")).unwrap();
                    }
                    if seen == 3 {
                        during.queue_close(CloseFrame {
                            code: CloseCode::Normal,
                            reason: "".into(),
                        });
                    }
                }
            },
        };
        let sink = run_writer(
            sink,
            Box::new(outbox),
            link.clone(),
            Arc::new(new_replay().into()),
            Vec::new(),
        )
        .await
        .unwrap();
        let sent = labels(&sink.sent);
        assert_eq!(sent, vec!["c0", "b0", "c1", "b1", "b2", "close"]);
    }
}
