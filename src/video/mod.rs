//! Video in meetings: this user's custom cameras ([`camera`]), the videos received from
//! other members ([`stream`], their pictures joined from pieces by [`pieces`]), H.264
//! ([`codec`]) and picture formats ([`picture`]).
//!
//! Encoding runs on each camera's thread and decoding on each received video's thread,
//! never on the I/O thread or the dispatch thread. A camera's frames leave the SDK only
//! while this user is in a meeting with its video open ([`Gate`]); they go to the server on
//! the session's media lane (see `client::connection`), which never waits: a full lane
//! loses the picture and the next one is a key frame.

pub mod camera;
pub mod codec;
pub mod picture;
pub mod pieces;
pub mod screen;
pub mod stream;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;

use crvideo_proto::data::{pieces, AudioFrame, Piece, ScreenFrame, VideoFrame, MEDIA_VIDEO};
use crvideo_proto::{
    encode, ClientFrame, MemberVideos, Request, VideoDev, MAX_VIDEO_DEVS, MEDIA_OPEN,
};
use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::client::connection::{Lanes, MediaSender};
use crate::client::rooms::SharedRoomCache;
use crate::dispatch::{Dispatcher, Event};
use crate::ErrorCode;
use camera::{Camera, CameraSpec};
use picture::Picture;
use screen::{ScreenCfg, ScreenSource};
use stream::{Kind, Stream};

/// The video ID of the shared screen in key-frame requests and received videos.
const SCREEN: u8 = 0;

/// Smallest and largest camera sizes.
const MIN_SIDE: usize = 16;
const MAX_WIDTH: usize = 3840;
const MAX_HEIGHT: usize = 2160;

/// The way out of the SDK for video: the session's lanes while logged in.
#[derive(Clone)]
pub struct Uplink {
    pub control: Lanes,
    pub media: MediaLane,
}

/// The session's media lane as a camera or the screen sees it.
#[derive(Clone)]
pub struct MediaLane {
    lane: MediaSender,
    /// The largest frame the server accepts (its hello's `max_frame_bytes`): a larger
    /// picture goes in pieces.
    max_frame: usize,
}

impl MediaLane {
    pub fn new(lane: MediaSender, max_frame: usize) -> MediaLane {
        MediaLane { lane, max_frame }
    }

    /// Queues a camera's encoded picture without waiting, in pieces if it is larger than a
    /// frame may be. False when it is lost (the lane has no room for all of it).
    pub fn send_video(&self, frame: &VideoFrame<'_>) -> bool {
        self.send_pieces(frame.payload, |piece, payload| {
            let piece = VideoFrame {
                piece,
                payload,
                ..*frame
            };
            piece.encode()
        })
    }

    /// Queues an audio frame without waiting (a full lane loses it).
    pub fn send_audio(&self, frame: &AudioFrame<'_>) {
        self.lane.send_audio(Message::Binary(frame.encode().into()));
    }

    /// [`MediaLane::send_video`] for the shared screen.
    pub fn send_screen(&self, frame: &ScreenFrame<'_>) -> bool {
        self.send_pieces(frame.payload, |piece, payload| {
            let piece = ScreenFrame {
                piece,
                payload,
                ..*frame
            };
            piece.encode()
        })
    }

    /// Queues the frames `encode` makes of the pieces of `payload`: all of them, or none
    /// (a receiver cannot use part of a picture).
    fn send_pieces(&self, payload: &[u8], encode: impl Fn(Piece, &[u8]) -> Vec<u8>) -> bool {
        let frames = (pieces(payload, self.max_frame).into_iter())
            .map(|(piece, part)| Message::Binary(encode(piece, part).into()))
            .collect();
        self.lane.send_all(frames)
    }
}

/// Whether and where video may leave the SDK.
pub struct Gate {
    uplink: Mutex<Option<Uplink>>,
    rooms: SharedRoomCache,
}

