//! The net disk in the engine: summary, list and delete requests, and uploads and downloads
//! of files with progress, pause, cancel, and resume after a reconnect.
//!
//! An upload asks the server where to start (`netdisk_upload`, answered with the bytes it
//! holds), then its task ([`upload`]) sends disk frames while the server's progress leaves
//! room in a window of [`WINDOW_BYTES`], and the MD5 last; the server lists the file once
//! size and digest match. A download asks for the file from the bytes it has
//! (`netdisk_download`, answered with size and MD5) and raises the server's credit to what
//! its writer ([`download`]) wrote plus the window; pausing stops raising it.
//!
//! Transfers are keyed by the key of their file ID (what disk frames carry); the file IDs
//! with a transfer are also in [`super::ActiveDiskFiles`], which the API checks at once.

mod download;
pub mod requests;
mod upload;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use crvideo_proto::netdisk::parse_file_id;
use crvideo_proto::{NetDiskDownloadStart, NetDiskList, NetDiskUploadStart, Request};
use tokio::sync::watch;

use std::sync::atomic::Ordering;

use super::engine::Engine;
use super::{Internal, RequestSpec};
use crate::dispatch::Event;
use crate::record::RecordUpload;
use crate::ErrorCode;

/// Bytes a transfer may have in flight beyond what the other side confirmed.
pub const WINDOW_BYTES: u64 = 4 * 1024 * 1024;
/// Largest disk frame payload the SDK sends.
const CHUNK_BYTES: usize = 256 * 1024;

/// What the app asks of a transfer.
pub enum NetDiskCommand {
    /// `file` is the open local file, `size` its length.
    Upload {
        file_id: String,
        file: File,
        size: u64,
        org_name: String,
        /// A record file (`CRVideo_UploadRecordFile`), reported with the record callbacks.
        record: Option<RecordUpload>,
    },
    /// `file` is the hidden partial file, created at `partial`, for `target`.
    Download {
        file_id: String,
        file: File,
        partial: PathBuf,
        target: PathBuf,
    },
    Pause {
        file_id: String,
        pause: bool,
    },
    Cancel {
        file_id: String,
    },
}

/// Reports to the engine about transfers.
pub enum NetDiskReport {
    /// The server answered a start (or restart) `serial` of transfer `key`.
    Started {
        key: String,
        serial: u64,
        result: Result<serde_json::Value, i32>,
    },
    /// The server's list, after an upload did not fit.
    Full {
        key: String,
        list: Result<serde_json::Value, i32>,
    },
    /// An upload could not read its file.
    UploadFailed { key: String, code: ErrorCode },
    /// A download's writer wrote this many bytes.
    Written { key: String, written: u64 },
    /// A download's writer finished.
    Downloaded {
        key: String,
        result: Result<(), ErrorCode>,
    },
}

/// The session's transfers.
#[derive(Default)]
pub struct DiskTransfers {
    by_key: HashMap<String, DiskTransfer>,
    /// Uploads cancelled after their end was sent: if the server lists them anyway, they
    /// are deleted.
    cancelled_uploads: HashSet<String>,
    next_serial: u64,
}

struct DiskTransfer {
    file_id: String,
    /// The start request in flight (a reply of an older one is stale).
    serial: u64,
    /// Whether the server accepted a start: after a reconnect it is asked again.
    started: bool,
    size: u64,
    /// The highest percent reported.
    percent: Option<i32>,
    paused: watch::Sender<bool>,
    direction: Direction,
    /// The record file this upload is (reported with the record callbacks, not the net
    /// disk's).
    record: Option<RecordUpload>,
}

enum Direction {
    Up {
        file: Arc<File>,
        org_name: String,
        received: watch::Sender<u64>,
        task: Option<tokio::task::JoinHandle<()>>,
    },
    Down {
        /// Until the server answered the first start.
        pending: Option<(File, PathBuf, PathBuf)>,
        /// Bytes handed to the writer (the next frame must start here).
        accepted: u64,
        written: u64,
        /// The credit last sent on this connection.
        credit: u64,
        writer: Option<std::sync::mpsc::Sender<Bytes>>,
    },
}

