//! The receiving side of a bulk transfer: bytes go to memory (buffers) or to a hidden
//! partial file in `tmpDir` (files), hashed as they come; only a complete, verified transfer
//! is handed to the app.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crvideo_proto::TransferKind;

use super::names::{base_name, partial_path, reserve_unique};
use super::WINDOW_BYTES;
use crate::dispatch::Event;
use crate::ErrorCode;

enum Sink {
    Buffer(Vec<u8>),
    File {
        file: File,
        partial: PathBuf,
        /// Where the verified file was moved to (before the app is told).
        done: Option<PathBuf>,
        /// The sender's base name (the app's `orgFileName`).
        name: String,
    },
}

/// The receiver's view of one transfer.
pub struct Incoming {
    pub source: String,
    pub total: u64,
    pub received: u64,
    /// Bytes consumed since the last credit was granted.
    pub ungranted: u64,
    /// Credit granted so far (the initial window included): `granted - received` may still
    /// be on its way.
    pub granted: u64,
    /// Order of arrival among the session's incoming transfers.
    pub arrival: u64,
    force_due: bool,
    hasher: blake3::Hasher,
    sink: Sink,
}

impl Incoming {
    /// Prepares to receive. Errors: `SENDBUFFER_LARGE` (a buffer above this SDK's cap),
    /// `FILE_WRITE_ERR` (tmpDir or the partial file cannot be created).
    pub fn open(
        transfer_id: &str,
        source: String,
        kind: TransferKind,
        name: &str,
        total: u64,
        tmp_dir: &Path,
        max_buffer: u64,
    ) -> Result<Incoming, ErrorCode> {
        let sink = match kind {
            TransferKind::Buffer => {
                if total > max_buffer {
                    return Err(ErrorCode::SendBufferLarge);
                }
                Sink::Buffer(Vec::with_capacity(total as usize))
            }
            TransferKind::File => {
                std::fs::create_dir_all(tmp_dir).map_err(|_| ErrorCode::FileWriteErr)?;
                let partial = partial_path(tmp_dir, transfer_id);
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&partial)
                    .map_err(|_| ErrorCode::FileWriteErr)?;
                Sink::File {
                    file,
                    partial,
                    done: None,
                    name: base_name(name),
                }
            }
        };
        Ok(Incoming {
            source,
            total,
            received: 0,
            ungranted: 0,
            granted: 0,
            arrival: 0,
            force_due: false,
            hasher: blake3::Hasher::new(),
            sink,
        })
    }

    /// Takes the next chunk. Errors: `ERR_DATA` (out of order, or past the announced size),
    /// `FILE_WRITE_ERR`.
    pub fn write(&mut self, offset: u64, payload: &[u8]) -> Result<(), ErrorCode> {
        let end = offset + payload.len() as u64;
        if offset != self.received || end > self.total {
            return Err(ErrorCode::ErrData);
        }
        match &mut self.sink {
            Sink::Buffer(data) => data.extend_from_slice(payload),
            Sink::File { file, .. } => {
                // Zero runs are skipped rather than written, so sparse files stay sparse;
                // `finish` fixes the length.
                let written = if payload.iter().all(|&b| b == 0) {
                    file.seek(SeekFrom::Current(payload.len() as i64))
                        .map(|_| ())
                } else {
                    file.write_all(payload)
                };
                written.map_err(|_| ErrorCode::FileWriteErr)?;
            }
        }
        self.hasher.update(payload);
        self.received = end;
        self.ungranted += payload.len() as u64;
        Ok(())
    }

    /// Credit to grant now: after a quarter window of consumed bytes, or at the end.
    pub fn credit_due(&mut self) -> Option<u64> {
        let due = self.ungranted >= WINDOW_BYTES / 4
            || (self.received == self.total && self.ungranted > 0)
            || self.force_due && self.ungranted > 0;
        self.force_due = false;
        due.then(|| std::mem::take(&mut self.ungranted))
    }

    /// Makes the next [`Incoming::credit_due`] grant whatever was earned, however little.
    pub fn force_credit_due(&mut self) {
        self.force_due = true;
    }

    /// Whether the receiving app may hold this transfer in memory when it completes (the
    /// engine throttles credit for these while the app is behind).
    pub fn is_buffer(&self) -> bool {
        matches!(self.sink, Sink::Buffer(_))
    }

    /// The sender is done: checks the size and the digest, and moves a file to its final,
    /// unique name in `tmp_dir`. Errors: `ERR_DATA` (truncated or corrupted),
    /// `FILE_WRITE_ERR`.
    pub fn finish(&mut self, digest: &str, tmp_dir: &Path) -> Result<(), ErrorCode> {
        if self.received != self.total || self.hasher.finalize().to_hex().as_str() != digest {
            return Err(ErrorCode::ErrData);
        }
        if let Sink::File {
            file,
            partial,
            done,
            name,
        } = &mut self.sink
        {
            file.set_len(self.total)
                .map_err(|_| ErrorCode::FileWriteErr)?;
            file.flush().map_err(|_| ErrorCode::FileWriteErr)?;
            let target = reserve_unique(tmp_dir, name).map_err(|_| ErrorCode::FileWriteErr)?;
            if std::fs::rename(&*partial, &target).is_err() {
                let _ = std::fs::remove_file(&target);
                return Err(ErrorCode::FileWriteErr);
            }
            *done = Some(target);
        }
        Ok(())
    }

    /// The app's notification for a finished transfer.
    pub fn into_event(self) -> Event {
        let Incoming { source, sink, .. } = self;
        match sink {
            Sink::Buffer(data) => Event::NotifyBufferData { source, data },
            Sink::File { done, name, .. } => Event::NotifyFileData {
                source,
                tmp_file: done
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                org_name: name,
            },
        }
    }

    /// Removes whatever reached the disk (partial or final file).
    pub fn discard(self) {
        if let Sink::File {
            partial,
            done,
            file,
            ..
        } = self.sink
        {
            drop(file);
            let _ = std::fs::remove_file(&partial);
            if let Some(done) = done {
                let _ = std::fs::remove_file(done);
            }
        }
    }
}
