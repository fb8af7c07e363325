//! The shared screen, from the sharer's side: the app's screen images (pushed with
//! `CRVideo_SetCustomizeScreenImg`, asked for with `NotifyCatchScreen` at the share's frame
//! rate when it chose to) go into a one-image slot; the screen's thread finds what changed
//! since the previous image, and while this user is the meeting's sharer encodes the image
//! for screen content (sharp text, flat areas) and sends it with the changed area. An
//! unchanged image sends nothing; a receiver that needs a key frame gets the last image
//! again, whole.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crvideo_proto::data::{Piece, ScreenFrame};
use parking_lot::{Condvar, Mutex};

use super::codec::{EncodeSettings, VideoEncoder};
use super::picture::Picture;
use super::Gate;
use crate::dispatch::{Dispatcher, Event};

/// The share's settings (`CRVideo_SetScreenShareCfg`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScreenCfg {
    pub max_fps: u32,
    pub max_kbps: u32,
}

impl Default for ScreenCfg {
    fn default() -> ScreenCfg {
        ScreenCfg {
            max_fps: 8,
            max_kbps: 800,
        }
    }
}

/// One screen image as the app gave it.
struct Image {
    format: i32,
    width: usize,
    height: usize,
    data: Vec<u8>,
    time_ms: i64,
}

#[derive(Default)]
struct State {
    image: Option<Image>,
    force_key: bool,
    cfg: ScreenCfg,
    /// `NotifyCatchScreen` is wanted (`CRVideo_SetCustomizeCatchScreen`).
    catch: bool,
    /// A `NotifyCatchScreen` was sent and not answered yet.
    asked: bool,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

pub struct ScreenSource {
    shared: Arc<Shared>,
    /// The newest image, as converted (what this user shares).
    pub preview: Arc<Mutex<Option<Arc<Picture>>>>,
    thread: Option<JoinHandle<()>>,
}

impl ScreenSource {
    pub fn start(gate: Arc<Gate>, events: Arc<Dispatcher>) -> Result<ScreenSource, String> {
        let shared = Arc::new(Shared::default());
        let preview = Arc::new(Mutex::new(None));
        let thread = {
            let (shared, preview) = (shared.clone(), preview.clone());
            std::thread::Builder::new()
                .name("crvideo-screen".into())
                .spawn(move || run(&shared, &preview, &gate, &events))
                .map_err(|e| format!("screen thread: {e}"))?
        };
        Ok(ScreenSource {
            shared,
            preview,
            thread: Some(thread),
        })
    }

    pub fn set_cfg(&self, cfg: ScreenCfg) {
        self.shared.state.lock().cfg = cfg;
        self.shared.ready.notify_one();
    }

    pub fn set_catch(&self, catch: bool) {
        let mut state = self.shared.state.lock();
        state.catch = catch;
        state.asked = false;
        self.shared.ready.notify_one();
    }

    /// The app's current screen (checked by the caller).
    pub fn input(&self, format: i32, width: usize, height: usize, data: &[u8], time_ms: i64) {
        let mut state = self.shared.state.lock();
        state.image = Some(Image {
            format,
            width,
            height,
            data: data.to_vec(),
            time_ms,
        });
        state.asked = false;
        self.shared.ready.notify_one();
    }

    /// The next image sent is a key frame (the last one is sent again if nothing changed).
    pub fn force_key(&self) {
        self.shared.state.lock().force_key = true;
        self.shared.ready.notify_one();
    }
}

impl Drop for ScreenSource {
    fn drop(&mut self) {
        self.shared.state.lock().closed = true;
        self.shared.ready.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The screen's thread: waits for an image, a key-frame request, the time to ask the app
/// for the next image, or the time to try again an area the rate control skipped.
fn run(shared: &Shared, preview: &Mutex<Option<Arc<Picture>>>, gate: &Gate, events: &Dispatcher) {
    let mut encoder: Option<(ScreenCfg, VideoEncoder)> = None;
    // The newest image (as given) and its picture.
    let mut last: Option<(Image, Arc<Picture>)> = None;
    // The area changed and not sent yet (the rate control skipped it, or not sharing).
    let mut unsent: Option<[u16; 4]> = None;
    let mut was_sharing = false;
    // The last frame was lost: the next one is a key frame.
    let mut resend_key = false;
    let mut next_tick = Instant::now();
    loop {
        let (image, force_key, cfg, lane) = {
            let mut state = shared.state.lock();
            loop {
                if state.closed {
                    return;
                }
                let lane = gate.screen_lane();
                let sharing = lane.is_some();
                let now = Instant::now();
                let tick = now >= next_tick;
                let period = Duration::from_millis(1000 / state.cfg.max_fps.max(1) as u64);
                if tick {
                    next_tick = now + period;
                    if state.catch && sharing && !state.asked {
                        state.asked = true;
                        events.push(Event::NotifyCatchScreen);
                    }
                }
                let retry = tick && sharing && unsent.is_some();
                if state.image.is_some() || (sharing && (state.force_key || !was_sharing || retry))
                {
                    let image = state.image.take();
                    let force_key = std::mem::take(&mut state.force_key);
                    break (image, force_key, state.cfg, lane);
                }
                if !sharing {
                    was_sharing = false;
                }
                // Look again at the next tick (the share may start, an area may be due).
                shared.ready.wait_until(&mut state, next_tick);
            }
        };
        let starting = lane.is_some() && !was_sharing;
        was_sharing = lane.is_some();
        if let Some(image) = image {
            let rect = match &last {
                Some((prev, _)) => changed_rect(prev, &image),
                None => Some(whole(&image)),
            };
            let picture = to_picture(&image);
            *preview.lock() = Some(picture.clone());
            unsent = union(unsent, rect);
            last = Some((image, picture));
        }
        let Some(lane) = lane else {
            continue; // kept: sent whole when the share starts
        };
        let Some((image, picture)) = &last else {
            continue;
        };
        // A receiver that needs a key frame, or a share that starts, gets the whole image.
        let key = force_key || starting || std::mem::take(&mut resend_key);
        if key {
            unsent = Some(whole(image));
        }
        let Some(rect) = unsent else {
            continue; // unchanged: nothing to send
        };
        if encoder.as_ref().is_none_or(|(c, _)| *c != cfg) {
            let settings = EncodeSettings {
                fps: cfg.max_fps as f32,
                kbps: cfg.max_kbps,
                screen: true,
            };
            match VideoEncoder::new(settings) {
                Ok(e) => encoder = Some((cfg, e)),
                Err(e) => {
                    tracing::error!("{e}");
                    continue;
                }
            }
        }
        let (_, enc) = encoder.as_mut().expect("made above");
        if key {
            enc.force_key();
        }
        let encoded = match enc.encode(picture) {
            Ok(Some(encoded)) => encoded,
            // Skipped by the rate control: the area goes with a later picture.
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("screen: {e}");
                continue;
            }
        };
        let frame = ScreenFrame {
            key: encoded.key,
            piece: Piece::WHOLE,
            rect,
            time_ms: picture.time_ms,
            user: "",
            payload: &encoded.data,
        };
        unsent = None;
        if !lane.send_screen(&frame) {
            // Lost (the lane is full): the whole image again, as a key frame,
            // at the next tick.
            unsent = Some(whole(image));
            resend_key = true;
        }
    }
}

/// The smallest rectangle holding both (left, top, width, height).
fn union(a: Option<[u16; 4]>, b: Option<[u16; 4]>) -> Option<[u16; 4]> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (l, t) = (a[0].min(b[0]), a[1].min(b[1]));
            let r = (a[0] + a[2]).max(b[0] + b[2]);
            let bottom = (a[1] + a[3]).max(b[1] + b[3]);
            Some([l, t, r - l, bottom - t])
        }
        (a, b) => a.or(b),
    }
}