impl DiskTransfer {
    /// The progress callback for `done` bytes if its percent rose (at most 99 before the
    /// end: 100 says complete).
    fn progress(&mut self, done: u64) -> Option<Event> {
        let percent = match self.size {
            0 => 0,
            size => (done.min(size) * 100 / size).min(99) as i32,
        };
        if self.percent.is_some_and(|p| p >= percent) {
            return None;
        }
        self.percent = Some(percent);
        Some(match &self.record {
            Some(record) => {
                record.percent.store(percent, Ordering::Relaxed);
                Event::NotifyRecordFileUploadProgress {
                    file_name: record.file_name.clone(),
                    percent,
                }
            }
            None => Event::NotifyNetDiskTransforProgress {
                file_id: self.file_id.clone(),
                percent,
                is_succeed: 1,
            },
        })
    }

    /// The callbacks of its end: done (`ok`), failed, or cancelled by the app.
    fn end_events(&self, ok: bool, cancelled: bool) -> Vec<Event> {
        let Some(RecordUpload { file_name, .. }) = &self.record else {
            return vec![Event::NotifyNetDiskTransforProgress {
                file_id: self.file_id.clone(),
                percent: if ok { 100 } else { self.percent.unwrap_or(0) },
                is_succeed: ok as i32,
            }];
        };
        let file_name = file_name.clone();
        let state = |state| Event::NotifyRecordFileStateChanged {
            file_name: file_name.clone(),
            state,
        };
        match (ok, cancelled) {
            (true, _) => vec![
                Event::NotifyRecordFileUploadProgress {
                    file_name: file_name.clone(),
                    percent: 100,
                },
                state(2),
            ],
            (false, true) => vec![state(0)],
            (false, false) => vec![
                Event::UploadRecordFileErr {
                    file_name: file_name.clone(),
                    sdk_err: ErrorCode::RecordUploadFailed.code(),
                },
                state(0),
            ],
        }
    }

    /// Stops its task or writer (a writer dropped unfinished deletes the partial file).
    fn stop(&mut self) {
        match &mut self.direction {
            Direction::Up { task, .. } => {
                if let Some(task) = task.take() {
                    task.abort();
                }
            }
            Direction::Down {
                writer, pending, ..
            } => {
                writer.take();
                if let Some((file, partial, _)) = pending.take() {
                    drop(file);
                    let _ = std::fs::remove_file(partial);
                }
            }
        }
    }
}

fn key_of(file_id: &str) -> Option<String> {
    parse_file_id(file_id).map(|id| id.key.to_owned())
}

impl Engine {
    pub(crate) fn on_netdisk_command(&mut self, command: NetDiskCommand) {
        match command {
            NetDiskCommand::Upload {
                file_id,
                file,
                size,
                org_name,
                record,
            } => {
                let (received, _) = watch::channel(0);
                let direction = Direction::Up {
                    file: Arc::new(file),
                    org_name,
                    received,
                    task: None,
                };
                self.add_disk_transfer(file_id, size, direction, record);
            }
            NetDiskCommand::Download {
                file_id,
                file,
                partial,
                target,
            } => {
                let direction = Direction::Down {
                    pending: Some((file, partial, target)),
                    accepted: 0,
                    written: 0,
                    credit: 0,
                    writer: None,
                };
                self.add_disk_transfer(file_id, 0, direction, None);
            }
            NetDiskCommand::Pause { file_id, pause } => {
                let Some(key) = key_of(&file_id) else { return };
                let Some(t) = self.local.netdisk.by_key.get_mut(&key) else {
                    return;
                };
                t.paused.send_replace(pause);
                if !pause {
                    self.send_disk_credit(&key);
                }
            }
            NetDiskCommand::Cancel { file_id } => {
                let Some(key) = key_of(&file_id) else { return };
                let Some(mut t) = self.local.netdisk.by_key.remove(&key) else {
                    return;
                };
                t.stop();
                if matches!(t.direction, Direction::Up { .. }) {
                    self.local.netdisk.cancelled_uploads.insert(key);
                }
                self.config.netdisk.lock().remove(&t.file_id);
                self.request(requests::signal(Request::NetdiskCancel {
                    file_id: t.file_id.clone(),
                }));
                self.disk_ended(&t, false, true);
            }
        }
    }

