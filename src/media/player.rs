//! The player: one `crvideo-media` thread per `CRVideo_StartPlayMedia`. It opens the file
//! (MP4: H.264 and Opus), then walks its samples in time order at real time. Each picture
//! is decoded (this user's own picture of the media) and goes to the meeting as the file
//! has it when it can (a file of at most 4 Mbit/s): no encoding, no loss. When a receiver
//! needs a key frame (it entered, or lost a frame, or the player moved) and the file has
//! none there, the picture is encoded again like a camera's, from a key frame, until the
//! file's next IDR picture, where everyone follows the file again. Each sound packet is
//! decoded and cut into the meeting's 20 ms packets, heard by this user's own speaker too.
//! Pause, seek and stop come from the API through [`Control`]; what the meeting is told
//! goes through [`Announce`].

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crvideo_proto::data::{AudioFrame, Piece, VideoFrame, MEDIA_VIDEO};
use parking_lot::{Condvar, Mutex};

use super::sound::Transcoder;
use crate::audio::Audio;
use crate::dispatch::{Dispatcher, Event};
use crate::record::mp4_read::{annex_b, Mp4File, ReadError, Track};
use crate::video::codec::{EncodeSettings, VideoDecoder, VideoEncoder};
use crate::video::picture::Picture;
use crate::video::stream::Latest;
use crate::video::Gate;

/// `NotifyMediaStop`'s reasons.
pub const STOPPED: i32 = 0;
pub const REACHED_END: i32 = 1;
pub const OPEN_FAILED: i32 = 2;
pub const NOT_MEDIA: i32 = 3;
pub const UNSUPPORTED: i32 = 4;
pub const OTHER: i32 = 5;

/// Bits per pixel the media is encoded again with (a camera's sharpness at its size).
const BITS_PER_PIXEL: f32 = 0.15;
/// The highest bitrate at which a file's own pictures go to the meeting as they are (the
/// most a picture encoded again gets).
const MAX_RELAY_KBPS: u64 = 4000;

/// What the meeting (or, playing locally, only this user) is told.
pub enum Signal {
    Started { name: String },
    Paused(bool),
    Moved(i64),
    Stopped(i32),
}

/// Tells a [`Signal`] (see `Media::announcer`).
pub type Announce = Arc<dyn Fn(Signal) + Send + Sync>;

/// What to play.
pub struct PlaySpec {
    pub path: PathBuf,
    /// As the app named it (`CRVideo_GetMediaInfo`'s `mediaName`).
    pub name: String,
    /// Only on this SDK: nothing goes to the meeting.
    pub local: bool,
    /// At the end, pause on the last picture instead of stopping.
    pub pause_at_end: bool,
}

/// How a stop asked for from outside the thread is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopHow {
    /// `CRVideo_StopPlayMedia` (or a new file replacing this one): announced.
    Announced,
    /// This user left the meeting (the server told the others): only this user's app hears.
    Left,
    /// The server refused the start, or Uninit: the thread ends without a word.
    Quiet,
}

#[derive(Default)]
struct ControlState {
    paused: bool,
    seek: Option<u64>,
    stop: Option<StopHow>,
    key: bool,
}

/// What the API and the thread share.
#[derive(Default)]
pub struct Control {
    state: Mutex<ControlState>,
    wake: Condvar,
    /// This user's own pictures of the media (`CRVideo_GetMediaImg` with its own ID).
    pub own: Latest,
}

impl Control {
    fn change(&self, f: impl FnOnce(&mut ControlState)) {
        f(&mut self.state.lock());
        self.wake.notify_one();
    }

    pub fn pause(&self, pause: bool) {
        self.change(|s| s.paused = pause);
    }

    pub fn seek(&self, pos_ms: u64) {
        self.change(|s| s.seek = Some(pos_ms));
    }

    pub fn stop(&self, how: StopHow) {
        self.change(|s| {
            s.stop.get_or_insert(how);
        });
    }

    pub fn force_key(&self) {
        self.change(|s| s.key = true);
    }

    pub fn paused(&self) -> bool {
        self.state.lock().paused
    }
}

/// What the thread works with.
pub struct Parts {
    pub me: String,
    pub events: Arc<Dispatcher>,
    pub gate: Arc<Gate>,
    pub audio: Arc<Audio>,
    pub announce: Announce,
}

pub struct Player {
    pub spec_name: String,
    pub local: bool,
    pub control: Arc<Control>,
    thread: Option<JoinHandle<()>>,
}

impl Player {
    pub fn start(spec: PlaySpec, parts: Parts, control: Arc<Control>) -> Result<Player, String> {
        let (spec_name, local) = (spec.name.clone(), spec.local);
        let thread = {
            let control = control.clone();
            std::thread::Builder::new()
                .name("crvideo-media".into())
                .spawn(move || run(spec, parts, &control))
                .map_err(|e| format!("media thread: {e}"))?
        };
        Ok(Player {
            spec_name,
            local,
            control,
            thread: Some(thread),
        })
    }

