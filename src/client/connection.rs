//! A live session's connection: a reader task and a writer task around one WebSocket.
//!
//! The writer sends what the engine queues plus a ping every heartbeat. It has three lanes:
//! control frames (requests, commands, flow control) always go first, then video frames,
//! then bulk chunks, so a command is never stuck behind a transfer or a picture. The reader forwards server frames to the engine
//! and reports the connection dead when nothing (frame, ping or pong) arrived for three
//! heartbeats. Each ping carries its send time, so the reader can report the round trip of
//! its pong (the writer reports each ping it sends): the engine derives the connection's
//! quality (`NetStateChanged`) from them. Neither task touches session state: that is the
//! engine's alone.
//!
//! The control lane and the replay of written text frames belong to the session
//! ([`Lanes`]), not to one connection: when a connection is lost and the session resumes on
//! a new one, the new writer sends again what the server missed, then whatever was queued
//! meanwhile.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crvideo_proto::replay::Replay;
use crvideo_proto::{decode, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::handshake::WsStream;
use super::Internal;
use crvideo_proto::HelloOk;

/// How long a closing writer may take to flush its last frames.
pub const CLOSE_FLUSH: Duration = Duration::from_secs(1);
/// Bulk frames queued ahead of the writer; upload tasks wait for room (with the 256 KiB
/// chunks of the transfers this is 2 MiB per connection).
const BULK_LANE_FRAMES: usize = 8;

/// Video frames queued ahead of the writer, at most this many and this many bytes; a
/// camera finding the lane full loses that picture (see `crate::video`). The bytes bound
/// the memory; they hold three of the largest pictures measured (a 4K screen of dense
/// text: a 5.3 MB key frame). The count only has to allow the pieces of such pictures
/// under a small `max_frame_bytes`.
const MEDIA_LANE_FRAMES: usize = 1024;
const MEDIA_LANE_BYTES: usize = 16 << 20;

/// Longest an audio packet waits in the media lane (behind this user's own video on a slow
/// uplink); an older one is dropped when the writer comes to it, and the receivers conceal
/// it.
pub const AUDIO_MAX_WAIT: Duration = Duration::from_millis(200);

/// A frame in the media lane, and for an audio packet when it goes stale.
pub struct MediaItem {
    message: Message,
    stale_at: Option<Instant>,
}

/// The sending side of the session's media lane: frames go all of a group or none, within
/// the lane's bounds, never waiting.
#[derive(Clone)]
pub struct MediaSender {
    tx: mpsc::Sender<MediaItem>,
    /// Bytes queued and not yet taken by a writer.
    queued: Arc<AtomicUsize>,
}

impl MediaSender {
    /// Queues every frame of `frames` in order, or none of them (false) when the lane has no
    /// room for all: a receiver cannot use part of a picture.
    pub fn send_all(&self, frames: Vec<Message>) -> bool {
        let bytes: usize = frames.iter().map(Message::len).sum();
        let before = self.queued.fetch_add(bytes, Ordering::AcqRel);
        let permits = match before + bytes <= MEDIA_LANE_BYTES {
            true => self.tx.try_reserve_many(frames.len()).ok(),
            false => None,
        };
        let Some(permits) = permits else {
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
            return false;
        };
        for (permit, frame) in permits.zip(frames) {
            permit.send(MediaItem {
                message: frame,
                stale_at: None,
            });
        }
        true
    }

    /// Queues an audio packet without waiting (false: the lane is full); one that waited
    /// [`AUDIO_MAX_WAIT`] is dropped by the writer.
    pub fn send_audio(&self, packet: Message) -> bool {
        let bytes = packet.len();
        let before = self.queued.fetch_add(bytes, Ordering::AcqRel);
        let item = MediaItem {
            message: packet,
            stale_at: Some(Instant::now() + AUDIO_MAX_WAIT),
        };
        if before + bytes > MEDIA_LANE_BYTES || self.tx.try_send(item).is_err() {
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
            return false;
        }
        true
    }
}

/// The writers' side of the media lane.
pub struct MediaReceiver {
    rx: mpsc::Receiver<MediaItem>,
    queued: Arc<AtomicUsize>,
}

impl MediaReceiver {
    /// The next frame (stale audio packets skipped); its bytes leave the lane's count.
    async fn recv(&mut self) -> Option<Message> {
        loop {
            let item = self.rx.recv().await?;
            self.queued.fetch_sub(item.message.len(), Ordering::AcqRel);
            if item.stale_at.is_none_or(|t| t > Instant::now()) {
                return Some(item.message);
            }
        }
    }
}

/// Text frames written and not yet acknowledged by the server, at most this many...
const REPLAY_MAX_FRAMES: usize = 8192;
/// ... and this many bytes (a resume needing more fails: the session ends with LineOff).
const REPLAY_MAX_BYTES: usize = 32 << 20;

/// What goes through the control lane.
pub enum Outgoing {
    Frame(Message),
    /// Text frames written after this point are the session's resumable stream.
    StartCounting,
}

/// What a logged-in session keeps across its connections.
#[derive(Clone)]
pub struct Lanes {
    /// Control frames. Unbounded on purpose: they come only from the app's own calls (its
    /// call rate bounds them) and from flow control, and a burst of requests must not fail.
    control: mpsc::UnboundedSender<Outgoing>,
    /// Drained by the current connection's writer.
    control_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Outgoing>>>,
    /// Video frames (never replayed: a resumed video restarts at a key frame); bounded,
    /// and the cameras never wait for it.
    pub media: MediaSender,
    media_rx: Arc<tokio::sync::Mutex<MediaReceiver>>,
    /// Text frames written and not yet acknowledged.
    pub replay: Arc<parking_lot::Mutex<Replay<Message>>>,
    /// The server's text frames counted (what this side acknowledges in its pings).
    pub received: Arc<AtomicU64>,
}

impl Default for Lanes {
    fn default() -> Lanes {
        Lanes::new()
    }
}

impl Lanes {
    pub fn new() -> Lanes {
        let (control, control_rx) = mpsc::unbounded_channel();
        let (media, media_rx) = mpsc::channel(MEDIA_LANE_FRAMES);
        let queued = Arc::<AtomicUsize>::default();
        Lanes {
            control,
            control_rx: Arc::new(tokio::sync::Mutex::new(control_rx)),
            media: MediaSender {
                tx: media,
                queued: queued.clone(),
            },
            media_rx: Arc::new(tokio::sync::Mutex::new(MediaReceiver {
                rx: media_rx,
                queued,
            })),
            replay: Arc::new(parking_lot::Mutex::new(Replay::new(
                REPLAY_MAX_FRAMES,
                REPLAY_MAX_BYTES,
            ))),
            received: Arc::default(),
        }
    }

    /// Queues a control frame (sent by this or the next connection); false when the
    /// session's writer is gone for good.
    pub fn send(&self, message: Message) -> bool {
        self.control.send(Outgoing::Frame(message)).is_ok()
    }

    /// Frames queued after this are counted and kept for a resume.
    pub fn start_counting(&self) {
        let _ = self.control.send(Outgoing::StartCounting);
    }

    /// A ping that only acknowledges what was received (no round trip measured).
    pub fn ack_ping(&self) -> Message {
        Message::Ping(ping_payload(u64::MAX, self.received.load(Ordering::Relaxed)).into())
    }
}

/// A ping's payload: the send time (see [`Pings`]) and the count of the server's text
/// frames received, both big-endian.
fn ping_payload(sent: u64, received: u64) -> Vec<u8> {
    let mut payload = sent.to_be_bytes().to_vec();
    payload.extend_from_slice(&received.to_be_bytes());
    payload
}

/// The two lanes into a connection's writer. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    lanes: Lanes,
    /// Bulk chunks; bounded, so uploads go at the speed of the network.
    pub bulk: mpsc::Sender<Message>,
}

