//! A live session's connection: a reader task and a writer task around one WebSocket.
//!
//! The writer sends what the engine queues plus a ping every heartbeat; the reader forwards
//! server frames to the engine and reports the connection dead when nothing (frame, ping or
//! pong) arrived for three heartbeats. Neither task touches session state: that is the
//! engine's alone.

use std::time::Duration;

use crvideo_proto::{decode, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::connect::{Established, WsStream};
use super::Internal;

/// How long a closing writer may take to flush its last frames.
pub const CLOSE_FLUSH: Duration = Duration::from_secs(1);

pub struct Connection {
    pub id: u64,
    /// Control frames for the writer. Unbounded on purpose: they come only from the app's
    /// own calls (its call rate bounds them), and a burst of requests must not fail.
    outbound: mpsc::UnboundedSender<Message>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Connection {
    pub fn start(
        id: u64,
        established: Established,
        internal: mpsc::UnboundedSender<Internal>,
    ) -> Connection {
        let heartbeat = Duration::from_millis(established.hello.heartbeat_ms.max(10));
        let dead_after = Duration::from_millis(established.hello.dead_after_ms().max(30));
        let (sink, stream) = established.ws.split();
        let (outbound, queue) = mpsc::unbounded_channel();
        Connection {
            id,
            outbound,
            reader: tokio::spawn(read_loop(id, stream, internal, dead_after)),
            writer: tokio::spawn(write_loop(sink, queue, heartbeat)),
        }
    }

    /// Queues a frame; false when the writer is gone.
    pub fn send(&self, message: Message) -> bool {
        self.outbound.send(message).is_ok()
    }

    /// Stops reading, lets the writer flush what is queued and send a Close frame. The
    /// returned handle finishes when the writer is done (within [`CLOSE_FLUSH`]).
    pub fn close(self) -> JoinHandle<()> {
        self.reader.abort();
        drop(self.outbound);
        self.writer
    }
}

async fn write_loop(
    mut sink: SplitSink<WsStream, Message>,
    mut queue: mpsc::UnboundedReceiver<Message>,
    heartbeat: Duration,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = queue.recv() => match message {
                Some(message) => {
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
                None => break,
            },
            _ = ticker.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
    // The engine dropped its sender: flush and say goodbye, but never linger.
    let _ = tokio::time::timeout(CLOSE_FLUSH, async {
        let _ = sink.send(Message::Close(None)).await;
        let _ = sink.close().await;
    })
    .await;
}

async fn read_loop(
    id: u64,
    mut stream: SplitStream<WsStream>,
    internal: mpsc::UnboundedSender<Internal>,
    dead_after: Duration,
) {
    let reason = loop {
        let message = match tokio::time::timeout(dead_after, stream.next()).await {
            Err(_) => break format!("no heartbeat from the server for {dead_after:?}"),
            Ok(None) => break "connection closed".to_string(),
            Ok(Some(Err(e))) => break format!("connection error: {e}"),
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Text(text) => match decode::<ServerFrame>(&text) {
                Ok(frame) => {
                    if internal.send(Internal::Frame { conn: id, frame }).is_err() {
                        return;
                    }
                }
                Err(e) => break format!("malformed frame from the server: {e}"),
            },
            Message::Close(frame) => {
                break match frame {
                    Some(f) => format!("closed by the server: {}", f.reason),
                    None => "closed by the server".to_string(),
                }
            }
            // Liveness is any frame at all; tungstenite answers pings by itself.
            Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_) => {}
        }
    };
    let _ = internal.send(Internal::Closed { conn: id, reason });
}