    fn add_disk_transfer(
        &mut self,
        file_id: String,
        size: u64,
        direction: Direction,
        record: Option<RecordUpload>,
    ) {
        let key = key_of(&file_id).expect("checked by the API");
        let (paused, _) = watch::channel(false);
        let transfer = DiskTransfer {
            file_id,
            serial: 0,
            started: false,
            size,
            percent: None,
            paused,
            direction,
            record,
        };
        self.local.netdisk.by_key.insert(key.clone(), transfer);
        self.start_disk_transfer(&key);
    }

    /// Asks the server to start (or go on with) transfer `key`.
    fn start_disk_transfer(&mut self, key: &str) {
        self.local.netdisk.next_serial += 1;
        let serial = self.local.netdisk.next_serial;
        let Some(t) = self.local.netdisk.by_key.get_mut(key) else {
            return;
        };
        t.serial = serial;
        let request = match &mut t.direction {
            Direction::Up { org_name, .. } => Request::NetdiskUpload {
                file_id: t.file_id.clone(),
                org_name: org_name.clone(),
                size: t.size,
            },
            Direction::Down {
                accepted, credit, ..
            } => {
                *credit = 0;
                Request::NetdiskDownload {
                    file_id: t.file_id.clone(),
                    offset: *accepted,
                }
            }
        };
        let internal = self.internal.clone();
        let key = key.to_owned();
        self.request(RequestSpec::new(request, move |_, result| {
            let report = NetDiskReport::Started {
                key,
                serial,
                result,
            };
            let _ = internal.send(Internal::NetDisk(report));
            None
        }));
    }

    pub(crate) fn on_netdisk_report(&mut self, report: NetDiskReport) {
        match report {
            NetDiskReport::Started {
                key,
                serial,
                result,
            } => self.on_disk_started(key, serial, result),
            NetDiskReport::Full { key, list } => {
                let files = list
                    .ok()
                    .and_then(|v| serde_json::from_value::<NetDiskList>(v).ok())
                    .map_or_else(Vec::new, |l| l.files);
                let record =
                    (self.local.netdisk.by_key.get(&key)).is_some_and(|t| t.record.is_some());
                // A record file's upload only fails (UploadRecordFileErr).
                if !record {
                    self.events.push(Event::NotifyNetDiskIsFull {
                        file_list_json: serde_json::to_string(&files).expect("files serialise"),
                    });
                }
                self.end_disk_transfer(&key, false);
            }
            NetDiskReport::UploadFailed { key, code } => {
                tracing::warn!("net disk: upload failed: {code}");
                if let Some(t) = self.local.netdisk.by_key.get(&key) {
                    let file_id = t.file_id.clone();
                    self.request(requests::signal(Request::NetdiskCancel { file_id }));
                }
                self.end_disk_transfer(&key, false);
            }
            NetDiskReport::Written { key, written } => {
                let Some(t) = self.local.netdisk.by_key.get_mut(&key) else {
                    return;
                };
                if let Direction::Down { written: w, .. } = &mut t.direction {
                    *w = written;
                }
                let progress = t.progress(written);
                self.events.extend(progress);
                self.send_disk_credit(&key);
            }
            NetDiskReport::Downloaded { key, result } => {
                if let Err(code) = result {
                    tracing::warn!("net disk: download failed: {code}");
                }
                if let Some(t) = self.local.netdisk.by_key.get(&key) {
                    let file_id = t.file_id.clone();
                    self.request(requests::signal(Request::NetdiskCancel { file_id }));
                }
                self.end_disk_transfer(&key, result.is_ok());
            }
        }
    }