impl Gate {
    /// The media lane, if this user is in a meeting with its video open.
    pub fn media_lane(&self) -> Option<MediaLane> {
        let media = self.uplink.lock().as_ref()?.media.clone();
        let rooms = self.rooms.lock();
        let room = rooms.room.as_ref()?;
        let me = room.members.iter().find(|m| m.user_id == rooms.me)?;
        (me.video_status == MEDIA_OPEN).then_some(media)
    }

    /// The media lane, if this user is sharing its screen in a meeting.
    pub fn screen_lane(&self) -> Option<MediaLane> {
        let media = self.uplink.lock().as_ref()?.media.clone();
        let rooms = self.rooms.lock();
        let room = rooms.room.as_ref()?;
        (room.sharer.as_deref() == Some(&*rooms.me)).then_some(media)
    }

    /// The media lane, if this user is in a meeting (what the media it plays goes on).
    pub fn room_lane(&self) -> Option<MediaLane> {
        let media = self.uplink.lock().as_ref()?.media.clone();
        self.rooms.lock().room.as_ref()?;
        Some(media)
    }

    /// Sends a one-way request, if logged in.
    fn notify(&self, request: Request) {
        if let Some(uplink) = self.uplink.lock().as_ref() {
            let frame = ClientFrame { id: 0, request };
            uplink.control.send(Message::text(encode(&frame)));
        }
    }

    /// Frames of `user_id`'s camera `video_id` were lost here: ask for a key frame.
    pub fn request_key_frame(&self, user_id: &str, video_id: u8) {
        self.notify(Request::RequestKeyFrame {
            user_id: user_id.to_owned(),
            video_id,
        });
    }
}

#[derive(Default)]
struct Inner {
    cams: BTreeMap<u8, Camera>,
    /// This user's default camera (0: none).
    default: u8,
    /// The room entry (see `client::rooms::Room::entry`) the fields below belong to.
    entry: Option<u64>,
    /// The other members' cameras.
    members: HashMap<String, MemberVideos>,
    streams: HashMap<(String, u8), Stream>,
    /// What this user watches (`userID.videoID`); None: every video.
    watch: Option<HashSet<String>>,
    /// Decoder threads of ended videos, joined at the end of the session or Uninit.
    ended: Vec<JoinHandle<()>>,
    /// This user's screen, once the app gave an image or set the share up.
    screen: Option<ScreenSource>,
    screen_cfg: ScreenCfg,
    screen_catch: bool,
}

impl Inner {
    fn cams_of_mine(&self, me: &str) -> MemberVideos {
        MemberVideos {
            user_id: me.to_owned(),
            devs: (self.cams.iter())
                .map(|(&video_id, c)| VideoDev {
                    video_id,
                    name: c.spec.name.clone(),
                })
                .collect(),
            default_video: self.default,
        }
    }

    fn watches(&self, user_id: &str, video_id: u8) -> bool {
        self.watch
            .as_ref()
            .is_none_or(|w| w.contains(&format!("{user_id}.{video_id}")))
    }

    /// Ends the received videos `keep` says no to.
    fn end_streams(&mut self, keep: impl Fn(&Inner, &(String, u8)) -> bool) {
        let gone: Vec<(String, u8)> = (self.streams.keys())
            .filter(|k| !keep(self, k))
            .cloned()
            .collect();
        for key in gone {
            let stream = self.streams.remove(&key).expect("listed");
            self.ended.extend(stream.stop());
        }
        self.ended.retain(|t| !t.is_finished());
    }
}

/// A picture handed to the app.
pub struct Image {
    pub format: i32,
    pub width: usize,
    pub height: usize,
    pub time_ms: i64,
    pub data: Vec<u8>,
}

/// The SDK's video: one per instance.
pub struct Video {
    events: Arc<Dispatcher>,
    gate: Arc<Gate>,
    rooms: SharedRoomCache,
    inner: Mutex<Inner>,
    /// The clock of screen images (ms since this instance started).
    epoch: std::time::Instant,
}

