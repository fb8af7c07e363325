//! H.264 through OpenH264 (the `openh264` crate, built from its bundled source: only a C++
//! compiler needed, BSD-licensed, Cisco's real-time encoder with a camera and a screen
//! mode). One encoder per camera, one decoder per received video, each on its own thread.

use openh264::decoder::{Decoder, DecoderConfig};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange,
    RateControlMode, UsageType,
};
use openh264::formats::{YUVSlices, YUVSource};
use openh264::{OpenH264API, Timestamp};

use super::picture::Picture;

/// `ENCODER_OPTION_TRACE_LEVEL` and `WELS_LOG_QUIET` of OpenH264's codec_app_def.h (the
/// `openh264` crate does not re-export its sys crate's constants).
const ENCODER_OPTION_TRACE_LEVEL: i32 = 25;
const WELS_LOG_QUIET: i32 = 0;

/// The quantiser range of screen content (H.264's scale: 0 finest, 51 coarsest).
const SCREEN_QP: (u8, u8) = (16, 22);

/// What a camera is encoded with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodeSettings {
    pub fps: f32,
    pub kbps: u32,
    /// Screen content: sharp text and flat areas rather than motion.
    pub screen: bool,
}

/// One encoded picture: H.264 Annex B.
pub struct Encoded {
    pub key: bool,
    pub data: Vec<u8>,
}

pub struct VideoEncoder {
    encoder: Encoder,
    force_key: bool,
    /// Whether a picture was encoded (the encoder sets itself up at the first).
    started: bool,
    /// The encoder's clock: its rate control plans by the pictures' times (not the app's
    /// stamps, which may be anything).
    epoch: std::time::Instant,
}

impl VideoEncoder {
    pub fn new(settings: EncodeSettings) -> Result<VideoEncoder, String> {
        Self::with_skipping(settings, true)
    }

    /// An encoder for a file (a recording): every picture is encoded, none skipped to keep
    /// the bitrate, so the file has the frame rate it says.
    pub fn for_file(settings: EncodeSettings) -> Result<VideoEncoder, String> {
        Self::with_skipping(settings, false)
    }

    fn with_skipping(settings: EncodeSettings, skip: bool) -> Result<VideoEncoder, String> {
        let fps = settings.fps.max(1.0);
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(settings.kbps.saturating_mul(1000)))
            .max_frame_rate(FrameRate::from_hz(fps))
            .rate_control_mode(RateControlMode::Bitrate)
            // Rate control keeps to the bitrate by skipping a picture now and then (OpenH264
            // cannot hold a bitrate otherwise); a skipped picture sends nothing.
            .skip_frames(skip)
            // A key frame every 5 s even unasked: a receiver that lost one recovers.
            .intra_frame_period(IntraFramePeriod::from_num_frames((fps * 5.0) as u32))
            .usage_type(if settings.screen {
                UsageType::ScreenContentRealTime
            } else {
                UsageType::CameraVideoRealTime
            })
            // This thread is the encoder's own.
            .num_threads(1)
            .complexity(Complexity::Low);
        // Text on a screen must stay readable: its quantiser is kept within SCREEN_QP (the
        // rate control keeps to the bitrate by skipping pictures after a big change).
        // Measured on a 720p page of 12 px text at 800 kbps: left to the rate control the
        // first picture gets QP 28, 34.2 dB; QP 24, 35.2 dB; QP 16–22, 37.0 dB. OpenH264
        // honours the upper bound only with a lower one.
        // OpenH264 has neither adaptive quantisation nor background detection for screen
        // content: asked for them (its defaults), it says so on the app's stderr.
        let config = if settings.screen {
            config
                .qp(QpRange::new(SCREEN_QP.0, SCREEN_QP.1))
                .adaptive_quantization(false)
                .background_detection(false)
        } else {
            config
        };
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| format!("H.264 encoder: {e}"))?;
        // Quiet before the encoder sets itself up at the first picture: OpenH264 checks its
        // parameters then and writes its opinions to the app's stderr (e.g. that a bitrate
        // without frame skipping is only a target, which is what a file wants).
        let mut quiet = WELS_LOG_QUIET;
        // SAFETY: a valid encoder; the option reads one int from the pointer during the call.
        unsafe {
            let api = encoder.raw_api();
            api.set_option(ENCODER_OPTION_TRACE_LEVEL, (&raw mut quiet).cast());
        }
        Ok(VideoEncoder {
            encoder,
            force_key: false,
            started: false,
            epoch: std::time::Instant::now(),
        })
    }

    /// The next picture is a key frame.
    pub fn force_key(&mut self) {
        self.force_key = true;
    }

    /// Encodes `picture` now (on the encoder's clock); None when the encoder produced
    /// nothing for it.
    pub fn encode(&mut self, picture: &Picture) -> Result<Option<Encoded>, String> {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        self.encode_at(picture, now_ms)
    }

    /// Encodes `picture` as taken at `at_ms` (ms on any clock that starts near 0 and only
    /// rises: the rate control plans by it); None when the encoder produced nothing for it.
    pub fn encode_at(&mut self, picture: &Picture, at_ms: u64) -> Result<Option<Encoded>, String> {
        let (y, u, v) = picture.planes();
        let w = picture.width;
        let source = YUVSlices::new((y, u, v), (w, picture.height), (w, w / 2, w / 2));
        // The first picture is a key frame anyway (and the encoder is not set up before).
        if std::mem::take(&mut self.force_key) && self.started {
            self.encoder.force_intra_frame();
        }
        self.started = true;
        let stream = self
            .encoder
            .encode_at(&source, Timestamp::from_millis(at_ms))
            .map_err(|e| format!("H.264 encode: {e}"))?;
        let key = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        let data = stream.to_vec();
        Ok((!data.is_empty()).then_some(Encoded { key, data }))
    }
}

