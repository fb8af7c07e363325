//! Audio in meetings: the app's microphone PCM out as Opus ([`codec`]), the other members'
//! packets into a jitter buffer each ([`jitter`]), mixed ([`mixer`]) into the speaker
//! stream at real time, speaking levels ([`level`]), and the PCM taps of
//! `CRVideo_StartGetAudioPCM` ([`tap`]).
//!
//! Threads: the app's `CRVideo_PushCustomAudioDat` call encodes (about 0.2 ms per 20 ms
//! packet) and queues the packet on the session's media lane without waiting; the I/O
//! thread only files received packets; the speaker clock ([`clock`]), one thread while in
//! a meeting, mixes 10 ms every 10 ms (unless the app pulls the mix at its own clock with
//! `CRVideo_PullCustomAudioDat`) and reports levels.

pub mod clock;
pub mod codec;
pub mod jitter;
pub mod level;
pub mod mixer;
pub mod record_feed;
pub mod speaker;
pub mod tap;
#[cfg(test)]
pub(crate) mod testing;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use crvideo_proto::data::AudioFrame;
use crvideo_proto::MEDIA_OPEN;
use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::client::connection::MediaSender;
use crate::client::rooms::SharedRoomCache;
use crate::dispatch::{Dispatcher, Event};
use crate::ErrorCode;
use codec::{Encoder, FRAME};
use jitter::JitterBuffer;
use level::Levels;
use mixer::{Mixer, SpeakerKey, TICK};
use record_feed::{RecordFeed, SharedFeed};
use speaker::{Speaker, SpeakerTap};
use tap::{Tap, WavFile, CHUNK_BYTES, MAX_EACH};

/// `aSide` of the own microphone and of the speaker.
pub const SIDE_MIC: i32 = 0;
pub const SIDE_SPEAKER: i32 = 1;

/// How a side's PCM goes to the app (`CRVideo_StartGetAudioPCM`'s `getType`).
pub enum TapSpec {
    /// `NotifyAudioPCMDat` with this many bytes each.
    Notify { each: usize },
    /// A WAV file at this path.
    Wav(PathBuf),
}

/// The microphone side.
#[derive(Default)]
struct Mic {
    /// `CRVideo_SetCustomAudioCapture(1)`.
    capture: bool,
    encoder: Option<Encoder>,
    /// Samples pushed and not yet a whole packet.
    pending: Vec<i16>,
    /// The next packet's sequence number.
    seq: u32,
    tap: Option<Tap>,
}

/// The SDK's audio: one per instance.
pub struct Audio {
    events: Arc<Dispatcher>,
    rooms: SharedRoomCache,
    /// The session's media lane while logged in.
    uplink: Mutex<Option<MediaSender>>,
    mic: Mutex<Mic>,
    speaker: Arc<Mutex<Speaker>>,
    speaker_tap: SpeakerTap,
    levels: Arc<Mutex<Levels>>,
    clock: Mutex<Option<clock::Clock>>,
    /// PCM for a recording, while one runs.
    record_feed: SharedFeed,
    /// The clock of packets' `time_ms`.
    epoch: Instant,
}

impl Audio {
    pub fn new(events: Arc<Dispatcher>, rooms: SharedRoomCache) -> Audio {
        Audio {
            events,
            rooms,
            uplink: Mutex::new(None),
            mic: Mutex::default(),
            speaker: Arc::default(),
            speaker_tap: Arc::default(),
            levels: Arc::default(),
            clock: Mutex::new(None),
            record_feed: Arc::default(),
            epoch: Instant::now(),
        }
    }

    /// `CRVideo_SetCustomAudioCapture`. The encoder is made here, not at the first push,
    /// so that push is as quick as the others.
    pub fn set_capture(&self, enable: bool) -> Result<(), ErrorCode> {
        let mut mic = self.mic.lock();
        if enable && mic.encoder.is_none() {
            mic.encoder = Some(Encoder::new().map_err(inner_err)?);
        }
        mic.capture = enable;
        mic.pending.clear();
        Ok(())
    }

