//! Local recording: the meeting's media composed into one MP4 file (section 12 of the API).
//!
//! `CRVideo_StartRecording` checks the configuration, creates `<recordPath>.recording` and
//! starts the recording thread ([`run`]); the app hears `RecordStateChanged` 1 (starting),
//! 2 (recording) once the file is set up, 4 (stopping) and 0 once the file is complete and
//! has its name. The thread composes the layout ([`layout`]) at the frame rate, encodes
//! H.264 and Opus and writes them as they come ([`mp4`]). A write that fails (a full disk)
//! ends it with `RecordErr(902)`; the file keeps what fitted, still playable. Reaching the
//! longest duration (8 hours; the Init key `recordMaxSecs` changes it) ends it with
//! `RecordErr(901)`. Leaving the meeting, Logout and Uninit stop it as StopRecording does.

pub mod config;
pub mod font;
pub mod layout;
pub mod mp4;
pub mod mp4_read;
mod run;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::audio::Audio;
use crate::client::rooms::SharedRoomCache;
use crate::dispatch::{Dispatcher, Event};
use crate::media::Media;
use crate::video::Video;
use crate::ErrorCode;

/// A file this instance recorded.
#[derive(Debug, Clone)]
struct RecordFile {
    path: PathBuf,
    /// 0 not uploaded, 1 uploading, 2 uploaded.
    state: i32,
    /// Its upload's percent, kept by the net-disk transfer.
    upload_percent: Arc<AtomicI32>,
    /// The net-disk file ID of its upload (the latest).
    file_id: Option<String>,
}

/// A record file's upload, as the net-disk engine reports it.
#[derive(Debug, Clone)]
pub struct RecordUpload {
    /// The name the app knows the file by (its path).
    pub file_name: String,
    pub percent: Arc<AtomicI32>,
}

/// What `CRVideo_UploadRecordFile` hands the net disk.
pub struct UploadStart {
    pub file_id: String,
    pub file: File,
    pub size: u64,
    pub org_name: String,
    pub record: RecordUpload,
}

/// Starts the net-disk upload of a finished record file (what `CRVideo_UploadRecordFile`
/// does), for `isUploadOnRecording`.
pub type Uploader = Arc<dyn Fn(&str) -> Result<(), ErrorCode> + Send + Sync>;

/// What the recorder and its thread share.
pub struct Shared {
    events: Arc<Dispatcher>,
    video: Arc<Video>,
    audio: Arc<Audio>,
    media: Arc<Media>,
    uploader: Uploader,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// A recording runs (from its start until its thread ended).
    running: Option<Running>,
    files: Vec<RecordFile>,
}

struct Running {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
    /// Set once the thread ended (it joins at once).
    ended: bool,
}

impl Shared {
    /// The thread is done; `file` is the recorded file, if it was kept.
    fn finished(&self, file: Option<PathBuf>) {
        let mut state = self.state.lock();
        if let Some(running) = &mut state.running {
            running.ended = true;
        }
        if let Some(path) = file {
            state.files.retain(|f| f.path != path);
            state.files.push(RecordFile {
                path,
                state: 0,
                upload_percent: Arc::default(),
                file_id: None,
            });
        }
    }
}

/// The SDK's recorder: one per instance.
pub struct Recorder {
    shared: Arc<Shared>,
    rooms: SharedRoomCache,
    layout: Arc<Mutex<Vec<layout::Region>>>,
    max_duration: Duration,
}

impl Recorder {
    pub fn new(
        events: Arc<Dispatcher>,
        video: Arc<Video>,
        audio: Arc<Audio>,
        media: Arc<Media>,
        uploader: Uploader,
        rooms: SharedRoomCache,
        max_duration: Duration,
    ) -> Recorder {
        Recorder {
            shared: Arc::new(Shared {
                events,
                video,
                audio,
                media,
                uploader,
                state: Mutex::default(),
            }),
            rooms,
            layout: Arc::default(),
            max_duration,
        }
    }

    /// `CRVideo_StartRecording`.
    pub fn start(&self, cfg_json: &str) -> Result<(), ErrorCode> {
        let cfg = config::parse(cfg_json)?;
        if self.rooms.lock().room.is_none() {
            return Err(ErrorCode::NotInMeeting);
        }
        let mut state = self.shared.state.lock();
        if state.running.as_ref().is_some_and(|r| !r.ended) {
            return Err(ErrorCode::RecordStateErr);
        }
        // The previous recording's thread has ended: join it.
        if let Some(old) = state.running.take() {
            let _ = old.thread.join();
        }
        if cfg.path.exists() {
            return Err(ErrorCode::FileAlreadyExist);
        }
        let partial = partial_path(&cfg.path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&partial)
            .map_err(|_| ErrorCode::FileWriteErr)?;
        let (stop, stopped) = mpsc::channel();
        let job = run::Job {
            cfg,
            file,
            partial: partial.clone(),
            layout: self.layout.clone(),
            shared: self.shared.clone(),
            max_duration: self.max_duration,
            stop: stopped,
        };
        self.shared
            .events
            .push(Event::RecordStateChanged { state: 1 });
        let thread = std::thread::Builder::new()
            .name("crvideo-record".into())
            .spawn(move || run::run(job));
        match thread {
            Ok(thread) => {
                state.running = Some(Running {
                    stop,
                    thread,
                    ended: false,
                });
                Ok(())
            }
            Err(e) => {
                tracing::error!("cannot start the recording thread: {e}");
                let _ = std::fs::remove_file(&partial);
                self.shared
                    .events
                    .push(Event::RecordStateChanged { state: 0 });
                Err(ErrorCode::InnerErr)
            }
        }
    }