impl Video {
    pub fn new(events: Arc<Dispatcher>, rooms: SharedRoomCache) -> Video {
        Video {
            events,
            gate: Arc::new(Gate {
                uplink: Mutex::new(None),
                rooms: rooms.clone(),
            }),
            rooms,
            inner: Mutex::default(),
            epoch: std::time::Instant::now(),
        }
    }

    fn me(&self) -> String {
        self.rooms.lock().me.clone()
    }

    /// Where video may leave the SDK (the media player sends through it too).
    pub fn gate(&self) -> Arc<Gate> {
        self.gate.clone()
    }

    /// `CRVideo_CreateCustomVideoDev`: the new camera's ID.
    pub fn create(&self, spec: CameraSpec) -> Result<u8, ErrorCode> {
        if picture::image_len(spec.format, 0, 0).is_none()
            || !valid_size(spec.width, spec.height)
            || spec.name.is_empty()
            || spec.name.len() > 255
        {
            return Err(ErrorCode::ParamErr);
        }
        let me = self.me();
        let mut inner = self.inner.lock();
        if inner.cams.len() >= MAX_VIDEO_DEVS {
            return Err(ErrorCode::ParamErr);
        }
        let id = (1..=u8::MAX)
            .find(|id| !inner.cams.contains_key(id))
            .expect("at most 5");
        let camera = Camera::start(id, spec, self.gate.clone()).map_err(|e| {
            tracing::error!("{e}");
            ErrorCode::InnerErr
        })?;
        inner.cams.insert(id, camera);
        self.events.push(Event::VideoDevChanged {
            user_id: me.clone(),
        });
        if inner.default == 0 {
            inner.default = id;
            self.events.push(Event::DefVideoChanged {
                user_id: me.clone(),
                video_id: id as i32,
            });
        }
        self.announce(&inner, &me);
        Ok(id)
    }

    /// `CRVideo_DestroyCustomVideoDev`.
    pub fn destroy(&self, video_id: i32) -> Result<(), ErrorCode> {
        let me = self.me();
        let mut inner = self.inner.lock();
        let id = own_id(&inner, video_id)?;
        let camera = inner.cams.remove(&id);
        self.events.push(Event::VideoDevChanged {
            user_id: me.clone(),
        });
        if inner.default == id {
            inner.default = inner.cams.keys().next().copied().unwrap_or(0);
            self.events.push(Event::DefVideoChanged {
                user_id: me.clone(),
                video_id: inner.default as i32,
            });
        }
        self.announce(&inner, &me);
        drop(inner);
        // Joins the camera's thread, outside the lock.
        drop(camera);
        Ok(())
    }

    /// `CRVideo_InputCustomVideoDat`.
    pub fn input(&self, video_id: i32, data: &[u8], time_ms: i64) -> Result<(), ErrorCode> {
        let inner = self.inner.lock();
        let camera = &inner.cams[&own_id(&inner, video_id)?];
        let spec = &camera.spec;
        if picture::image_len(spec.format, spec.width, spec.height) != Some(data.len()) {
            return Err(ErrorCode::ParamErr);
        }
        camera.input(data, time_ms);
        Ok(())
    }

    /// `CRVideo_SetDefaultVideo`.
    pub fn set_default(&self, video_id: i32) -> Result<(), ErrorCode> {
        let me = self.me();
        let mut inner = self.inner.lock();
        let id = own_id(&inner, video_id)?;
        if inner.default != id {
            inner.default = id;
            self.events.push(Event::DefVideoChanged {
                user_id: me.clone(),
                video_id: id as i32,
            });
            self.announce(&inner, &me);
        }
        Ok(())
    }