    /// Ends the thread (told as `how` says) and waits for it.
    pub fn stop(mut self, how: StopHow) {
        self.control.stop(how);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.control.stop(StopHow::Quiet);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(spec: PlaySpec, parts: Parts, control: &Control) {
    let file = match Mp4File::open(&spec.path) {
        Ok(file) => file,
        Err(e) => {
            let reason = match e {
                ReadError::Io(_) => OPEN_FAILED,
                ReadError::NotMedia => NOT_MEDIA,
                ReadError::Unsupported => UNSUPPORTED,
            };
            tracing::info!(path = %spec.path.display(), "media not played: {e:?}");
            let user_id = parts.me.clone();
            parts
                .events
                .push(Event::NotifyMediaStop { user_id, reason });
            return;
        }
    };
    let (w, h) = file.video.as_ref().map_or((0, 0), |v| (v.width, v.height));
    parts.events.push(Event::NotifyMediaOpened {
        total_time_ms: file.duration_ms as i64,
        w: i32::from(w),
        h: i32::from(h),
    });
    let name = spec.name.clone();
    (parts.announce)(Signal::Started { name });
    let mut playing = match Playing::new(file, &parts, control, spec.local) {
        Ok(playing) => playing,
        Err(e) => {
            tracing::error!("{e}");
            return (parts.announce)(Signal::Stopped(OTHER));
        }
    };
    let reason = playing.run(&spec);
    match reason {
        Ok(reason) => (parts.announce)(Signal::Stopped(reason)),
        Err(StopHow::Announced) => (parts.announce)(Signal::Stopped(STOPPED)),
        Err(StopHow::Left) => parts.events.push(Event::NotifyMediaStop {
            user_id: parts.me.clone(),
            reason: STOPPED,
        }),
        Err(StopHow::Quiet) => {}
    }
}

/// The file being played and where in it.
struct Playing<'a> {
    file: Mp4File,
    parts: &'a Parts,
    control: &'a Control,
    /// Only on this SDK (nothing sent).
    local: bool,
    /// The next sample of each track.
    next_video: usize,
    next_audio: usize,
    decoder: VideoDecoder,
    /// The file's pictures may go to the meeting as they are (H.264 at most
    /// [`MAX_RELAY_KBPS`]); otherwise every picture is encoded again.
    relay: bool,
    /// Receivers follow the pictures encoded again (not the file's own).
    encoding: bool,
    /// The next picture sent must be a key frame.
    need_key: bool,
    encoder: Option<VideoEncoder>,
    /// The video track's pictures per second (what an encoder made again is set for).
    fps: f32,
    sound: Option<Transcoder>,
    audio_seq: u32,
    /// Pictures before this position are decoded, not shown (after a seek).
    show_from: u64,
    /// The clock: position `base` was at `started`.
    base: u64,
    started: Instant,
}

impl<'a> Playing<'a> {
    fn new(
        file: Mp4File,
        parts: &'a Parts,
        control: &'a Control,
        local: bool,
    ) -> Result<Playing<'a>, String> {
        let sound = match &file.audio {
            Some(Track {
                codec: crate::record::mp4_read::Codec::Opus { pre_skip, .. },
                ..
            }) => Some(Transcoder::new(*pre_skip)?),
            _ => None,
        };
        let fps = file.video.as_ref().map_or(15.0, frame_rate);
        let relay = file
            .video
            .as_ref()
            .is_some_and(|v| kbps(v) <= MAX_RELAY_KBPS);
        Ok(Playing {
            file,
            parts,
            control,
            local,
            next_video: 0,
            next_audio: 0,
            decoder: VideoDecoder::new()?,
            relay,
            encoding: !relay,
            need_key: true,
            encoder: None,
            fps,
            sound,
            audio_seq: 0,
            show_from: 0,
            base: 0,
            started: Instant::now(),
        })
    }

    /// The position now, ms.
    fn position(&self) -> u64 {
        self.base + self.started.elapsed().as_millis() as u64
    }

    /// The time of the next sample to play and whether it is a picture; None at the end.
    fn next(&self) -> Option<(u64, bool)> {
        let at = |t: &Option<Track>, i: usize| {
            let t = t.as_ref()?;
            Some(t.ms(t.samples.get(i)?.time))
        };
        let video = at(&self.file.video, self.next_video);
        let audio = at(&self.file.audio, self.next_audio).filter(|_| self.sound.is_some());
        match (video, audio) {
            (Some(v), Some(a)) if a < v => Some((a, false)),
            (Some(v), _) => Some((v, true)),
            (None, Some(a)) => Some((a, false)),
            (None, None) => None,
        }
    }