impl Link {
    /// Queues a control frame; false when the writer is gone.
    pub fn send(&self, message: Message) -> bool {
        self.lanes.send(message)
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
    /// Starts the reader and the writer of session `lanes` on `ws`; the writer sends
    /// `resend` first (what the server missed, when resuming).
    pub fn start(
        id: u64,
        ws: WsStream,
        hello: &HelloOk,
        internal: mpsc::UnboundedSender<Internal>,
        lanes: &Lanes,
        resend: Vec<Message>,
    ) -> Connection {
        let heartbeat = Duration::from_millis(hello.heartbeat_ms.max(10));
        let dead_after = Duration::from_millis(hello.dead_after_ms().max(30));
        let max_frame_bytes = hello.max_frame_bytes;
        let (sink, stream) = ws.split();
        let (bulk, bulk_queue) = mpsc::channel(BULK_LANE_FRAMES);
        let pings = Pings {
            conn: id,
            epoch: Instant::now(),
            internal: internal.clone(),
        };
        let writer = Writer {
            control: lanes.control_rx.clone(),
            media: lanes.media_rx.clone(),
            replay: lanes.replay.clone(),
            received: lanes.received.clone(),
            bulk: bulk_queue,
            heartbeat,
            pings: pings.clone(),
        };
        Connection {
            id,
            link: Link {
                lanes: lanes.clone(),
                bulk,
            },
            max_frame_bytes,
            reader: tokio::spawn(read_loop(id, stream, internal, dead_after, pings)),
            writer: tokio::spawn(writer.run(sink, resend)),
        }
    }

    /// The connection is lost: both tasks stop now (the session's lanes stay).
    pub fn abort(self) {
        self.reader.abort();
        self.writer.abort();
    }

    /// Queues a control frame; false when the writer is gone.
    pub fn send(&self, message: Message) -> bool {
        self.link.send(message)
    }

    /// Stops reading, lets the writer flush the control frames queued and send a Close
    /// frame once the session's lanes are dropped too. The returned handle finishes when
    /// the writer is done (within [`CLOSE_FLUSH`] of that).
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
    /// A new ping, reported to the engine as sent; it also acknowledges `received`.
    fn ping(&self, received: u64) -> Message {
        let _ = self.internal.send(Internal::PingSent { conn: self.conn });
        let nanos = self.epoch.elapsed().as_nanos() as u64;
        Message::Ping(ping_payload(nanos, received).into())
    }

    /// The round trip of the ping `pong` answers (None for a pong that is not ours, or
    /// that of an acknowledgement-only ping).
    fn round_trip(&self, pong: &[u8]) -> Option<Duration> {
        let sent = u64::from_be_bytes(pong.get(..8)?.try_into().ok()?);
        self.epoch.elapsed().checked_sub(Duration::from_nanos(sent))
    }
}

/// A connection's writer: the session's control lane, the connection's bulk lane. It holds
/// no sender of the control lane, so it ends (saying goodbye) when the session drops it.
struct Writer {
    control: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Outgoing>>>,
    media: Arc<tokio::sync::Mutex<MediaReceiver>>,
    replay: Arc<parking_lot::Mutex<Replay<Message>>>,
    received: Arc<AtomicU64>,
    bulk: mpsc::Receiver<Message>,
    heartbeat: Duration,
    pings: Pings,
}

impl Writer {
    async fn run(mut self, mut sink: SplitSink<WsStream, Message>, resend: Vec<Message>) {
        // The previous connection's writer (aborted) let go of the lane.
        let mut control = self.control.clone().lock_owned().await;
        let mut media = self.media.clone().lock_owned().await;
        if !resend.is_empty() {
            for message in resend {
                if sink.feed(message).await.is_err() {
                    return;
                }
            }
            // Out now, not with whatever is written next (maybe a heartbeat later).
            if sink.flush().await.is_err() {
                return;
            }
        }
        let period = self.heartbeat;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let message = tokio::select! {
                biased;
                item = control.recv() => match item {
                    Some(Outgoing::Frame(message)) => message,
                    Some(Outgoing::StartCounting) => {
                        self.replay.lock().start_counting();
                        continue;
                    }
                    // The session is over: say goodbye.
                    None => break,
                },
                _ = ticker.tick() => self.pings.ping(self.received.load(Ordering::Relaxed)),
                Some(message) = media.recv() => message,
                Some(message) = self.bulk.recv() => message,
            };
            // Kept before it is written: if the connection dies meanwhile, a resume sends it
            // again unless the server counted it.
            if message.is_text() {
                self.replay.lock().record(&message, message.len());
            }
            if sink.send(message).await.is_err() {
                return;
            }
        }
        self.goodbye(sink).await;
    }