    /// `CRVideo_GetDefaultVideo`: 0 when the user has none or is not known here.
    pub fn default_of(&self, user_id: &str) -> i32 {
        let me = self.me();
        let inner = self.inner.lock();
        if user_id == me || user_id.is_empty() {
            return inner.default as i32;
        }
        inner
            .members
            .get(user_id)
            .map_or(0, |m| m.default_video as i32)
    }

    /// `CRVideo_GetAllVideoInfo`: `[{"userID","videoID","videoName"}]`, `[]` for a user not
    /// known here.
    pub fn info_json(&self, user_id: &str) -> String {
        let me = self.me();
        let inner = self.inner.lock();
        let cams = if user_id == me || user_id.is_empty() {
            inner.cams_of_mine(&me)
        } else {
            inner.members.get(user_id).cloned().unwrap_or_default()
        };
        let list: Vec<serde_json::Value> = (cams.devs.iter())
            .map(|d| {
                serde_json::json!({
                    "userID": if user_id.is_empty() { &me } else { user_id },
                    "videoID": d.video_id,
                    "videoName": d.name,
                })
            })
            .collect();
        serde_json::Value::Array(list).to_string()
    }

    /// `CRVideo_SetWatchVideos`: None watches every video.
    pub fn set_watch(&self, videos: Option<Vec<String>>) {
        let mut inner = self.inner.lock();
        inner.watch = videos.clone().map(|v| v.into_iter().collect());
        inner.end_streams(|inner, (user, id)| !is_camera(*id) || inner.watches(user, *id));
        if inner.entry.is_some() {
            self.gate.notify(Request::SetWatchVideos { videos });
        }
    }

    /// `CRVideo_GetVideoImg`: the newest picture of a video in `format`, scaled down to fit.
    pub fn image(
        &self,
        user_id: &str,
        video_id: i32,
        format: i32,
        max_w: i32,
        max_h: i32,
    ) -> Result<Image, ErrorCode> {
        if picture::image_len(format, 0, 0).is_none() {
            return Err(ErrorCode::ParamErr);
        }
        let me = self.me();
        let latest = {
            let inner = self.inner.lock();
            if user_id == me || user_id.is_empty() {
                let camera = &inner.cams[&own_id(&inner, video_id)?];
                camera.preview.lock().clone()
            } else {
                let id = u8::try_from(video_id).map_err(|_| ErrorCode::ParamErr)?;
                let known = inner.members.get(user_id);
                if !known.is_some_and(|m| m.devs.iter().any(|d| d.video_id == id)) {
                    return Err(ErrorCode::ParamErr);
                }
                let stream = inner.streams.get(&(user_id.to_owned(), id));
                stream.and_then(|s| s.latest.taken())
            }
        };
        shown(latest, format, max_w, max_h)
    }

    /// The newest picture of camera `video_id` of `user_id` (this user's: its preview), for
    /// a recording; unlike [`Video::image`] it does not count as the app taking it.
    pub fn peek_camera(&self, user_id: &str, video_id: u8) -> Option<Arc<Picture>> {
        let me = self.me();
        let inner = self.inner.lock();
        if user_id == me {
            return inner.cams.get(&video_id)?.preview.lock().clone();
        }
        let stream = inner.streams.get(&(user_id.to_owned(), video_id))?;
        let picture = stream.latest.picture.lock().clone();
        picture
    }

    /// The newest picture of the shared screen (this user's own when it shares), for a
    /// recording.
    pub fn peek_screen(&self) -> Option<Arc<Picture>> {
        let inner = self.inner.lock();
        let remote = (inner.streams.iter()).find(|((_, id), _)| *id == SCREEN);
        if let Some((_, stream)) = remote {
            return stream.latest.picture.lock().clone();
        }
        let picture = inner.screen.as_ref()?.preview.lock().clone();
        picture
    }

    /// The newest picture of `user_id`'s media as received (taken: `taken`, re-arming
    /// `NotifyMemberMediaData`; otherwise only looked at, for a recording).
    pub fn media_picture(&self, user_id: &str, taken: bool) -> Option<Arc<Picture>> {
        let inner = self.inner.lock();
        let latest = &inner
            .streams
            .get(&(user_id.to_owned(), MEDIA_VIDEO))?
            .latest;
        match taken {
            true => latest.taken(),
            false => latest.picture.lock().clone(),
        }
    }