    /// `CRVideo_SetRecordVideos`: the layout, now or for the next recording.
    pub fn set_layout(&self, json: &str) -> Result<(), ErrorCode> {
        *self.layout.lock() = layout::parse(json)?;
        Ok(())
    }

    /// `CRVideo_StopRecording`: the recording finishes on its thread (states 4, then 0).
    pub fn stop(&self) -> Result<(), ErrorCode> {
        let state = self.shared.state.lock();
        match &state.running {
            Some(running) if !running.ended => {
                let _ = running.stop.send(());
                Ok(())
            }
            _ => Err(ErrorCode::RecordStateErr),
        }
    }

    /// `CRVideo_GetAllRecordFiles`: the files this instance recorded, oldest first.
    pub fn files_json(&self) -> String {
        let state = self.shared.state.lock();
        let files: Vec<serde_json::Value> = (state.files.iter())
            .map(|f| {
                let size = std::fs::metadata(&f.path).map_or(0, |m| m.len());
                serde_json::json!({
                    "fileName": f.path.to_string_lossy(),
                    "size": size,
                    "state": f.state,
                    "uploadPercent": f.upload_percent.load(Ordering::Relaxed),
                })
            })
            .collect();
        serde_json::Value::Array(files).to_string()
    }

    /// `CRVideo_UploadRecordFile`: marks `file_name` uploading (state 1, told to the app)
    /// and opens it for the net disk, as a shared file named after it.
    pub fn start_upload(&self, file_name: &str) -> Result<UploadStart, ErrorCode> {
        let mut state = self.shared.state.lock();
        let f = (state.files.iter_mut())
            .find(|f| f.path.as_os_str() == file_name)
            .ok_or(ErrorCode::RecordFileNotExist)?;
        if f.state == 1 {
            return Err(ErrorCode::RecordStateErr);
        }
        let file = File::open(&f.path).map_err(|_| ErrorCode::RecordFileNotExist)?;
        let size = file.metadata().map_err(|_| ErrorCode::FileReadErr)?.len();
        let org_name = (f.path.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file_id = crvideo_proto::netdisk::make_file_id(
            crvideo_proto::netdisk::FILE_TYPE_SHARED,
            &crate::client::calls::new_id(),
            &org_name,
        );
        f.state = 1;
        f.upload_percent.store(0, Ordering::Relaxed);
        f.file_id = Some(file_id.clone());
        self.shared
            .events
            .push(Event::NotifyRecordFileStateChanged {
                file_name: file_name.to_owned(),
                state: 1,
            });
        Ok(UploadStart {
            file_id,
            file,
            size,
            org_name,
            record: RecordUpload {
                file_name: file_name.to_owned(),
                percent: f.upload_percent.clone(),
            },
        })
    }

    /// The net-disk file ID of `file_name`'s running upload (for its cancel).
    pub fn upload_of(&self, file_name: &str) -> Result<String, ErrorCode> {
        let state = self.shared.state.lock();
        let f = (state.files.iter())
            .find(|f| f.path.as_os_str() == file_name)
            .ok_or(ErrorCode::RecordFileNotExist)?;
        match (&f.file_id, f.state) {
            (Some(id), 1) => Ok(id.clone()),
            _ => Err(ErrorCode::RecordStateErr),
        }
    }

    /// An upload could not be handed to the net disk: `file_name` is not uploading.
    pub fn upload_not_started(&self, file_name: &str) {
        self.upload_ended(file_name, false);
        self.shared
            .events
            .push(Event::NotifyRecordFileStateChanged {
                file_name: file_name.to_owned(),
                state: 0,
            });
    }

    /// The net disk finished `file_name`'s upload (`ok`: it is listed).
    pub fn upload_ended(&self, file_name: &str, ok: bool) {
        let mut state = self.shared.state.lock();
        if let Some(f) = (state.files.iter_mut()).find(|f| f.path.as_os_str() == file_name) {
            f.state = if ok { 2 } else { 0 };
            if ok {
                f.upload_percent.store(100, Ordering::Relaxed);
            }
        }
    }

    /// Follows the room copy: a recording stops when its meeting is left.
    pub fn follow_room(&self) {
        if self.rooms.lock().room.is_none() {
            let _ = self.stop();
        }
    }

    /// Uninit: a running recording is finished and its thread joined.
    pub fn shutdown(&self) {
        let running = self.shared.state.lock().running.take();
        if let Some(running) = running {
            let _ = running.stop.send(());
            let _ = running.thread.join();
        }
    }
}

/// The file a recording is written to until it is complete: `<path>.recording` (the name
/// API.md gives it, so not a hidden one).
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".recording");
    PathBuf::from(name)
}