    /// `CRVideo_PushCustomAudioDat`: `pcm` is 16 kHz 16-bit little-endian mono, a whole
    /// number of 10 ms.
    pub fn push(&self, pcm: &[u8]) -> Result<(), ErrorCode> {
        if pcm.is_empty() || !pcm.len().is_multiple_of(CHUNK_BYTES) {
            return Err(ErrorCode::ParamErr);
        }
        let lane = self.lane();
        let me = self.rooms.lock().me.clone();
        let mut guard = self.mic.lock();
        let mic = &mut *guard;
        if !mic.capture {
            return Err(ErrorCode::ParamErr);
        }
        let samples: Vec<i16> = (pcm.chunks_exact(2))
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        if let Some(tap) = &mut mic.tap {
            tap.feed(&samples);
        }
        mic.pending.extend_from_slice(&samples);
        let now = Instant::now();
        let mut at = 0;
        while mic.pending.len() - at >= FRAME {
            let frame: [i16; FRAME] = mic.pending[at..at + FRAME].try_into().expect("FRAME");
            at += FRAME;
            let Some(lane) = &lane else {
                continue;
            };
            if let Some(feed) = self.record_feed.lock().as_mut() {
                feed.add_own(&frame);
            }
            let level = level::level(&frame);
            self.levels.lock().heard(&me, level, now);
            // The packet's first sample was pushed this long before the last one.
            let ahead = ((mic.pending.len() - at + FRAME) / (codec::RATE / 1000)) as i64;
            let time_ms = self.epoch.elapsed().as_millis() as i64 - ahead;
            let encoder = match &mut mic.encoder {
                Some(encoder) => encoder,
                None => mic.encoder.insert(Encoder::new().map_err(inner_err)?),
            };
            let packet = AudioFrame {
                level,
                seq: mic.seq,
                time_ms,
                user: "",
                media: false,
                payload: encoder.encode(&frame).map_err(inner_err)?,
            };
            // A full lane loses the packet; the receivers conceal it.
            lane.send_audio(Message::Binary(packet.encode().into()));
            mic.seq = mic.seq.wrapping_add(1);
        }
        mic.pending.drain(..at);
        Ok(())
    }

    /// The media lane, if this user is in a meeting with its mic open.
    fn lane(&self) -> Option<MediaSender> {
        let lane = self.uplink.lock().clone()?;
        let rooms = self.rooms.lock();
        let room = rooms.room.as_ref()?;
        let me = room.members.iter().find(|m| m.user_id == rooms.me)?;
        (me.audio_status == MEDIA_OPEN).then_some(lane)
    }

    /// `CRVideo_StartGetAudioPCM`: replaces what the side had.
    pub fn start_tap(&self, side: i32, spec: TapSpec) -> Result<(), ErrorCode> {
        let tap = match spec {
            TapSpec::Notify { each } => {
                if !(CHUNK_BYTES..=MAX_EACH).contains(&each) || !each.is_multiple_of(CHUNK_BYTES) {
                    return Err(ErrorCode::ParamErr);
                }
                Tap::Notify {
                    side,
                    each,
                    pending: Vec::new(),
                    events: self.events.clone(),
                }
            }
            TapSpec::Wav(path) => Tap::Wav(WavFile::create(path)?),
        };
        self.set_tap(side, Some(tap))
    }

    /// `CRVideo_StopGetAudioPCM` (a WAV file is finished here).
    pub fn stop_tap(&self, side: i32) -> Result<(), ErrorCode> {
        self.set_tap(side, None)
    }