    /// Whether `user_id` plays media to the meeting (in the room copy).
    fn plays_media(&self, user_id: &str) -> bool {
        let rooms = self.rooms.lock();
        let media = rooms.room.as_ref().and_then(|r| r.media.as_ref());
        media.is_some_and(|m| m.user_id == user_id)
    }

    /// `user_id`'s media stopped: its decoder ends.
    pub fn on_media_stopped(&self, user_id: &str) {
        let mut inner = self.inner.lock();
        inner.end_streams(|_, (user, id)| !(user == user_id && *id == MEDIA_VIDEO));
    }

    /// `CRVideo_SetScreenShareCfg`.
    pub fn set_screen_cfg(&self, cfg: ScreenCfg) -> Result<(), ErrorCode> {
        let mut inner = self.inner.lock();
        inner.screen_cfg = cfg;
        self.screen(&mut inner)?.set_cfg(cfg);
        Ok(())
    }

    /// `CRVideo_SetCustomizeCatchScreen`.
    pub fn set_catch_screen(&self, catch: bool) -> Result<(), ErrorCode> {
        let mut inner = self.inner.lock();
        inner.screen_catch = catch;
        self.screen(&mut inner)?.set_catch(catch);
        Ok(())
    }

    /// `CRVideo_SetCustomizeScreenImg`.
    pub fn set_screen_image(
        &self,
        format: i32,
        width: usize,
        height: usize,
        data: &[u8],
    ) -> Result<(), ErrorCode> {
        if !valid_size(width, height)
            || picture::image_len(format, width, height) != Some(data.len())
        {
            return Err(ErrorCode::ParamErr);
        }
        let time_ms = self.epoch.elapsed().as_millis() as i64;
        let mut inner = self.inner.lock();
        self.screen(&mut inner)?
            .input(format, width, height, data, time_ms);
        Ok(())
    }

    /// This user's screen source, started at its first use.
    fn screen<'a>(&self, inner: &'a mut Inner) -> Result<&'a ScreenSource, ErrorCode> {
        if inner.screen.is_none() {
            let source = ScreenSource::start(self.gate.clone(), self.events.clone());
            let source = source.map_err(|e| {
                tracing::error!("{e}");
                ErrorCode::InnerErr
            })?;
            source.set_cfg(inner.screen_cfg);
            source.set_catch(inner.screen_catch);
            inner.screen = Some(source);
        }
        Ok(inner.screen.as_ref().expect("started above"))
    }

    /// `CRVideo_GetShareScreenDecodeImg`: the shared screen (this user's own when it is the
    /// sharer).
    pub fn screen_image(&self, format: i32, max_w: i32, max_h: i32) -> Result<Image, ErrorCode> {
        if picture::image_len(format, 0, 0).is_none() {
            return Err(ErrorCode::ParamErr);
        }
        let (me, sharer) = {
            let rooms = self.rooms.lock();
            let sharer = rooms.room.as_ref().and_then(|r| r.sharer.clone());
            (rooms.me.clone(), sharer)
        };
        let latest = {
            let inner = self.inner.lock();
            match sharer {
                Some(sharer) if sharer == me => {
                    inner.screen.as_ref().and_then(|s| s.preview.lock().clone())
                }
                Some(sharer) => inner
                    .streams
                    .get(&(sharer, SCREEN))
                    .and_then(|s| s.latest.taken()),
                None => None,
            }
        };
        shown(latest, format, max_w, max_h)
    }
}

