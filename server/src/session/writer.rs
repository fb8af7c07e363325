//! The writer task of a session's connection: drains the session's outbound lanes (see
//! [`crate::directory::outbound`]) into the WebSocket, control frames first, and keeps what it
//! wrote for a resume (the [`Replay`]).

use std::sync::Arc;

use futures_util::stream::SplitSink;
use futures_util::{Sink, SinkExt};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::quiet_sink::QuietSink;
use crate::directory::outbound::{Outbound, Outbox, SessionLink, Stop};

/// The sending half of a session's WebSocket.
pub(crate) type WsSink = SplitSink<WebSocketStream<crate::tls::Conn>, Message>;

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

/// The writer task: first `resend` (frames the client missed when it resumes), then what is
/// queued, control frames before bulk ones, batching what is ready before each flush. Each
/// text frame is recorded in `replay` before it is written. Returns the sink after sending
/// a Close frame (so the session can finish the closing handshake) or on `Release`, or
/// `None` if writing failed (the session is told to stop).
pub(crate) async fn run_writer<S, O>(
    sink: S,
    outbox: O,
    link: SessionLink,
    replay: Arc<std::sync::Mutex<Replay>>,
    resend: Vec<Message>,
) -> Option<S>
where
    S: Sink<Message, Error = WsError> + Unpin,
    O: std::ops::DerefMut<Target = Outbox>,
{
    // Woken by the lanes, and by the socket only while a write waits for it.
    let mut sink = QuietSink::new(sink);
    let kept = drain(&mut sink, outbox, &link, replay, resend).await;
    kept.then(|| sink.into_inner())
}

/// [`run_writer`]'s loop: true when it stopped with the sink usable (Close sent, released,
/// the lanes closed), false when writing failed.
async fn drain<S, O>(
    sink: &mut S,
    mut outbox: O,
    link: &SessionLink,
    replay: Arc<std::sync::Mutex<Replay>>,
    resend: Vec<Message>,
) -> bool
where
    S: Sink<Message, Error = WsError> + Unpin,
    O: std::ops::DerefMut<Target = Outbox>,
{
    if !resend.is_empty() {
        for message in resend {
            if let Err(e) = sink.feed(message).await {
                return write_failed(link, e);
            }
        }
        // Out now, not with whatever is written next (maybe a heartbeat later).
        if let Err(e) = sink.flush().await {
            return write_failed(link, e);
        }
    }
    let outbox = &mut *outbox;
    loop {
        let Some(first) = outbox.next().await else {
            return true;
        };
        let mut next = Some(first);
        while let Some(out) = next.take() {
            match out {
                Outbound::Message(message) => {
                    if message.is_text() {
                        replay.lock().unwrap().record(&message, message.len());
                    }
                    if let Err(e) = sink.feed(message).await {
                        return write_failed(link, e);
                    }
                }
                Outbound::StartCounting => replay.lock().unwrap().start_counting(),
                Outbound::Release => {
                    if let Err(e) = sink.flush().await {
                        return write_failed(link, e);
                    }
                    return true;
                }
                Outbound::Close(frame) => {
                    if let Err(e) = sink.send(Message::Close(Some(frame))).await {
                        return write_failed(link, e);
                    }
                    return true;
                }
            }
            next = outbox.ready();
        }
        if let Err(e) = sink.flush().await {
            return write_failed(link, e);
        }
    }
}

fn write_failed(link: &SessionLink, e: WsError) -> bool {
    tracing::debug!(peer = %link.peer(), session = link.id(), "write failed: {e}");
    link.stop(Stop::lost(format!("write failed: {e}")));
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

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
