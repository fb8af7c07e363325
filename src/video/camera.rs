//! One custom camera of this user: the app's frames go into a one-picture slot (a newer
//! picture replaces one not yet taken: an encoder that cannot keep up skips pictures rather
//! than queueing them), and the camera's own thread converts, keeps the local preview,
//! and, while the video may leave the SDK ([`Gate`]), encodes and queues it for the server.

use std::sync::Arc;
use std::thread::JoinHandle;

use crvideo_proto::data::{Piece, VideoFrame};
use parking_lot::{Condvar, Mutex};

use super::codec::{EncodeSettings, VideoEncoder};
use super::picture::Picture;
use super::Gate;

/// A camera as the app created it.
#[derive(Debug, Clone)]
pub struct CameraSpec {
    pub name: String,
    pub format: i32,
    pub width: usize,
    pub height: usize,
    pub settings: EncodeSettings,
}

#[derive(Default)]
struct SlotState {
    /// The newest picture not yet taken: its bytes and timestamp.
    frame: Option<(Vec<u8>, i64)>,
    /// The next picture sent is a key frame (a receiver asked, or one was lost).
    force_key: bool,
    closed: bool,
}

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

pub struct Camera {
    pub spec: CameraSpec,
    slot: Arc<Slot>,
    /// The newest picture, as converted (the local preview).
    pub preview: Arc<Mutex<Option<Arc<Picture>>>>,
    thread: Option<JoinHandle<()>>,
}

impl Camera {
    /// Starts camera `video_id`'s thread.
    pub fn start(video_id: u8, spec: CameraSpec, gate: Arc<Gate>) -> Result<Camera, String> {
        let slot = Arc::new(Slot::default());
        let preview = Arc::new(Mutex::new(None));
        let mut encoder = VideoEncoder::new(spec.settings)?;
        let thread = {
            let (slot, preview, spec) = (slot.clone(), preview.clone(), spec.clone());
            std::thread::Builder::new()
                .name("crvideo-venc".into())
                .spawn(move || {
                    run(video_id, &spec, &slot, &preview, &gate, &mut encoder);
                })
                .map_err(|e| format!("camera thread: {e}"))?
        };
        Ok(Camera {
            spec,
            slot,
            preview,
            thread: Some(thread),
        })
    }

    /// The app's next picture (already checked against the camera's format and size).
    pub fn input(&self, data: &[u8], time_ms: i64) {
        let mut state = self.slot.state.lock();
        match &mut state.frame {
            // Reuse the buffer of a picture the thread did not take yet.
            Some((buffer, time)) => {
                buffer.clear();
                buffer.extend_from_slice(data);
                *time = time_ms;
            }
            None => state.frame = Some((data.to_vec(), time_ms)),
        }
        self.slot.ready.notify_one();
    }

    /// The next picture sent is a key frame.
    pub fn force_key(&self) {
        self.slot.state.lock().force_key = true;
    }
}

impl Drop for Camera {
    /// Stops the thread and waits for it (at most one picture's encoding).
    fn drop(&mut self) {
        self.slot.state.lock().closed = true;
        self.slot.ready.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    video_id: u8,
    spec: &CameraSpec,
    slot: &Slot,
    preview: &Mutex<Option<Arc<Picture>>>,
    gate: &Gate,
    encoder: &mut VideoEncoder,
) {
    let mut was_sending = false;
    loop {
        let (data, time_ms, force_key) = {
            let mut state = slot.state.lock();
            loop {
                if state.closed {
                    return;
                }
                if let Some((data, time)) = state.frame.take() {
                    break (data, time, std::mem::take(&mut state.force_key));
                }
                slot.ready.wait(&mut state);
            }
        };
        let picture = Picture::from_image(spec.format, spec.width, spec.height, &data, time_ms);
        let picture = Arc::new(picture);
        *preview.lock() = Some(picture.clone());
        let Some(media) = gate.media_lane() else {
            was_sending = false;
            continue;
        };
        // Receivers start at a key frame: the first one sent after a pause is one.
        if force_key || !was_sending {
            encoder.force_key();
        }
        was_sending = true;
        let encoded = match encoder.encode(&picture) {
            Ok(Some(encoded)) => encoded,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("camera {video_id}: {e}");
                continue;
            }
        };
        let frame = VideoFrame {
            key: encoded.key,
            piece: Piece::WHOLE,
            video_id,
            time_ms,
            user: "",
            payload: &encoded.data,
        };
        if !media.send_video(&frame) {
            // The link is behind: this picture is lost, the next one starts afresh.
            slot.state.lock().force_key = true;
        }
    }
}