/// `picture` (None: `ERR_DATA`, no picture yet) in `format`, scaled down to fit.
pub fn shown(
    picture: Option<Arc<Picture>>,
    format: i32,
    max_w: i32,
    max_h: i32,
) -> Result<Image, ErrorCode> {
    let picture = picture.ok_or(ErrorCode::ErrData)?;
    let (width, height) = picture.fit(max_w, max_h);
    let scaled;
    let shown: &Picture = if (width, height) == (picture.width, picture.height) {
        &picture
    } else {
        scaled = picture.scaled(width, height);
        &scaled
    };
    Ok(Image {
        format,
        width,
        height,
        time_ms: picture.time_ms,
        data: shown.to_format(format),
    })
}

impl Video {
    /// Tells the server this user's cameras, when in a meeting.
    fn announce(&self, inner: &Inner, me: &str) {
        if inner.entry.is_some() {
            self.gate
                .notify(Request::SetVideoDevs(inner.cams_of_mine(me)));
        }
    }

    /// The session is logged in (Some) or over (None); a logout also ends the cameras.
    pub fn set_uplink(&self, uplink: Option<Uplink>, logout: bool) {
        *self.gate.uplink.lock() = uplink;
        let ended = {
            let mut inner = self.inner.lock();
            if logout {
                inner.default = 0;
                (std::mem::take(&mut inner.cams), inner.screen.take())
            } else {
                (BTreeMap::new(), None)
            }
        };
        // Joins their threads, outside the lock.
        drop(ended);
    }

    /// Follows the room copy: a new entry takes the members' cameras and announces this
    /// user's; leaving ends every received video. Called by the engine after each change.
    pub fn follow_room(&self) {
        let (entry, videos, me) = {
            let mut rooms = self.rooms.lock();
            let me = rooms.me.clone();
            match rooms.room.as_mut() {
                Some(room) => (Some(room.entry), std::mem::take(&mut room.videos), me),
                None => (None, Vec::new(), me),
            }
        };
        let mut inner = self.inner.lock();
        if inner.entry == entry {
            return;
        }
        inner.entry = entry;
        inner.members.clear();
        inner.end_streams(|_, _| false);
        if entry.is_none() {
            return;
        }
        for cams in videos {
            let user_id = cams.user_id.clone();
            inner.members.insert(user_id.clone(), cams);
            self.events.push(Event::VideoDevChanged { user_id });
        }
        self.announce(&inner, &me);
        if let Some(watch) = &inner.watch {
            self.gate.notify(Request::SetWatchVideos {
                videos: Some(watch.iter().cloned().collect()),
            });
        }
    }

    /// A member's cameras changed.
    pub fn on_member_videos(&self, cams: MemberVideos) {
        let mut inner = self.inner.lock();
        if inner.entry.is_none() {
            return;
        }
        let user_id = cams.user_id.clone();
        let old_default = inner.members.get(&user_id).map_or(0, |m| m.default_video);
        let new_default = cams.default_video;
        inner.members.insert(user_id.clone(), cams);
        inner.end_streams(|inner, (user, id)| {
            let cams = inner.members.get(user);
            !is_camera(*id) || cams.is_some_and(|m| m.devs.iter().any(|d| d.video_id == *id))
        });
        self.events.push(Event::VideoDevChanged {
            user_id: user_id.clone(),
        });
        if old_default != new_default {
            self.events.push(Event::DefVideoChanged {
                user_id,
                video_id: new_default as i32,
            });
        }
    }

    /// A member left the room.
    pub fn on_member_left(&self, user_id: &str) {
        let mut inner = self.inner.lock();
        inner.members.remove(user_id);
        inner.end_streams(|_, (user, _)| user != user_id);
    }

    /// The server asks for a key frame of camera `video_id`.
    pub fn on_key_frame_request(&self, video_id: u8) {
        let inner = self.inner.lock();
        if video_id == SCREEN {
            if let Some(screen) = &inner.screen {
                screen.force_key();
            }
        } else if let Some(camera) = inner.cams.get(&video_id) {
            camera.force_key();
        }
    }