    fn set_tap(&self, side: i32, tap: Option<Tap>) -> Result<(), ErrorCode> {
        let old = match side {
            SIDE_MIC => std::mem::replace(&mut self.mic.lock().tap, tap),
            SIDE_SPEAKER => std::mem::replace(&mut *self.speaker_tap.lock(), tap),
            _ => return Err(ErrorCode::ParamErr),
        };
        // A WAV file is finished outside the lock.
        drop(old);
        Ok(())
    }

    /// `CRVideo_SetCustomAudioPlayback`.
    pub fn set_playback(&self, enable: bool) {
        let mut speaker = self.speaker.lock();
        speaker.pull = enable;
        speaker.pulled.clear();
    }

    /// `CRVideo_PullCustomAudioDat`: the next `out.len()` bytes (even) of the speaker
    /// stream.
    pub fn pull(&self, out: &mut [u8]) -> Result<(), ErrorCode> {
        if out.is_empty() || !out.len().is_multiple_of(2) {
            return Err(ErrorCode::ParamErr);
        }
        let mut speaker = self.speaker.lock();
        if !speaker.pull {
            return Err(ErrorCode::ParamErr);
        }
        let now = Instant::now();
        let mut samples = std::mem::take(&mut speaker.pulled);
        let wanted = out.len() / 2;
        let ticks = wanted.saturating_sub(samples.len()).div_ceil(TICK);
        // The jitter buffers must hold what this pull takes beyond its first 10 ms.
        let lead = clock::PERIOD * ticks.saturating_sub(1) as u32;
        let mut made = Vec::with_capacity(ticks * TICK);
        for _ in 0..ticks {
            made.extend_from_slice(&speaker.tick(now, lead));
        }
        samples.extend_from_slice(&made);
        speaker.pulled = samples.split_off(wanted);
        drop(speaker);
        for (o, s) in out.chunks_exact_mut(2).zip(samples) {
            o.copy_from_slice(&s.to_le_bytes());
        }
        if let Some(tap) = self.speaker_tap.lock().as_mut() {
            tap.feed(&made);
        }
        if let Some(feed) = self.record_feed.lock().as_mut() {
            feed.add_others(&made);
        }
        Ok(())
    }

    /// Starts (`true`) or ends keeping PCM for a recording.
    pub fn set_record_feed(&self, on: bool) {
        *self.record_feed.lock() = on.then(RecordFeed::default);
    }

    /// The recording's next `n` samples of each side (see [`RecordFeed::take`]).
    pub fn take_record_pcm(
        &self,
        n: usize,
        keep: usize,
        own: &mut Vec<i16>,
        others: &mut Vec<i16>,
    ) {
        if let Some(feed) = self.record_feed.lock().as_mut() {
            feed.take(n, keep, own, others);
        }
    }

    /// `CRVideo_GetMicEnergy`: the level last reported for `user_id` ("": this user).
    pub fn mic_energy(&self, user_id: &str) -> i32 {
        let me;
        let user_id = if user_id.is_empty() {
            me = self.rooms.lock().me.clone();
            &me
        } else {
            user_id
        };
        i32::from(self.levels.lock().shown(user_id))
    }

    /// The session is logged in (Some) or over (None); a Logout also finishes the taps
    /// (WAV files are complete after it).
    pub fn set_uplink(&self, lane: Option<MediaSender>, logout: bool) {
        *self.uplink.lock() = lane;
        if logout {
            self.end_taps();
        }
    }

    /// Ends both sides' taps, finishing their files outside the locks.
    fn end_taps(&self) {
        let taps = (self.mic.lock().tap.take(), self.speaker_tap.lock().take());
        drop(taps);
    }

