//! The test media of the playback tests: an MP4 written with the recorder's own writer and
//! encoders, whose every picture is known ([`media_frame`]) and whose sound is a tone.

use std::path::Path;

use crvideosdk::audio::codec::{Encoder, FRAME, RATE};
use crvideosdk::record::mp4::{Mp4Writer, OpusTrack, VideoTrack, VIDEO_TIMESCALE};
use crvideosdk::video::codec::{EncodeSettings, VideoEncoder};
use crvideosdk::video::picture::{Picture, VFMT_RGBA32};

pub const W: usize = 320;
pub const H: usize = 240;
pub const FPS: u64 = 10;
pub const TONE_HZ: f64 = 440.0;

/// Picture `index` of the test media: a colour gradient with a white bar that moves 16
/// pixels a picture, so that a picture tells its time.
pub fn media_frame(index: u64) -> Vec<u8> {
    let bar = (index as usize % (W / 16)) * 16;
    let mut rgba = Vec::with_capacity(W * H * 4);
    for y in 0..H {
        for x in 0..W {
            let pixel = if (bar..bar + 16).contains(&x) {
                [255, 255, 255, 255]
            } else {
                [(x * 255 / W) as u8, (y * 255 / H) as u8, 96, 255]
            };
            rgba.extend_from_slice(&pixel);
        }
    }
    rgba
}

/// Writes `secs` seconds of the test media (W×H at FPS, a key picture every second, and a
/// TONE_HZ tone) with the recorder's writer and encoders.
pub fn write_media(path: &Path, secs: u64) {
    let file = std::fs::File::create(path).unwrap();
    let video = VideoTrack {
        width: W as u16,
        height: H as u16,
        frame_ticks: VIDEO_TIMESCALE / FPS as u32,
    };
    let audio = OpusTrack {
        channels: 1,
        pre_skip: 312,
        input_rate: RATE as u32,
    };
    let mut mp4 = Mp4Writer::new(file, Some(video), Some(audio)).unwrap();
    let settings = EncodeSettings {
        fps: FPS as f32,
        kbps: 1500,
        screen: false,
    };
    let mut encoder = VideoEncoder::for_file(settings).unwrap();
    let mut opus = Encoder::new().unwrap();
    let packets = secs * 50;
    let mut next_picture = 0;
    for k in 0..packets {
        // The pictures due by this packet's time first.
        while next_picture * 1000 / FPS <= k * 20 && next_picture < secs * FPS {
            if next_picture % FPS == 0 {
                encoder.force_key();
            }
            let picture = Picture::from_image(VFMT_RGBA32, W, H, &media_frame(next_picture), 0);
            let ms = next_picture * 1000 / FPS;
            if let Some(encoded) = encoder.encode_at(&picture, ms).unwrap() {
                let ticks = ms * VIDEO_TIMESCALE as u64 / 1000;
                mp4.write_video(ticks, &encoded.data, encoded.key).unwrap();
            }
            next_picture += 1;
        }
        let pcm: [i16; FRAME] = std::array::from_fn(|i| {
            let t = (k as usize * FRAME + i) as f64 / RATE as f64;
            (8000.0 * (2.0 * std::f64::consts::PI * TONE_HZ * t).sin()) as i16
        });
        mp4.write_audio(k * 960, opus.encode(&pcm).unwrap())
            .unwrap();
    }
    mp4.finish().unwrap();
}