    /// A video frame from the server (on the I/O thread: only queued here): a camera's, or
    /// a picture of the media a member plays.
    pub fn on_frame(&self, frame: &VideoFrame<'_>, data: &Bytes) {
        let media = frame.video_id == MEDIA_VIDEO;
        if media && !self.plays_media(frame.user) {
            return; // in flight when the media stopped: no decoder for it
        }
        let mut inner = self.inner.lock();
        if inner.entry.is_none() || !(media || inner.watches(frame.user, frame.video_id)) {
            return;
        }
        let key = (frame.user.to_owned(), frame.video_id);
        if !inner.streams.contains_key(&key) {
            let started = Stream::start(
                if media { Kind::Media } else { Kind::Camera },
                key.0.clone(),
                key.1,
                self.events.clone(),
                self.gate.clone(),
            );
            match started {
                Ok(stream) => inner.streams.insert(key.clone(), stream),
                Err(e) => return tracing::error!("{e}"),
            };
        }
        let payload = data.slice_ref(frame.payload);
        let stream = inner.streams.get_mut(&key).expect("started");
        if !stream.push(frame.key, frame.time_ms, None, frame.piece, payload) {
            self.gate.request_key_frame(frame.user, frame.video_id);
        }
    }

    /// A frame of the shared screen from the server (on the I/O thread: only queued here).
    pub fn on_screen_frame(&self, frame: &ScreenFrame<'_>, data: &Bytes) {
        let mut inner = self.inner.lock();
        if inner.entry.is_none() {
            return;
        }
        let key = (frame.user.to_owned(), SCREEN);
        if !inner.streams.contains_key(&key) {
            let user = key.0.clone();
            match Stream::start(
                Kind::Screen,
                user,
                SCREEN,
                self.events.clone(),
                self.gate.clone(),
            ) {
                Ok(stream) => inner.streams.insert(key.clone(), stream),
                Err(e) => return tracing::error!("{e}"),
            };
        }
        let payload = data.slice_ref(frame.payload);
        let stream = inner.streams.get_mut(&key).expect("started");
        let (time_ms, rect, piece) = (frame.time_ms, Some(frame.rect), frame.piece);
        if !stream.push(frame.key, time_ms, rect, piece, payload) {
            self.gate.request_key_frame(frame.user, SCREEN);
        }
    }

    /// `user_id` stopped sharing: its screen's decoder ends.
    pub fn on_share_stopped(&self, user_id: &str) {
        let mut inner = self.inner.lock();
        inner.end_streams(|_, (user, id)| !(user == user_id && *id == SCREEN));
    }

    /// Uninit: every thread ends and is joined.
    pub fn shutdown(&self) {
        let (cams, screen, ended) = {
            let mut inner = self.inner.lock();
            inner.end_streams(|_, _| false);
            let screen = inner.screen.take();
            (
                std::mem::take(&mut inner.cams),
                screen,
                std::mem::take(&mut inner.ended),
            )
        };
        drop((cams, screen));
        for thread in ended {
            let _ = thread.join();
        }
    }
}

/// Whether a received video's ID is a camera's (not the shared screen or the media).
fn is_camera(video_id: u8) -> bool {
    video_id != SCREEN && video_id != MEDIA_VIDEO
}

/// Whether a picture may be `width`×`height`: even, 16×16 to 3840×2160.
fn valid_size(width: usize, height: usize) -> bool {
    let side = |v: usize, max: usize| v.is_multiple_of(2) && (MIN_SIDE..=max).contains(&v);
    side(width, MAX_WIDTH) && side(height, MAX_HEIGHT)
}

/// `video_id` as one of this user's cameras, or `PARAM_ERR`.
fn own_id(inner: &Inner, video_id: i32) -> Result<u8, ErrorCode> {
    u8::try_from(video_id)
        .ok()
        .filter(|id| inner.cams.contains_key(id))
        .ok_or(ErrorCode::ParamErr)
}