    /// Follows the room copy: entering starts the speaker clock, leaving stops it and
    /// forgets every member's audio. Called by the engine after each change.
    pub fn follow_room(&self) {
        let entry = self.rooms.lock().room.as_ref().map(|r| r.entry);
        let (stopped, shown) = {
            let mut speaker = self.speaker.lock();
            if speaker.entry == entry {
                return;
            }
            speaker.entry = entry;
            speaker.mixer = Mixer::default();
            speaker.pulled.clear();
            let shown = std::mem::take(&mut *self.levels.lock()).shown_levels();
            let mut clock = self.clock.lock();
            let stopped = match entry {
                Some(_) if clock.is_none() => {
                    let started = clock::Clock::start(self.clock_parts());
                    *clock = started.map_err(|e| tracing::error!("{e}")).ok();
                    None
                }
                Some(_) => None,
                None => clock.take(),
            };
            (stopped, shown)
        };
        // Joins the clock's thread, outside the locks.
        drop(stopped);
        // Nothing of the meeting left carries over: part-filled pieces, shown levels.
        if let Some(tap) = self.speaker_tap.lock().as_mut() {
            tap.drop_partial();
        }
        for (user_id, old) in shown {
            self.events.push(Event::MicEnergyUpdate {
                user_id,
                old_level: i32::from(old),
                new_level: 0,
            });
        }
    }

    fn clock_parts(&self) -> clock::Parts {
        clock::Parts {
            events: self.events.clone(),
            rooms: self.rooms.clone(),
            speaker: self.speaker.clone(),
            tap: self.speaker_tap.clone(),
            levels: self.levels.clone(),
            record_feed: self.record_feed.clone(),
        }
    }

    /// A packet from the server (on the I/O thread: only filed here): a member's microphone,
    /// or the sound of the media a member plays.
    pub fn on_frame(&self, frame: &AudioFrame<'_>, data: &Bytes) {
        let now = Instant::now();
        {
            let rooms = self.rooms.lock();
            let Some(room) = rooms.room.as_ref() else {
                return;
            };
            let heard = match frame.media {
                true => (room.media.as_ref()).is_some_and(|m| m.user_id == frame.user),
                false => (room.members.iter())
                    .any(|m| m.user_id == frame.user && m.audio_status == MEDIA_OPEN),
            };
            if !heard || frame.user == rooms.me {
                return; // in flight when the mic closed, the media stopped or the member left
            }
        }
        let key = SpeakerKey {
            user_id: frame.user.to_owned(),
            media: frame.media,
        };
        self.file(key, frame.seq, data.slice_ref(frame.payload), now);
        if !frame.media {
            self.levels.lock().heard(frame.user, frame.level, now);
        }
    }

    /// A packet of the media this user plays, for its own speaker.
    pub fn play_own_media(&self, seq: u32, packet: Bytes) {
        let user_id = self.rooms.lock().me.clone();
        let key = SpeakerKey {
            user_id,
            media: true,
        };
        self.file(key, seq, packet, Instant::now());
    }

    /// `user_id`'s media stopped: its sound goes from the mix.
    pub fn end_media(&self, user_id: &str) {
        let key = SpeakerKey {
            user_id: user_id.to_owned(),
            media: true,
        };
        self.speaker.lock().mixer.speakers.remove(&key);
    }

    /// Files a packet in its speaker's jitter buffer (made at its first packet), while in a
    /// meeting.
    fn file(&self, key: SpeakerKey, seq: u32, packet: Bytes, now: Instant) {
        let mut speaker = self.speaker.lock();
        if speaker.entry.is_none() {
            return;
        }
        let speakers = &mut speaker.mixer.speakers;
        if !speakers.contains_key(&key) {
            match JitterBuffer::new() {
                Ok(jb) => speakers.insert(key.clone(), jb),
                Err(e) => return tracing::error!("{e}"),
            };
        }
        let jb = speakers.get_mut(&key).expect("inserted");
        jb.push(seq, packet, now);
    }

    /// Uninit: the clock's thread ends and WAV files are finished.
    pub fn shutdown(&self) {
        let clock = self.clock.lock().take();
        drop(clock);
        self.end_taps();
    }
}

fn inner_err(e: String) -> ErrorCode {
    tracing::error!("{e}");
    ErrorCode::InnerErr
}
