//! The way into one session from anywhere in the server: a bounded queue of outbound
//! WebSocket messages, drained by the session's writer task, and a stop signal.
//!
//! Nothing ever waits on a session: sending never blocks. A full queue means the client is
//! not reading; that session is then ended instead of buffering without bound.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use crvideo_proto::ServerFrame;
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Frames a session may have queued for sending before it counts as not reading.
pub const OUTBOUND_CAPACITY: usize = 1024;

/// Identifies one connection for the server's lifetime (never reused).
pub type SessionId = u64;

pub(crate) type WsSink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// What the writer task is asked to do.
pub(crate) enum Outbound {
    /// Send this message.
    Message(Message),
    /// Send a Close frame and stop writing.
    Close(CloseFrame),
}

/// Why and how a session must end.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Send a WebSocket Close frame with this code and reason, then end.
    Close {
        code: CloseCode,
        reason: Cow<'static, str>,
    },
    /// Drop the connection without a closing handshake (peer gone, write failed, not reading).
    Abort { reason: Cow<'static, str> },
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
    stop: Arc<watch::Sender<Option<Stop>>>,
}

impl SessionLink {
    pub(crate) fn new(
        id: SessionId,
        peer: SocketAddr,
    ) -> (
        SessionLink,
        mpsc::Receiver<Outbound>,
        watch::Receiver<Option<Stop>>,
    ) {
        let (outbound, rx) = mpsc::channel(OUTBOUND_CAPACITY);
        let (stop, stop_rx) = watch::channel(None);
        let link = SessionLink {
            id,
            peer,
            outbound,
            stop: Arc::new(stop),
        };
        (link, rx, stop_rx)
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

    /// Queues the Close frame (the last thing the writer sends). False if the queue is full.
    pub(crate) fn queue_close(&self, frame: CloseFrame) -> bool {
        self.outbound.try_send(Outbound::Close(frame)).is_ok()
    }
}

/// The writer task: sends what is queued, batching what is ready before each flush. Returns
/// the sink after sending a Close frame (so the session can finish the closing handshake),
/// or `None` if writing failed (the session is told to stop).
pub(crate) async fn run_writer(
    mut sink: WsSink,
    mut rx: mpsc::Receiver<Outbound>,
    link: SessionLink,
) -> Option<WsSink> {
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(out) = next.take() {
            match out {
                Outbound::Message(message) => {
                    if let Err(e) = sink.feed(message).await {
                        return write_failed(&link, e);
                    }
                }
                Outbound::Close(frame) => {
                    if let Err(e) = sink.send(Message::Close(Some(frame))).await {
                        return write_failed(&link, e);
                    }
                    return Some(sink);
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = sink.flush().await {
            return write_failed(&link, e);
        }
    }
    Some(sink)
}

fn write_failed(link: &SessionLink, e: tokio_tungstenite::tungstenite::Error) -> Option<WsSink> {
    tracing::debug!(peer = %link.peer, session = link.id, "write failed: {e}");
    link.stop(Stop::abort(format!("write failed: {e}")));
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
}