    fn on_disk_started(
        &mut self,
        key: String,
        serial: u64,
        result: Result<serde_json::Value, i32>,
    ) {
        let current = self.local.netdisk.by_key.get(&key);
        if current.is_none_or(|t| t.serial != serial) {
            return; // ended, or an older start while a newer one is in flight
        }
        let data = match result {
            Ok(data) => data,
            Err(code) if code == ErrorCode::NetDiskFull.code() => {
                let internal = self.internal.clone();
                self.request(RequestSpec::new(Request::NetdiskList, move |_, list| {
                    let _ = internal.send(Internal::NetDisk(NetDiskReport::Full { key, list }));
                    None
                }));
                return;
            }
            Err(code) => {
                tracing::info!(code, "net disk: transfer refused");
                return self.end_disk_transfer(&key, false);
            }
        };
        let chunk = self.disk_chunk_bytes();
        let bulk = self.link().map(|l| l.bulk.clone());
        let internal = self.internal.clone();
        let Some(t) = self.local.netdisk.by_key.get_mut(&key) else {
            return;
        };
        let first = !t.started;
        t.started = true;
        match &mut t.direction {
            Direction::Up {
                file,
                received,
                task,
                ..
            } => {
                let Ok(start) = serde_json::from_value::<NetDiskUploadStart>(data) else {
                    return self.end_disk_transfer(&key, false);
                };
                let Some(bulk) = bulk else { return };
                received.send_replace(start.offset);
                if let Some(old) = task.take() {
                    old.abort();
                }
                let job = upload::UploadJob {
                    file_id: t.file_id.clone(),
                    key: key.clone(),
                    file: file.clone(),
                    size: t.size,
                    start: start.offset,
                    chunk,
                    received: received.subscribe(),
                    paused: t.paused.subscribe(),
                    bulk,
                    done: internal,
                };
                *task = Some(tokio::spawn(upload::upload(job)));
                let progress = t.progress(start.offset);
                self.events.extend(progress);
            }
            Direction::Down {
                pending, writer, ..
            } => {
                let Ok(start) = serde_json::from_value::<NetDiskDownloadStart>(data) else {
                    return self.end_disk_transfer(&key, false);
                };
                if first {
                    let Some((file, partial, target)) = pending.take() else {
                        return;
                    };
                    t.size = start.size;
                    let (tx, rx) = std::sync::mpsc::channel();
                    *writer = Some(tx);
                    let w = download::Writer {
                        key: key.clone(),
                        file,
                        partial,
                        target,
                        size: start.size,
                        md5: start.md5,
                        done: internal,
                    };
                    tokio::task::spawn_blocking(move || download::run(w, rx));
                    let progress = t.progress(0);
                    self.events.extend(progress);
                }
                self.send_disk_credit(&key);
            }
        }
    }

    /// Raises a download's credit to what its writer wrote plus the window (unless paused).
    fn send_disk_credit(&mut self, key: &str) {
        let Some(t) = self.local.netdisk.by_key.get_mut(key) else {
            return;
        };
        let paused = *t.paused.borrow();
        let Direction::Down {
            written, credit, ..
        } = &mut t.direction
        else {
            return;
        };
        let upto = (*written + WINDOW_BYTES).min(t.size);
        if paused || !t.started || upto <= *credit {
            return;
        }
        *credit = upto;
        let file_id = t.file_id.clone();
        if let Some(link) = self.link() {
            link.send(super::transfer::one_way(Request::NetdiskCredit {
                file_id,
                upto,
            }));
        }
    }

