//! The receiving side of a bulk transfer: the engine's bookkeeping (what arrived, what was
//! consumed, what credit is due). The bytes themselves go to a [`Sink`], which writes and
//! hashes them off the I/O thread; only a complete, verified transfer is handed to the app.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use crvideo_proto::TransferKind;
use tokio::sync::mpsc::UnboundedSender;

use super::names::base_name;
use super::sink::{Received, Sink};
use super::WINDOW_BYTES;
use crate::client::Internal;
use crate::dispatch::Event;
use crate::ErrorCode;

/// The receiver's view of one transfer.
pub struct Incoming {
    pub source: String,
    pub total: u64,
    /// Bytes arrived (queued to the sink).
    pub received: u64,
    /// Bytes the sink has written and hashed: what the sender's SendProgress reports.
    pub consumed: u64,
    /// Bytes consumed since the last credit was granted.
    pub ungranted: u64,
    /// Credit granted so far (the initial window included): `granted - received` may still
    /// be on its way.
    pub granted: u64,
    /// Order of arrival among the session's incoming transfers.
    pub arrival: u64,
    /// The sender's base name (the app's `orgFileName`); empty for buffers.
    name: String,
    /// The sink was asked to verify and complete the transfer.
    finishing: bool,
    force_due: bool,
    sink: Sink,
}

impl Incoming {
    /// Prepares to receive. Errors: `SENDBUFFER_LARGE` (a buffer above this SDK's cap),
    /// `FILE_WRITE_ERR` (tmpDir or the partial file cannot be created).
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        transfer_id: &str,
        source: String,
        kind: TransferKind,
        name: &str,
        total: u64,
        tmp_dir: &Path,
        max_buffer: u64,
        internal: UnboundedSender<Internal>,
    ) -> Result<Incoming, ErrorCode> {
        let (sink, name) = match kind {
            TransferKind::Buffer => {
                if total > max_buffer {
                    return Err(ErrorCode::SendBufferLarge);
                }
                (Sink::buffer(transfer_id, total, internal), String::new())
            }
            TransferKind::File => (Sink::file(transfer_id, tmp_dir, internal)?, base_name(name)),
        };
        Ok(Incoming {
            source,
            total,
            received: 0,
            consumed: 0,
            ungranted: 0,
            granted: 0,
            arrival: 0,
            name,
            finishing: false,
            force_due: false,
            sink,
        })
    }

    /// Takes the next chunk (a slice of the frame it came in). Errors: `ERR_DATA` (out of
    /// order, or past the announced size).
    pub fn write(&mut self, offset: u64, chunk: Bytes) -> Result<(), ErrorCode> {
        let end = offset + chunk.len() as u64;
        if offset != self.received || end > self.total || self.finishing {
            return Err(ErrorCode::ErrData);
        }
        self.received = end;
        self.sink.write(chunk);
        Ok(())
    }

    /// The sink wrote `bytes` more.
    pub fn consumed(&mut self, bytes: u64) {
        self.consumed += bytes;
        self.ungranted += bytes;
    }

    /// Credit to grant now: after a quarter window of consumed bytes, or at the end.
    pub fn credit_due(&mut self) -> Option<u64> {
        let due = self.ungranted >= WINDOW_BYTES / 4
            || (self.consumed == self.total && self.ungranted > 0)
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
        self.sink.is_buffer()
    }

    /// The sender is done: checks the size now; the sink checks the digest after the last
    /// chunk and moves a file to its final, unique name in `tmp_dir`, then reports
    /// [`Internal::SinkFinished`]. Errors: `ERR_DATA` (truncated, or a second end).
    pub fn finish(&mut self, digest: String, tmp_dir: PathBuf) -> Result<(), ErrorCode> {
        if self.received != self.total || self.finishing {
            return Err(ErrorCode::ErrData);
        }
        self.finishing = true;
        self.sink
            .finish(digest, self.total, tmp_dir, self.name.clone());
        Ok(())
    }

    /// The app's notification for a finished transfer (after the sink verified it).
    pub fn into_event(self) -> Event {
        let Incoming {
            source, sink, name, ..
        } = self;
        match sink.take() {
            Received::Buffer(data) => Event::NotifyBufferData {
                source_user_id: source,
                data,
            },
            Received::File(path) => Event::NotifyFileData {
                source_user_id: source,
                tmp_file: path.to_string_lossy().into_owned(),
                org_file_name: name,
            },
        }
    }

    /// Drops what arrived; removes whatever reached the disk (partial or final file).
    pub fn discard(self) {
        self.sink.discard();
    }
}
