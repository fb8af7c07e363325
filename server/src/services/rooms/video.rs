//! Video in a room: checking members' cameras, choosing what they watch, and the relay of
//! encoded frames from a camera to its watchers (each member's side of it is
//! [`super::member_video`]).
//!
//! The server never decodes. A receiver must start a video at a key frame (at its first
//! piece, when a picture comes in pieces), so it "waits for a key" of a video when it
//! enters, starts watching it, or loses a frame of it (its media lane was full, or its SDK
//! could not decode); while waiting it gets nothing of that video but its next key frame,
//! and the sender is asked for one ([`Event::KeyFrameRequest`], at most every
//! [`KEY_REQUEST_GAP`] per camera, so a slow receiver cannot make a sender send only key
//! frames).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crvideo_proto::data::{ScreenFrame, VideoFrame, MEDIA_VIDEO};
use crvideo_proto::{ErrorCode, Event, MemberVideos, ServerFrame, MAX_VIDEO_DEVS, MEDIA_OPEN};
use tokio_tungstenite::tungstenite::{Bytes, Message};

use super::room::{Member, Room};
use crate::directory::outbound::MediaSent;

/// The video ID of a member's shared screen (cameras are 1–255).
pub const SCREEN: u8 = 0;

/// Shortest time between two key-frame requests to one camera.
pub const KEY_REQUEST_GAP: Duration = Duration::from_millis(250);

/// Longest camera name, in bytes.
const MAX_CAMERA_NAME: usize = 255;

/// Checks a member's camera list (see [`crvideo_proto::Request::SetVideoDevs`]).
pub(super) fn check_cams(cams: &MemberVideos) -> Result<(), ErrorCode> {
    let ids: HashSet<u8> = cams.devs.iter().map(|d| d.video_id).collect();
    let valid = cams.devs.len() <= MAX_VIDEO_DEVS
        && ids.len() == cams.devs.len()
        && !ids.contains(&0)
        && !ids.contains(&MEDIA_VIDEO)
        && cams.devs.iter().all(|d| d.name.len() <= MAX_CAMERA_NAME)
        && (cams.default_video == 0 || ids.contains(&cams.default_video));
    valid.then_some(()).ok_or(ErrorCode::ParamErr)
}

impl Room {
    /// Member `at` will get no frame of the videos `videos` (each `(sender index, camera)`)
    /// before a key frame; their senders are asked for one (`now`: even if asked less than
    /// [`KEY_REQUEST_GAP`] ago — a member entering, or media starting: rare, and a paused
    /// media sends nothing that would make the server ask again).
    fn wait_for_keys(&mut self, at: usize, videos: Vec<(usize, u8)>, now: bool) {
        for (sender, video_id) in videos {
            let key = (self.members[sender].info.user_id.clone(), video_id);
            self.members[at].video.waiting.insert(key);
            ask_key_frame(&mut self.members[sender], video_id, now);
        }
    }

    /// The open videos member `at` watches, as `(sender index, camera)`.
    fn watched_by(&self, at: usize) -> Vec<(usize, u8)> {
        let me = &self.members[at];
        let mut videos = Vec::new();
        for (i, sender) in self.members.iter().enumerate() {
            if i == at || sender.info.video_status != MEDIA_OPEN {
                continue;
            }
            for dev in &sender.video.cams.devs {
                if me.video.watches(&sender.info.user_id, dev.video_id) {
                    videos.push((i, dev.video_id));
                }
            }
        }
        videos
    }

    /// Member `at` just entered: it starts every video it watches, the shared screen and
    /// the playing media at a key frame.
    pub fn video_entered(&mut self, at: usize) {
        let mut videos = self.watched_by(at);
        let sharer = self.signals.sharer.as_deref();
        if let Some(sharer) = sharer.and_then(|s| self.member_by_user(s)) {
            videos.push((sharer, SCREEN));
        }
        if let Some(player) = self.media_player() {
            videos.push((player, MEDIA_VIDEO));
        }
        self.wait_for_keys(at, videos, true);
    }

    /// The index of the member playing media, if any.
    fn media_player(&self) -> Option<usize> {
        let player = self.signals.media.as_ref()?;
        self.member_by_user(&player.user_id)
    }

    /// Media started: every other member starts it at a key frame.
    pub fn media_started(&mut self) {
        let Some(player) = self.media_player() else {
            return;
        };
        for at in (0..self.members.len()).filter(|&at| at != player) {
            self.wait_for_keys(at, vec![(player, MEDIA_VIDEO)], true);
        }
    }