    async fn goodbye(self, mut sink: SplitSink<WsStream, Message>) {
        // Flush and say goodbye, but never linger.
        let _ = tokio::time::timeout(CLOSE_FLUSH, async {
            let _ = sink.send(Message::Close(None)).await;
            let _ = sink.close().await;
        })
        .await;
    }
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
            // Liveness is any frame at all; tungstenite answers pings by itself. The
            // server's pings say how many of our text frames it got (resumable sessions).
            Message::Ping(payload) => match payload.get(..8) {
                Some(count) => Internal::Acked {
                    conn: id,
                    received: u64::from_be_bytes(count.try_into().expect("8 bytes")),
                },
                None => continue,
            },
            Message::Frame(_) => continue,
        };
        if internal.send(report).is_err() {
            return;
        }
    };
    let _ = internal.send(Internal::Closed { conn: id, reason });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Message {
        Message::Binary(vec![7u8; len].into())
    }

    #[tokio::test]
    async fn audio_gone_stale_in_the_media_lane_is_skipped() {
        let lanes = Lanes::new();
        let mut rx = lanes.media_rx.clone().lock_owned().await;
        assert!(lanes.media.send_audio(frame(5)));
        // One that has waited its time already, as behind a large picture on a slow link.
        lanes.media.queued.fetch_add(7, Ordering::AcqRel);
        let stale = MediaItem {
            message: frame(7),
            stale_at: Some(Instant::now()),
        };
        assert!(lanes.media.tx.try_send(stale).is_ok());
        assert!(lanes.media.send_all(vec![frame(3)]));
        assert_eq!(rx.recv().await.unwrap().len(), 5, "fresh audio goes");
        assert_eq!(
            rx.recv().await.unwrap().len(),
            3,
            "the stale packet was skipped"
        );
        assert_eq!(
            lanes.media.queued.load(Ordering::Acquire),
            0,
            "and counted out"
        );
    }

    #[tokio::test]
    async fn the_media_lane_takes_a_group_whole_or_not_at_all() {
        let lanes = Lanes::new();
        let mut rx = lanes.media_rx.clone().lock_owned().await;
        let sizes = [3, 1, 2];
        assert!(lanes.media.send_all(sizes.map(frame).to_vec()));
        for len in sizes {
            assert_eq!(rx.recv().await.unwrap().len(), len, "in order");
        }
        // Over the bytes: nothing of the group is queued.
        let half = MEDIA_LANE_BYTES / 2;
        assert!(lanes.media.send_all(vec![frame(half)]));
        assert!(!lanes.media.send_all(vec![frame(1), frame(half)]));
        // Over the count: nothing either.
        assert!(!lanes.media.send_all(vec![frame(1); MEDIA_LANE_FRAMES + 1]));
        assert_eq!(rx.recv().await.unwrap().len(), half);
        assert!(rx.rx.try_recv().is_err(), "the refused groups left nothing");
        // What the writer took left the count: the lane takes a full load again.
        assert!(lanes.media.send_all(vec![frame(half), frame(half)]));
        assert!(!lanes.media.send_all(vec![frame(1)]));
        rx.recv().await.unwrap();
        assert!(lanes.media.send_all(vec![frame(1)]));
    }
}