fn to_picture(image: &Image) -> Arc<Picture> {
    Arc::new(Picture::from_image(
        image.format,
        image.width,
        image.height,
        &image.data,
        image.time_ms,
    ))
}

fn whole(image: &Image) -> [u16; 4] {
    [0, 0, image.width as u16, image.height as u16]
}

/// The bounding box of the pixels that differ between two images (the whole image when
/// its format or size changed); None when they are the same.
fn changed_rect(prev: &Image, cur: &Image) -> Option<[u16; 4]> {
    if (prev.format, prev.width, prev.height) != (cur.format, cur.width, cur.height) {
        return Some(whole(cur));
    }
    let (w, h) = (cur.width, cur.height);
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    let mut mark = |x: usize, y: usize| {
        let b = bounds.get_or_insert((x, y, x, y));
        *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    };
    if cur.format == super::picture::VFMT_YUV420P {
        let (luma, chroma) = (w * h, w * h / 4);
        for (i, (a, b)) in prev.data[..luma].iter().zip(&cur.data[..luma]).enumerate() {
            if a != b {
                mark(i % w, i / w);
            }
        }
        for plane in [luma..luma + chroma, luma + chroma..luma + 2 * chroma] {
            let pairs = prev.data[plane.clone()].iter().zip(&cur.data[plane]);
            for (i, (a, b)) in pairs.enumerate() {
                if a != b {
                    let (x, y) = (i % (w / 2) * 2, i / (w / 2) * 2);
                    mark(x, y);
                    mark(x + 1, y + 1);
                }
            }
        }
    } else {
        let rows = prev
            .data
            .chunks_exact(w * 4)
            .zip(cur.data.chunks_exact(w * 4));
        for (y, (a, b)) in rows.enumerate() {
            if a == b {
                continue;
            }
            let pixels = a.chunks_exact(4).zip(b.chunks_exact(4));
            for (x, (p, q)) in pixels.enumerate() {
                if p != q {
                    mark(x, y);
                }
            }
        }
    }
    bounds.map(|(l, t, r, b)| [l as u16, t as u16, (r - l + 1) as u16, (b - t + 1) as u16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::picture::{VFMT_RGBA32, VFMT_YUV420P};

    fn image(format: i32, w: usize, h: usize, data: Vec<u8>) -> Image {
        Image {
            format,
            width: w,
            height: h,
            data,
            time_ms: 0,
        }
    }

    #[test]
    fn the_changed_area_is_the_bounding_box_of_changed_pixels() {
        let a = image(VFMT_RGBA32, 64, 32, vec![255; 64 * 32 * 4]);
        let mut pixels = a.data.clone();
        let mut set = |x: usize, y: usize| pixels[(y * 64 + x) * 4 + 1] = 0;
        set(10, 5);
        set(20, 7);
        set(12, 20);
        let b = image(VFMT_RGBA32, 64, 32, pixels);
        assert_eq!(changed_rect(&a, &b), Some([10, 5, 11, 16]));
        assert_eq!(changed_rect(&a, &a), None, "unchanged: nothing");
        let c = image(VFMT_RGBA32, 32, 32, vec![255; 32 * 32 * 4]);
        assert_eq!(changed_rect(&a, &c), Some([0, 0, 32, 32]), "resized: all");
        let mut yuv = vec![16u8; 64 * 32 * 3 / 2];
        let d = image(VFMT_YUV420P, 64, 32, yuv.clone());
        yuv[64 * 32 + 3] = 0; // U of the 2x2 block at (6, 0)
        let e = image(VFMT_YUV420P, 64, 32, yuv);
        assert_eq!(changed_rect(&d, &e), Some([6, 0, 2, 2]));
    }
}