pub struct VideoDecoder {
    decoder: Decoder,
}

impl VideoDecoder {
    pub fn new() -> Result<VideoDecoder, String> {
        let decoder = Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
            .map_err(|e| format!("H.264 decoder: {e}"))?;
        Ok(VideoDecoder { decoder })
    }

    /// Decodes one encoded picture; Ok(None) when it gave no picture yet.
    pub fn decode(&mut self, data: &[u8], time_ms: i64) -> Result<Option<Picture>, String> {
        let Some(yuv) = self
            .decoder
            .decode(data)
            .map_err(|e| format!("H.264 decode: {e}"))?
        else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (ys, us, vs) = yuv.strides();
        let mut i420 = Vec::with_capacity(w * h * 3 / 2);
        // The decoder's planes are padded: copy the visible rows.
        for (plane, stride, pw, ph) in [
            (yuv.y(), ys, w, h),
            (yuv.u(), us, w / 2, h / 2),
            (yuv.v(), vs, w / 2, h / 2),
        ] {
            for row in plane.chunks(stride).take(ph) {
                i420.extend_from_slice(&row[..pw]);
            }
        }
        Ok(Some(Picture {
            width: w,
            height: h,
            i420,
            time_ms,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::picture::VFMT_RGBA32;

    /// A page of dense pseudo text: 12 px glyphs of 1 px strokes, dark on white (the same as
    /// tests/c/peer.c's `screen_text`).
    fn text_page(w: usize, h: usize) -> Vec<u8> {
        let mut rgba = vec![250u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let (cell, row, gx, gy) = (x / 8, y / 16, x % 8, y % 16);
                let mut g =
                    (cell as u32).wrapping_mul(2654435761) ^ (row as u32).wrapping_mul(40503);
                g ^= g >> 13;
                g = g.wrapping_mul(0x5bd1e995);
                g ^= g >> 15;
                let strokes = [
                    g & 1 != 0 && gx == 1,
                    g & 2 != 0 && gx == 6,
                    g & 4 != 0 && gy == 2,
                    g & 8 != 0 && gy == 7,
                    g & 16 != 0 && gy == 13,
                    g & 32 != 0 && gx == 3 + (gy & 1),
                ];
                // Every ninth cell is a space.
                let glyph = (2..14).contains(&gy) && (1..7).contains(&gx) && cell % 9 != 8;
                if glyph && strokes.contains(&true) {
                    rgba[(y * w + x) * 4..][..3].fill(24);
                }
            }
        }
        rgba
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let (mut se, mut n) = (0.0, 0.0);
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if i % 4 != 3 {
                se += (*x as f64 - *y as f64).powi(2);
                n += 1.0;
            }
        }
        10.0 * (255.0f64 * 255.0 / (se / n)).log10()
    }

    #[test]
    fn a_page_of_text_stays_readable_at_the_default_screen_bitrate() {
        let (w, h) = (1280, 720);
        let page = text_page(w, h);
        let picture = Picture::from_image(VFMT_RGBA32, w, h, &page, 0);
        let settings = EncodeSettings {
            fps: 8.0,
            kbps: 800,
            screen: true,
        };
        let mut encoder = VideoEncoder::new(settings).unwrap();
        let mut decoder = VideoDecoder::new().unwrap();
        let encoded = encoder
            .encode(&picture)
            .unwrap()
            .expect("the first picture");
        assert!(encoded.key);
        let decoded = decoder.decode(&encoded.data, 0).unwrap().unwrap();
        let db = psnr(&page, &decoded.to_format(VFMT_RGBA32));
        assert!(db >= 35.0, "{db:.2} dB, {} bytes", encoded.data.len());
    }
}