    /// Member `at` watches `watch` from now on (None: every video); the videos it did not
    /// watch before start at a key frame.
    pub fn set_watch(&mut self, at: usize, watch: Option<Vec<String>>) {
        let before: HashSet<(usize, u8)> = self.watched_by(at).into_iter().collect();
        self.members[at].video.watch = watch.map(|w| w.into_iter().collect());
        let new = self.watched_by(at);
        let new = new.into_iter().filter(|v| !before.contains(v)).collect();
        self.wait_for_keys(at, new, false);
    }

    /// Member `at` could not decode `user_id`'s camera `video_id`: it waits for a key frame.
    pub fn lost_video(&mut self, at: usize, user_id: &str, video_id: u8) {
        if let Some(sender) = self.member_by_user(user_id) {
            if sender != at {
                self.wait_for_keys(at, vec![(sender, video_id)], false);
            }
        }
    }

    /// Member `from` sends a camera's frame: to every other member that watches it. False
    /// if the frame is not relayed at all (the camera is unknown or the sender's video is
    /// not open).
    pub fn relay_video(&mut self, from: usize, frame: &VideoFrame<'_>) -> bool {
        if frame.video_id == MEDIA_VIDEO {
            return self.relay_media(from, frame);
        }
        let sender = &self.members[from];
        let cams = &sender.video.cams.devs;
        let known = cams.iter().any(|d| d.video_id == frame.video_id);
        if !known || sender.info.video_status != MEDIA_OPEN {
            return false;
        }
        let user_id = sender.info.user_id.clone();
        let relayed = VideoFrame {
            user: &user_id,
            ..*frame
        };
        let message = Message::Binary(Bytes::from(relayed.encode()));
        let starts_key = frame.key && frame.piece.first;
        self.relay(from, frame.video_id, starts_key, message);
        true
    }

    /// Member `from` sends a picture of the media it plays: to every other member. False if
    /// it is not the player.
    fn relay_media(&mut self, from: usize, frame: &VideoFrame<'_>) -> bool {
        if self.media_player() != Some(from) {
            return false;
        }
        let user_id = self.members[from].info.user_id.clone();
        let relayed = VideoFrame {
            user: &user_id,
            ..*frame
        };
        let message = Message::Binary(Bytes::from(relayed.encode()));
        let starts_key = frame.key && frame.piece.first;
        self.relay(from, MEDIA_VIDEO, starts_key, message);
        true
    }

    /// Member `from` sends a frame of its shared screen: to every other member. False if it
    /// is not the sharer.
    pub fn relay_screen(&mut self, from: usize, frame: &ScreenFrame<'_>) -> bool {
        let user_id = self.members[from].info.user_id.clone();
        if self.signals.sharer.as_deref() != Some(&*user_id) {
            return false;
        }
        let relayed = ScreenFrame {
            user: &user_id,
            ..*frame
        };
        let message = Message::Binary(Bytes::from(relayed.encode()));
        let starts_key = frame.key && frame.piece.first;
        self.relay(from, SCREEN, starts_key, message);
        true
    }

    /// Queues `message`, a frame of `from`'s video `video_id`, for every other member that
    /// watches it and is not waiting for a key frame of it (`starts_key`: the frame is the
    /// first piece of a key picture, where a waiting member starts); a member whose media
    /// lane is full waits for the next key frame, which is asked for (so it gets no more
    /// pieces of a picture it lost one of).
    fn relay(&mut self, from: usize, video_id: u8, starts_key: bool, message: Message) {
        let user_id = self.members[from].info.user_id.clone();
        let key = (user_id.clone(), video_id);
        let mut need_key = false;
        for (i, m) in self.members.iter_mut().enumerate() {
            // The screen and the media go to every member; a camera to those watching it.
            let camera = video_id != SCREEN && video_id != MEDIA_VIDEO;
            if i == from || (camera && !m.video.watches(&user_id, video_id)) {
                continue;
            }
            if m.video.waiting.contains(&key) {
                if !starts_key {
                    need_key = true;
                    continue;
                }
                m.video.waiting.remove(&key);
            }
            if let Ok(MediaSent::Dropped) = m.handle.send_media(message.clone()) {
                m.video.waiting.insert(key.clone());
                need_key = true;
            }
        }
        if need_key {
            ask_key_frame(&mut self.members[from], video_id, false);
        }
    }
}

/// Asks `sender` for a key frame of its camera `video_id`, unless it was asked less than
/// [`KEY_REQUEST_GAP`] ago (`always`: even then).
fn ask_key_frame(sender: &mut Member, video_id: u8, always: bool) {
    let now = Instant::now();
    let last = sender.video.asked.get(&video_id);
    if always || last.is_none_or(|t| now.duration_since(*t) >= KEY_REQUEST_GAP) {
        sender.video.asked.insert(video_id, now);
        let event = ServerFrame::Event(Event::KeyFrameRequest { video_id });
        let _ = sender.handle.send(&event);
    }
}