    /// Plays until the end (Ok: the reason to announce) or a stop from outside (Err).
    fn run(&mut self, spec: &PlaySpec) -> Result<i32, StopHow> {
        let control = self.control;
        let mut paused = false;
        let mut at_end = false;
        loop {
            let next = self.next();
            let mut state = control.state.lock();
            if let Some(how) = state.stop {
                return Err(how);
            }
            if let Some(pos) = state.seek.take() {
                drop(state);
                self.seek(pos);
                at_end = false;
                (self.parts.announce)(Signal::Moved(self.base as i64));
                continue;
            }
            if state.paused != paused {
                paused = state.paused;
                drop(state);
                if paused {
                    self.base = self.position().min(self.file.duration_ms);
                } else if at_end {
                    // Played again after pausing at the end: from the start.
                    self.seek(0);
                    at_end = false;
                } else {
                    self.started = Instant::now();
                }
                (self.parts.announce)(Signal::Paused(paused));
                continue;
            }
            if paused {
                if std::mem::take(&mut state.key) {
                    drop(state);
                    if let Err(e) = self.still() {
                        tracing::debug!("media still: {e}");
                    }
                    continue;
                }
                control.wake.wait(&mut state);
                continue;
            }
            let Some((time, picture)) = next else {
                if !spec.pause_at_end {
                    return Ok(REACHED_END);
                }
                // Paused on the last picture; resuming starts again.
                state.paused = true;
                at_end = true;
                continue;
            };
            let due = self.started + Duration::from_millis(time.saturating_sub(self.base));
            if Instant::now() < due && time >= self.show_from {
                control.wake.wait_until(&mut state, due);
                continue;
            }
            // A key frame asked for goes with the next picture.
            let key = picture && std::mem::take(&mut state.key);
            drop(state);
            let read = match picture {
                true => self.picture(time, key),
                false => self.sound(time),
            };
            if let Err(e) = read {
                tracing::warn!("media: {e}");
                return Ok(OTHER);
            }
        }
    }

    /// Moves to `pos` (at most the end): pictures from the key frame before it are decoded
    /// again without being shown, sound starts at it.
    fn seek(&mut self, pos: u64) {
        let pos = pos.min(self.file.duration_ms);
        if let Some(video) = &self.file.video {
            let before = |s: &crate::record::mp4_read::Sample| video.ms(s.time) <= pos;
            let key = (video.samples.iter().enumerate())
                .filter(|(_, s)| s.key && before(s))
                .map(|(i, _)| i)
                .next_back();
            self.next_video = key.unwrap_or(0);
        }
        if let Some(audio) = &self.file.audio {
            self.next_audio = (audio.samples.iter())
                .position(|s| audio.ms(s.time) >= pos)
                .unwrap_or(audio.samples.len());
            if let Some(sound) = &mut self.sound {
                match Transcoder::new(0) {
                    Ok(fresh) => *sound = fresh,
                    Err(e) => tracing::error!("{e}"),
                }
            }
        }
        self.show_from = pos;
        self.base = pos;
        self.started = Instant::now();
        self.need_key = true;
    }

