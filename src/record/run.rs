//! The recording thread (`crvideo-record`): at the recording's frame rate it composes the
//! layout, encodes it (H.264) and writes it; every 20 ms it mixes the audio it records,
//! encodes it (Opus) and writes it. At the end (stop, an error, the longest duration) it
//! finishes the MP4 file, makes it durable and gives it its name.
//!
//! Times in the file are the recording's own clock: picture n at n / fps, audio packet k
//! at k × 20 ms. Audio is taken [`AUDIO_CUSHION`] behind real time, so that the PCM of
//! that span has arrived (the speaker mix comes every 10 ms, the app's microphone in
//! pieces of its choosing); it stays in step with the pictures.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::config::{AudioChoice, RecordCfg};
use super::layout::{self, Pictures, Region};
use super::mp4::{Mp4Writer, OpusTrack, VideoTrack, OPUS_TIMESCALE, VIDEO_TIMESCALE};
use super::{font, Shared};
use crate::audio::codec::{Encoder as OpusEncoder, FRAME};
use crate::dispatch::Event;
use crate::video::codec::{EncodeSettings, VideoEncoder};
use crate::ErrorCode;

/// Audio is recorded this far behind real time.
const AUDIO_CUSHION: Duration = Duration::from_millis(120);
/// Samples of each side the feed may hold beyond what was taken, twice the cushion (more is
/// a drift: dropped).
const FEED_KEEP: usize = crate::audio::codec::RATE * 2 * AUDIO_CUSHION.as_millis() as usize / 1000;
/// Opus's look-ahead at 16 kHz (104 samples) at 48 kHz: players skip it.
const OPUS_PRE_SKIP: u16 = 312;
const PACKET: Duration = Duration::from_millis(20);

/// What one recording works with.
pub struct Job {
    pub cfg: RecordCfg,
    /// `<path>.recording`, created empty.
    pub file: File,
    pub partial: PathBuf,
    pub layout: Arc<Mutex<Vec<Region>>>,
    pub shared: Arc<Shared>,
    pub max_duration: Duration,
    pub stop: Receiver<()>,
}

/// Why a recording ended.
enum End {
    Stopped,
    Failed(ErrorCode),
}

pub fn run(job: Job) {
    let shared = job.shared.clone();
    let (end, written) = record(&job);
    if let End::Failed(code) = end {
        shared.events.push(Event::RecordErr {
            sdk_err: code.code(),
        });
    }
    shared.events.push(Event::RecordStateChanged { state: 4 });
    // The file: complete (or salvaged) and synced, then named.
    let named = written.and_then(|file| {
        file.sync_all().ok()?;
        drop(file);
        crate::files::place_without_replacing(&job.partial, &job.cfg.path).ok()
    });
    if named.is_none() {
        let _ = std::fs::remove_file(&job.partial);
    }
    let done = named.is_some();
    shared.finished(named.map(|()| job.cfg.path.clone()));
    shared.events.push(Event::RecordStateChanged { state: 0 });
    if done && job.cfg.upload {
        let file_name = job.cfg.path.to_string_lossy().into_owned();
        if let Err(code) = (shared.uploader)(&file_name) {
            tracing::info!(?code, "record file not uploaded");
            shared.events.push(Event::UploadRecordFileErr {
                file_name,
                sdk_err: ErrorCode::RecordUploadFailed.code(),
            });
        }
    }
}

