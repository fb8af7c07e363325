//! A live session's connection: a reader task and a writer task around one WebSocket.
//!
//! The writer sends what the engine queues plus a ping every heartbeat. It has two lanes:
//! control frames (requests, commands, flow control) always go before bulk chunks, so a
//! command is never stuck behind a transfer. The reader forwards server frames to the engine
//! and reports the connection dead when nothing (frame, ping or pong) arrived for three
//! heartbeats. Each ping carries its send time, so the reader can report the round trip of
//! its pong (the writer reports each ping it sends): the engine derives the connection's
//! quality (`NetStateChanged`) from them. Neither task touches session state: that is the
//! engine's alone.

use std::time::{Duration, Instant};

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
/// Bulk frames queued ahead of the writer; upload tasks wait for room (with the 256 KiB
/// chunks of the transfers this is 2 MiB per connection).
const BULK_LANE_FRAMES: usize = 8;

/// The two lanes into a connection's writer. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    /// Control frames. Unbounded on purpose: they come only from the app's own calls (its
    /// call rate bounds them) and from flow control, and a burst of requests must not fail.
    control: mpsc::UnboundedSender<Message>,
    /// Bulk chunks; bounded, so uploads go at the speed of the network.
    pub bulk: mpsc::Sender<Message>,
}

impl Link {
    /// Queues a control frame; false when the writer is gone.
    pub fn send(&self, message: Message) -> bool {
        self.control.send(message).is_ok()
    }
}

pub struct Connection {
    pub id: u64,
    pub link: Link,
    /// Largest frame the server accepts.
    pub max_frame_bytes: usize,
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
        let max_frame_bytes = established.hello.max_frame_bytes;
        let (sink, stream) = established.ws.split();
        let (control, control_queue) = mpsc::unbounded_channel();
        let (bulk, bulk_queue) = mpsc::channel(BULK_LANE_FRAMES);
        let pings = Pings {
            conn: id,
            epoch: Instant::now(),
            internal: internal.clone(),
        };
        Connection {
            id,
            link: Link { control, bulk },
            max_frame_bytes,
            reader: tokio::spawn(read_loop(id, stream, internal, dead_after, pings.clone())),
            writer: tokio::spawn(write_loop(
                sink,
                control_queue,
                bulk_queue,
                heartbeat,
                pings,
            )),
        }
    }

    /// Queues a control frame; false when the writer is gone.
    pub fn send(&self, message: Message) -> bool {
        self.link.send(message)
    }

    /// Stops reading, lets the writer flush the control frames queued and send a Close
    /// frame. The returned handle finishes when the writer is done (within [`CLOSE_FLUSH`]).
    pub fn close(self) -> JoinHandle<()> {
        self.reader.abort();
        drop(self.link);
        self.writer
    }
}

/// Heartbeat pings that measure the round trip: the payload is the send time (nanoseconds
/// since `epoch`, big-endian), which the server's pong echoes.
#[derive(Clone)]
struct Pings {
    conn: u64,
    epoch: Instant,
    internal: mpsc::UnboundedSender<Internal>,
}

impl Pings {
    /// A new ping, reported to the engine as sent.
    fn ping(&self) -> Message {
        let _ = self.internal.send(Internal::PingSent { conn: self.conn });
        let nanos = self.epoch.elapsed().as_nanos() as u64;
        Message::Ping(nanos.to_be_bytes().to_vec().into())
    }

    /// The round trip of the ping `pong` answers (None for a pong that is not ours).
    fn round_trip(&self, pong: &[u8]) -> Option<Duration> {
        let sent = Duration::from_nanos(u64::from_be_bytes(pong.try_into().ok()?));
        self.epoch.elapsed().checked_sub(sent)
    }
}

async fn write_loop(
    mut sink: SplitSink<WsStream, Message>,
    mut control: mpsc::UnboundedReceiver<Message>,
    mut bulk: mpsc::Receiver<Message>,
    heartbeat: Duration,
    pings: Pings,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let message = tokio::select! {
            biased;
            message = control.recv() => match message {
                Some(message) => message,
                // The engine dropped the connection: say goodbye.
                None => break,
            },
            _ = ticker.tick() => pings.ping(),
            Some(message) = bulk.recv() => message,
        };
        if sink.send(message).await.is_err() {
            return;
        }
    }
    // Flush and say goodbye, but never linger.
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
    pings: Pings,
) {
    let reason = loop {
        let message = match tokio::time::timeout(dead_after, stream.next()).await {
            Err(_) => break format!("no heartbeat from the server for {dead_after:?}"),
            Ok(None) => break "connection closed".to_string(),
            Ok(Some(Err(e))) => break format!("connection error: {e}"),
            Ok(Some(Ok(message))) => message,
        };
        let report = match message {
            Message::Text(text) => match decode::<ServerFrame>(&text) {
                Ok(frame) => Internal::Frame { conn: id, frame },
                Err(e) => break format!("malformed frame from the server: {e}"),
            },
            Message::Binary(data) => Internal::Data { conn: id, data },
            Message::Close(frame) => {
                break match frame {
                    Some(f) => format!("closed by the server: {}", f.reason),
                    None => "closed by the server".to_string(),
                }
            }
            Message::Pong(payload) => match pings.round_trip(&payload) {
                Some(rtt) => Internal::Pong { conn: id, rtt },
                None => continue,
            },
            // Liveness is any frame at all; tungstenite answers pings by itself.
            Message::Ping(_) | Message::Frame(_) => continue,
        };
        if internal.send(report).is_err() {
            return;
        }
    };
    let _ = internal.send(Internal::Closed { conn: id, reason });
}
