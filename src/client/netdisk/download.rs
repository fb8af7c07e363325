//! The writer of one net-disk download, on tokio's blocking pool: writes the bytes the engine
//! accepted (in order) to the hidden partial file, has an [`Md5Thread`] hash them beside,
//! hands them to writeback as it goes, reports progress, and once all arrived checks the
//! MD5 and puts the file at its path without overwriting anything.
//! Dropped unfinished (cancel, session end), it deletes the partial file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use bytes::Bytes;
use crvideo_proto::md5_thread::Md5Thread;
use crvideo_proto::writeback::{start_writeback, WRITEBACK_EVERY};
use md5::Md5;
use tokio::sync::mpsc::UnboundedSender;

use super::NetDiskReport;
use crate::client::Internal;
use crate::ErrorCode;

pub struct Writer {
    pub key: String,
    pub file: File,
    pub partial: PathBuf,
    pub target: PathBuf,
    pub size: u64,
    pub md5: String,
    pub done: UnboundedSender<Internal>,
}

/// Reports written bytes at most this often (in bytes) besides the last.
const REPORT_EVERY: u64 = 256 * 1024;

pub fn run(writer: Writer, data: Receiver<Bytes>) {
    let Writer {
        key,
        mut file,
        partial,
        target,
        size,
        md5: expected,
        done,
    } = writer;
    let report = |report| {
        let _ = done.send(Internal::NetDisk(report));
    };
    let Ok(hasher) = Md5Thread::start(Md5::default()) else {
        drop(file);
        let _ = std::fs::remove_file(&partial);
        return report(NetDiskReport::Downloaded {
            key,
            result: Err(ErrorCode::FileWriteErr),
        });
    };
    let mut written = 0u64;
    let mut reported = 0u64;
    let mut handed = 0u64;
    while written < size {
        let Ok(bytes) = data.recv() else {
            // Cancelled or the session ended: nothing partial stays.
            drop(file);
            let _ = std::fs::remove_file(&partial);
            return;
        };
        if let Err(e) = file.write_all(&bytes) {
            tracing::warn!("net disk: cannot write {}: {e}", partial.display());
            drop(file);
            let _ = std::fs::remove_file(&partial);
            return report(NetDiskReport::Downloaded {
                key,
                result: Err(ErrorCode::FileWriteErr),
            });
        }
        written += bytes.len() as u64;
        hasher.update(bytes);
        if written >= handed + WRITEBACK_EVERY {
            start_writeback(&file, handed, written - handed);
            handed = written;
        }
        if written - reported >= REPORT_EVERY || written == size {
            reported = written;
            report(NetDiskReport::Written {
                key: key.clone(),
                written,
            });
        }
    }
    let result = match hasher.finish() {
        Some(md5) => finish(file, &partial, &target, &md5, &expected),
        None => Err(ErrorCode::FileWriteErr),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    report(NetDiskReport::Downloaded { key, result });
}

/// Checks the digest, makes the bytes durable and gives the file its name (a hard link, so
/// a file that appeared there meanwhile is never replaced), then drops the partial name.
fn finish(
    file: File,
    partial: &Path,
    target: &Path,
    md5: &str,
    expected: &str,
) -> Result<(), ErrorCode> {
    if !md5.eq_ignore_ascii_case(expected) {
        tracing::warn!("net disk: downloaded bytes do not match the file's MD5");
        return Err(ErrorCode::ErrData);
    }
    file.sync_all().map_err(|_| ErrorCode::FileWriteErr)?;
    drop(file);
    crate::files::place_without_replacing(partial, target).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => ErrorCode::FileAlreadyExist,
        _ => ErrorCode::FileWriteErr,
    })
}