/// Records until told to stop or it cannot go on; the file it wrote, finished.
fn record(job: &Job) -> (End, Option<File>) {
    let shared = &job.shared;
    let video = job.cfg.video;
    let mut encoder = match video.map(|v| {
        VideoEncoder::for_file(EncodeSettings {
            fps: v.fps as f32,
            kbps: v.bitrate / 1000,
            screen: false,
        })
    }) {
        Some(Err(e)) => {
            tracing::error!("recording: {e}");
            return (End::Failed(ErrorCode::InnerErr), None);
        }
        other => other.map(|e| e.expect("checked")),
    };
    let mut opus = match job.cfg.audio {
        AudioChoice::None => None,
        _ => match OpusEncoder::new() {
            Ok(opus) => Some(opus),
            Err(e) => {
                tracing::error!("recording: {e}");
                return (End::Failed(ErrorCode::InnerErr), None);
            }
        },
    };
    let file = match job.file.try_clone() {
        Ok(file) => file,
        Err(_) => return (End::Failed(ErrorCode::RecordNoDisk), None),
    };
    let tracks = (
        video.map(|v| VideoTrack {
            width: v.width as u16,
            height: v.height as u16,
            frame_ticks: VIDEO_TIMESCALE / v.fps,
        }),
        opus.as_ref().map(|_| OpusTrack {
            channels: 1,
            pre_skip: OPUS_PRE_SKIP,
            input_rate: crate::audio::codec::RATE as u32,
        }),
    );
    let mut mp4 = match Mp4Writer::new(file, tracks.0, tracks.1) {
        Ok(mp4) => mp4,
        Err(_) => return (End::Failed(ErrorCode::RecordNoDisk), None),
    };
    shared.events.push(Event::RecordStateChanged { state: 2 });
    shared.audio.set_record_feed(opus.is_some());

    let start = Instant::now();
    let mut canvas = video.map(|v| layout::black(v.width, v.height));
    let mut frames = 0u64; // pictures written
    let mut packets = 0u64; // audio packets written
    let (mut own, mut others, mut mix) = (Vec::new(), Vec::new(), [0i16; FRAME]);
    let pictures = LivePictures(shared);
    let frame_at = |n: u64| match video {
        Some(v) => Duration::from_secs_f64(n as f64 / v.fps as f64),
        None => Duration::MAX,
    };
    let mut stopped = false;
    let end = loop {
        let now = start.elapsed();
        let finishing = if stopped {
            Some(End::Stopped)
        } else if now >= job.max_duration {
            Some(End::Failed(ErrorCode::RecordMax))
        } else {
            None
        };
        // Audio up to now (to the very end when finishing).
        let audio_until = match finishing {
            Some(_) => now.min(job.max_duration),
            None => now.saturating_sub(AUDIO_CUSHION),
        };
        if let Some(opus) = &mut opus {
            let mut failed = false;
            while !failed && PACKET * (packets as u32 + 1) <= audio_until {
                (shared.audio).take_record_pcm(FRAME, FEED_KEEP, &mut own, &mut others);
                mix_into(&mut mix, job.cfg.audio, &own, &others);
                match opus.encode(&mix) {
                    Ok(packet) => {
                        let ticks = packets * (OPUS_TIMESCALE as u64 / 50);
                        failed = mp4.write_audio(ticks, packet).is_err();
                    }
                    Err(e) => tracing::error!("recording: {e}"),
                }
                packets += 1;
            }
            if failed {
                break End::Failed(ErrorCode::RecordNoDisk);
            }
        }
        if let Some(end) = finishing {
            break end;
        }
        if let (Some(encoder), Some(canvas), Some(v)) = (&mut encoder, &mut canvas, video) {
            if now >= frame_at(frames) {
                // Behind by more than a picture: the next one is the one due now.
                frames = frames.max((now.as_secs_f64() * v.fps as f64) as u64);
                let regions = job.layout.lock().clone();
                layout::compose(canvas, &regions, &pictures, &font::local_time_text());
                let at_ms = frames * 1000 / v.fps as u64;
                match encoder.encode_at(canvas, at_ms) {
                    Ok(Some(encoded)) => {
                        let ticks = frames * VIDEO_TIMESCALE as u64 / v.fps as u64;
                        if mp4.write_video(ticks, &encoded.data, encoded.key).is_err() {
                            break End::Failed(ErrorCode::RecordNoDisk);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!("recording: {e}"),
                }
                frames += 1;
            }
        }
        let next_audio = match opus {
            Some(_) => PACKET * (packets as u32 + 1) + AUDIO_CUSHION,
            None => Duration::MAX,
        };
        let wait = (frame_at(frames).min(next_audio).min(job.max_duration))
            .saturating_sub(start.elapsed());
        match job.stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            // Stop, or the recorder is gone.
            _ => stopped = true,
        }
    };
    shared.audio.set_record_feed(false);
    let finished = match end {
        End::Failed(ErrorCode::RecordNoDisk) => {
            let len = job.file.metadata().map_or(mp4.bytes(), |m| m.len());
            mp4.salvage(len)
        }
        _ => mp4.finish(),
    };
    match finished {
        Ok(file) => (end, Some(file)),
        Err(e) => {
            tracing::warn!("recording: cannot finish {}: {e}", job.partial.display());
            let end = match end {
                End::Stopped => End::Failed(ErrorCode::RecordNoDisk),
                failed => failed,
            };
            (end, None)
        }
    }
}

/// The 20 ms the recording hears: this user's microphone, the others, or both (summed,
/// clipped).
fn mix_into(mix: &mut [i16; FRAME], choice: AudioChoice, own: &[i16], others: &[i16]) {
    for (i, m) in mix.iter_mut().enumerate() {
        let (a, b) = (own[i] as i32, others[i] as i32);
        *m = match choice {
            AudioChoice::Own => a,
            AudioChoice::Others => b,
            _ => a + b,
        }
        .clamp(i16::MIN as i32, i16::MAX as i32) as i16;
    }
}

/// The live pictures of the SDK's video.
struct LivePictures<'a>(&'a Shared);

impl Pictures for LivePictures<'_> {
    fn camera(&self, user_id: &str, video_id: u8) -> Option<Arc<crate::video::picture::Picture>> {
        self.0.video.peek_camera(user_id, video_id)
    }

    fn screen(&self) -> Option<Arc<crate::video::picture::Picture>> {
        self.0.video.peek_screen()
    }

    fn media(&self) -> Option<Arc<crate::video::picture::Picture>> {
        self.0.media.peek()
    }
}