    /// A disk frame of a download: handed to its writer if it is the next one.
    pub(crate) fn on_disk_chunk(&mut self, key: &str, offset: u64, payload: Bytes) {
        let Some(t) = self.local.netdisk.by_key.get_mut(key) else {
            return; // cancelled meanwhile
        };
        let Direction::Down {
            accepted,
            writer: Some(writer),
            ..
        } = &mut t.direction
        else {
            return;
        };
        // After a reconnect the server starts again from what was accepted; a frame it sent
        // before is either the same bytes at that offset or not the next one.
        if offset != *accepted || offset + payload.len() as u64 > t.size {
            return;
        }
        *accepted += payload.len() as u64;
        let _ = writer.send(payload);
    }

    /// An upload's progress (and room in its window).
    pub(crate) fn on_disk_progress(&mut self, file_id: &str, received: u64) {
        let Some(key) = key_of(file_id) else { return };
        let Some(t) = self.local.netdisk.by_key.get_mut(&key) else {
            return;
        };
        if let Direction::Up { received: r, .. } = &t.direction {
            r.send_if_modified(|r| {
                let raised = received > *r;
                *r = (*r).max(received);
                raised
            });
        }
        let progress = t.progress(received);
        self.events.extend(progress);
    }

    /// The server's verdict on an upload.
    pub(crate) fn on_disk_upload_result(&mut self, file_id: String, code: i32) {
        let Some(key) = key_of(&file_id) else { return };
        if self.local.netdisk.cancelled_uploads.remove(&key) && code == 0 {
            // Cancelled after its last byte left: the app was told it failed.
            self.request(requests::signal(Request::NetdiskDelete { file_id }));
            return;
        }
        if code != 0 {
            tracing::warn!(code, "net disk: upload refused by the server");
        }
        self.end_disk_transfer(&key, code == 0);
    }

    fn end_disk_transfer(&mut self, key: &str, ok: bool) {
        if let Some(mut t) = self.local.netdisk.by_key.remove(key) {
            t.stop();
            self.config.netdisk.lock().remove(&t.file_id);
            self.disk_ended(&t, ok, false);
        }
    }

    /// Tells the app (and the recorder, for a record file) that `t` ended.
    fn disk_ended(&mut self, t: &DiskTransfer, ok: bool, cancelled: bool) {
        if let Some(record) = &t.record {
            self.config.recorder.upload_ended(&record.file_name, ok);
        }
        self.events.extend(t.end_events(ok, cancelled));
    }

    fn disk_chunk_bytes(&self) -> usize {
        let max_frame = self
            .max_frame_bytes()
            .unwrap_or(crvideo_proto::DEFAULT_MAX_FRAME_BYTES);
        CHUNK_BYTES
            .min(
                max_frame
                    .saturating_sub(crvideo_proto::data::chunk_header_len(&"0".repeat(32)) + 64),
            )
            .max(1024)
    }

    /// The connection is lost (a reconnect follows): uploads stop sending; downloads keep
    /// writing what arrived. Both are asked again once the session is back.
    pub(crate) fn suspend_netdisk(&mut self) {
        for t in self.local.netdisk.by_key.values_mut() {
            if let Direction::Up { task, .. } = &mut t.direction {
                if let Some(task) = task.take() {
                    task.abort();
                }
            }
        }
    }

    /// The session is back on a new connection: every started transfer goes on from where
    /// the other side is.
    pub(crate) fn resume_netdisk(&mut self) {
        let started: Vec<String> = (self.local.netdisk.by_key.iter())
            .filter(|(_, t)| t.started)
            .map(|(key, _)| key.clone())
            .collect();
        for key in started {
            self.start_disk_transfer(&key);
        }
    }

    /// The session ended: every transfer fails (partial downloads are deleted).
    pub(crate) fn end_netdisk(&mut self) {
        let transfers = std::mem::take(&mut self.local.netdisk);
        let mut all: Vec<_> = transfers.by_key.into_values().collect();
        all.sort_by(|a, b| a.file_id.cmp(&b.file_id));
        self.config.netdisk.lock().clear();
        for mut t in all {
            t.stop();
            self.disk_ended(&t, false, false);
        }
    }
}
