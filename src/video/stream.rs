//! One video received from another member (a camera, the shared screen, or the media a
//! member plays): its frames go
//! to the video's own decoder thread through a short queue; the newest decoded picture is
//! kept for `CRVideo_GetVideoImg` / `CRVideo_GetShareScreenDecodeImg`, and the app is told
//! of a new picture once until it takes one (`NotifyVideoData`, or `NotifyScreenShareData`
//! with the area changed since the picture it took; `NotifyShareRectChanged` when the
//! screen's size is first known or changes; `NotifyMemberMediaData` with the media's
//! position).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use crvideo_proto::data::Piece;
use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Bytes;

use super::codec::VideoDecoder;
use super::picture::Picture;
use super::pieces::{Joiner, Packet};
use super::Gate;
use crate::dispatch::{Dispatcher, Event};

/// Frames queued ahead of a decoder: more and the decoder is behind; frames are dropped
/// and the video restarts at a key frame.
const DECODE_QUEUE: usize = 8;

/// What a received video is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Camera,
    Screen,
    /// The media a member plays: a picture's time is its position in the media.
    Media,
}

/// What the decoder thread and the API share.
#[derive(Default)]
pub struct Latest {
    pub picture: Mutex<Option<Arc<Picture>>>,
    /// A NotifyVideoData is outstanding (cleared by GetVideoImg).
    pub notified: AtomicBool,
    /// Frames were lost before the decoder: skip to the next key frame.
    lost: AtomicBool,
    /// The screen's area changed since the picture the app took, while a notification was
    /// outstanding.
    pub pending_rect: Mutex<Option<[u16; 4]>>,
}

impl Latest {
    /// The app took the newest picture: the next one is notified (with only its own area).
    pub fn taken(&self) -> Option<Arc<Picture>> {
        let picture = self.picture.lock().clone();
        *self.pending_rect.lock() = None;
        self.notified.store(false, Ordering::Release);
        picture
    }
}

pub struct Stream {
    queue: Option<SyncSender<Packet>>,
    pub latest: Arc<Latest>,
    thread: Option<JoinHandle<()>>,
    /// The picture whose pieces are arriving.
    pieces: Joiner,
}

impl Stream {
    pub fn start(
        kind: Kind,
        user_id: String,
        video_id: u8,
        events: Arc<Dispatcher>,
        gate: Arc<Gate>,
    ) -> Result<Stream, String> {
        let (queue, frames) = sync_channel(DECODE_QUEUE);
        let latest = Arc::new(Latest::default());
        let decoder = VideoDecoder::new()?;
        let thread = {
            let latest = latest.clone();
            std::thread::Builder::new()
                .name("crvideo-vdec".into())
                .spawn(move || {
                    let video = Video {
                        kind,
                        user_id,
                        video_id,
                        events,
                        gate,
                        latest,
                    };
                    video.run(frames, decoder)
                })
                .map_err(|e| format!("decoder thread: {e}"))?
        };
        Ok(Stream {
            queue: Some(queue),
            latest,
            thread: Some(thread),
            pieces: Joiner::default(),
        })
    }

    /// A frame from the server: a picture, or a piece of one (see
    /// [`crvideo_proto::data::Piece`]). False when a picture was dropped (the decoder is
    /// behind). A picture that cannot be whole (a piece missing, or too big) is dropped
    /// too, and the decoder skips to the next key frame (asking for one).
    pub fn push(
        &mut self,
        key: bool,
        time_ms: i64,
        rect: Option<[u16; 4]>,
        piece: Piece,
        data: Bytes,
    ) -> bool {
        let joined = self.pieces.add(key, time_ms, rect, piece, data);
        if joined.lost {
            self.latest.lost.store(true, Ordering::Relaxed);
        }
        joined.picture.is_none_or(|picture| self.queue(picture))
    }

    /// Hands a whole picture to the decoder. False when the decoder is behind: dropped.
    fn queue(&self, packet: Packet) -> bool {
        let queue = self.queue.as_ref().expect("open until dropped");
        match queue.try_send(packet) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.latest.lost.store(true, Ordering::Relaxed);
                false
            }
        }
    }

    /// Ends the decoder; the thread, done with at most one frame, is handed back to join.
    pub fn stop(mut self) -> Option<JoinHandle<()>> {
        self.queue = None;
        self.thread.take()
    }
}

/// The decoder thread's view of its video.
struct Video {
    kind: Kind,
    user_id: String,
    video_id: u8,
    events: Arc<Dispatcher>,
    gate: Arc<Gate>,
    latest: Arc<Latest>,
}

impl Video {
    fn notify_camera(&self, time_ms: i64) {
        if !self.latest.notified.swap(true, Ordering::AcqRel) {
            self.events.push(Event::NotifyVideoData {
                user_id: self.user_id.clone(),
                video_id: self.video_id as i32,
                frm_time: time_ms,
            });
        }
    }

    fn notify_media(&self, pos_ms: i64) {
        if !self.latest.notified.swap(true, Ordering::AcqRel) {
            self.events.push(Event::NotifyMemberMediaData {
                user_id: self.user_id.clone(),
                cur_pos_ms: pos_ms,
            });
        }
    }

    /// `NotifyScreenShareData` with what changed since the picture the app took.
    fn notify_screen(&self, rect: [u16; 4]) {
        let mut pending = self.latest.pending_rect.lock();
        let area = match *pending {
            Some(p) => union(p, rect),
            None => rect,
        };
        if self.latest.notified.swap(true, Ordering::AcqRel) {
            *pending = Some(area);
            return;
        }
        *pending = None;
        let [left, top, width, height] = area.map(i32::from);
        self.events.push(Event::NotifyScreenShareData {
            user_id: self.user_id.clone(),
            left,
            top,
            width,
            height,
        });
    }

    fn run(self, frames: Receiver<Packet>, mut decoder: VideoDecoder) {
        // A decoder starts at a key frame.
        let mut waiting_key = true;
        let mut size = (0, 0);
        while let Ok(packet) = frames.recv() {
            if self.latest.lost.swap(false, Ordering::Relaxed) {
                waiting_key = true;
                self.gate.request_key_frame(&self.user_id, self.video_id);
            }
            if waiting_key && !packet.key {
                continue;
            }
            waiting_key = false;
            match decoder.decode(&packet.joined(), packet.time_ms) {
                Ok(Some(picture)) => {
                    let now = (picture.width, picture.height);
                    *self.latest.picture.lock() = Some(Arc::new(picture));
                    match self.kind {
                        Kind::Camera => self.notify_camera(packet.time_ms),
                        Kind::Media => self.notify_media(packet.time_ms),
                        Kind::Screen => {
                            if now != size {
                                size = now;
                                self.events.push(Event::NotifyShareRectChanged {
                                    width: now.0 as i32,
                                    height: now.1 as i32,
                                });
                            }
                            let whole = [0, 0, now.0 as u16, now.1 as u16];
                            self.notify_screen(packet.rect.unwrap_or(whole));
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(user = %self.user_id, video = self.video_id, "{e}");
                    waiting_key = true;
                    self.gate.request_key_frame(&self.user_id, self.video_id);
                }
            }
        }
    }
}

/// The smallest rectangle holding both (left, top, width, height).
fn union(a: [u16; 4], b: [u16; 4]) -> [u16; 4] {
    let (l, t) = (a[0].min(b[0]), a[1].min(b[1]));
    let r = (a[0] + a[2]).max(b[0] + b[2]);
    let bottom = (a[1] + a[3]).max(b[1] + b[3]);
    [l, t, r - l, bottom - t]
}
