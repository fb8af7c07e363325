//! Video material of the video benches: a moving test pattern and its H.264 clip, encoded
//! with the SDK's own encoder.

use crvideosdk::video::codec::{EncodeSettings, Encoded, VideoEncoder};
use crvideosdk::video::picture::{Picture, VFMT_RGBA32};

use crate::BenchResult;

/// Picture `n` of a moving pattern, RGBA: colour ramps that drift and a square that
/// crosses the picture (enough motion for the encoder to work on every picture).
pub fn pattern(width: usize, height: usize, n: u64) -> Vec<u8> {
    let (w, h) = (width, height);
    let mut rgba = vec![255u8; w * h * 4];
    let cx = (n as usize * 6) % (w + 80);
    for y in 0..h {
        for x in 0..w {
            let p = &mut rgba[(y * w + x) * 4..][..3];
            let square = x + 40 >= cx && x < cx + 24 && y.abs_diff(h / 2) < 32;
            p[0] = (x * 200 / w + n as usize * 2) as u8;
            p[1] = (y * 220 / h + 16) as u8;
            p[2] = if square { 240 } else { 64 };
        }
    }
    rgba
}

/// The settings of a camera of `fps` at `kbps`.
pub fn camera(fps: u32, kbps: u32) -> EncodeSettings {
    EncodeSettings {
        fps: fps as f32,
        kbps,
        screen: false,
    }
}

/// `pictures` pictures of [`pattern`] encoded as a camera of `fps` at `kbps`, each at its
/// own time (n / fps: the rate control sees the real rate however fast this runs); the
/// first is a key frame. Pictures the rate control skipped are left out.
pub fn encode_clip(
    width: usize,
    height: usize,
    fps: u32,
    kbps: u32,
    pictures: u64,
) -> BenchResult<Vec<Encoded>> {
    let mut encoder = VideoEncoder::new(camera(fps, kbps))?;
    let mut clip = Vec::new();
    for n in 0..pictures {
        let rgba = pattern(width, height, n);
        let time_ms = (n * 1000 / fps as u64) as i64;
        let picture = Picture::from_image(VFMT_RGBA32, width, height, &rgba, time_ms);
        if let Some(encoded) = encoder.encode_at(&picture, time_ms as u64)? {
            clip.push(encoded);
        }
    }
    match clip.first() {
        Some(first) if first.key => Ok(clip),
        _ => Err("the clip does not start with a key frame".into()),
    }
}