    /// The next picture, at `time`: decoded, kept, and (unless only decoded to reach a seek's
    /// position) sent to the meeting.
    fn picture(&mut self, time: u64, key: bool) -> Result<(), String> {
        let track = self
            .file
            .video
            .as_ref()
            .expect("a picture is of the video track");
        let sample = track.samples[self.next_video];
        self.next_video += 1;
        let data = self.file.read(&sample).map_err(|e| format!("read: {e}"))?;
        let codec = &self.file.video.as_ref().expect("read above").codec;
        let Some(data) = annex_b(codec, &data, sample.key) else {
            return Err("a picture's NAL units do not fit it".into());
        };
        let picture = match self.decoder.decode(&data, time as i64) {
            Ok(Some(picture)) => Arc::new(picture),
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::debug!("media picture: {e}");
                return Ok(());
            }
        };
        if time < self.show_from {
            return Ok(());
        }
        self.show(picture.clone(), time);
        let idr = sample.key && is_idr(&data);
        self.send(&picture, time, Some((&data, idr)), key)
    }

    /// While paused: a receiver that needs a key frame (one entering) gets the picture
    /// shown now, encoded again.
    fn still(&mut self) -> Result<(), String> {
        let Some(picture) = self.control.own.picture.lock().clone() else {
            return Ok(());
        };
        self.send(&picture, picture.time_ms as u64, None, true)
    }

    /// Sends a picture at `time` to the meeting: the file's own (`file`: its bytes and
    /// whether it is an IDR picture) while that works (no loss of quality, no encoding), or
    /// the picture encoded again from a key frame made when one is needed (`key`: a member
    /// entering or losing a frame; a move; a still) until the file's next IDR picture, where
    /// every receiver can follow the file again.
    fn send(
        &mut self,
        picture: &Picture,
        time: u64,
        file: Option<(&[u8], bool)>,
        key: bool,
    ) -> Result<(), String> {
        let Some(lane) = self.parts.gate.room_lane().filter(|_| !self.local) else {
            self.need_key = true; // whoever gets the next picture sent needs a key frame
            return Ok(());
        };
        let need_key = std::mem::take(&mut self.need_key) || key;
        match file {
            Some((_, true)) if self.relay => self.encoding = false,
            None => self.encoding = true,
            _ if need_key => self.encoding = true,
            _ => {}
        }
        let encoded;
        let (key, payload) = match (self.encoding, file) {
            (false, Some((data, idr))) => (idr, data),
            _ => {
                if self.encoder.is_none() {
                    let settings = encode_settings(picture.width, picture.height, self.fps);
                    self.encoder = Some(VideoEncoder::new(settings)?);
                }
                let encoder = self.encoder.as_mut().expect("made above");
                if need_key {
                    encoder.force_key();
                }
                encoded = encoder.encode(picture)?;
                match &encoded {
                    Some(e) => (e.key, &e.data[..]),
                    None => {
                        // Skipped by the rate control: the key frame comes with the next one.
                        self.need_key |= need_key;
                        return Ok(());
                    }
                }
            }
        };
        let frame = VideoFrame {
            key,
            piece: Piece::WHOLE,
            video_id: MEDIA_VIDEO,
            time_ms: time as i64,
            user: "",
            payload,
        };
        if !lane.send_video(&frame) {
            self.need_key = true; // lost: the next picture starts again
        }
        Ok(())
    }

    /// This user's own picture of the media, announced once until the app takes it.
    fn show(&self, picture: Arc<Picture>, time: u64) {
        let own = &self.control.own;
        *own.picture.lock() = Some(picture);
        if !own.notified.swap(true, Ordering::AcqRel) {
            self.parts.events.push(Event::NotifyMemberMediaData {
                user_id: self.parts.me.clone(),
                cur_pos_ms: time as i64,
            });
        }
    }

    /// The next sound packet, at `time`: to the meeting and this user's speaker.
    fn sound(&mut self, time: u64) -> Result<(), String> {
        let track = self
            .file
            .audio
            .as_ref()
            .expect("a sound is of the audio track");
        let sample = track.samples[self.next_audio];
        self.next_audio += 1;
        let data = self.file.read(&sample).map_err(|e| format!("read: {e}"))?;
        let lane = self.parts.gate.room_lane().filter(|_| !self.local);
        let (audio, seq) = (&self.parts.audio, &mut self.audio_seq);
        let sound = self.sound.as_mut().expect("only with a transcoder");
        sound.packet(&data, |packet| {
            if let Some(lane) = &lane {
                lane.send_audio(&AudioFrame {
                    level: 0,
                    seq: *seq,
                    time_ms: time as i64,
                    user: "",
                    media: true,
                    payload: packet,
                });
            }
            audio.play_own_media(*seq, Bytes::copy_from_slice(packet));
            *seq = seq.wrapping_add(1);
        });
        Ok(())
    }
}

/// What the media's pictures are encoded again with: a camera's settings at the media's
/// size and rate, [`BITS_PER_PIXEL`] (300 kbit/s – 4 Mbit/s).
pub fn encode_settings(width: usize, height: usize, fps: f32) -> EncodeSettings {
    let kbps = (width * height) as f32 * fps * BITS_PER_PIXEL / 1000.0;
    EncodeSettings {
        fps,
        kbps: (kbps as u32).clamp(300, 4000),
        screen: false,
    }
}

/// Whether an Annex B picture holds an IDR slice (decodable with nothing before it: a
/// receiver may start there, whatever stream it followed).
fn is_idr(annex_b: &[u8]) -> bool {
    crate::record::mp4::nal_units(annex_b).any(|nal| nal.first().is_some_and(|b| b & 0x1f == 5))
}

/// A video track's bitrate, kbit/s.
fn kbps(track: &Track) -> u64 {
    let bytes: u64 = track.samples.iter().map(|s| s.size as u64).sum();
    bytes * 8 / track.ms(track.end).max(1)
}

/// A video track's pictures per second (15 when it cannot tell).
pub fn frame_rate(track: &Track) -> f32 {
    let (Some(first), Some(last)) = (track.samples.first(), track.samples.last()) else {
        return 15.0;
    };
    let span = track.ms(last.time - first.time) as f32 / 1000.0;
    if track.samples.len() < 2 || span <= 0.0 {
        return 15.0;
    }
    ((track.samples.len() - 1) as f32 / span).clamp(1.0, 60.0)
}
