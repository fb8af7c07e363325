//! The task that sends one net-disk upload: the file in disk frames, each once the server's
//! progress leaves room in the window and the transfer is not paused; then
//! `netdisk_upload_end` with the digest, behind the last frame in the bulk lane. A reader on
//! the blocking pool reads the frames a few ahead, and an [`Md5Thread`] hashes them beside.

use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;
use crvideo_proto::data::encode_disk_chunk;
use crvideo_proto::md5_thread::Md5Thread;
use crvideo_proto::{encode, ClientFrame, Request};
use md5::{Digest, Md5};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::{NetDiskReport, WINDOW_BYTES};
use crate::client::transfer::outgoing::read_exact_at;
use crate::client::Internal;
use crate::ErrorCode;

/// What one upload task sends.
pub struct UploadJob {
    pub file_id: String,
    pub key: String,
    pub file: Arc<File>,
    pub size: u64,
    /// Where the server asked to go on from (0, or what it holds after a reconnect).
    pub start: u64,
    pub chunk: usize,
    /// The server's `received`, from its progress events.
    pub received: watch::Receiver<u64>,
    pub paused: watch::Receiver<bool>,
    pub bulk: mpsc::Sender<Message>,
    pub done: mpsc::UnboundedSender<Internal>,
}

/// Frames read ahead of the window.
const READ_AHEAD: usize = 4;

/// What the reader hands the task.
enum Read {
    /// The frame of the chunk that ends at `end`.
    Chunk {
        end: u64,
        frame: Bytes,
    },
    /// Every chunk was read: the MD5 of the whole file.
    Digest(String),
    Failed,
}

pub async fn upload(mut job: UploadJob) {
    let (reads, mut read) = mpsc::channel(READ_AHEAD);
    let source = Source {
        file: job.file.clone(),
        key: job.key.clone(),
        start: job.start,
        size: job.size,
        chunk: job.chunk,
    };
    // Ends when it read everything or this task is gone (its channel closed).
    tokio::task::spawn_blocking(move || source.read(reads));
    while let Some(next) = read.recv().await {
        let (end, frame) = match next {
            Read::Chunk { end, frame } => (end, frame),
            Read::Digest(md5) => {
                let end = Request::NetdiskUploadEnd {
                    file_id: job.file_id.clone(),
                    md5,
                };
                let end = Message::text(encode(&ClientFrame {
                    id: 0,
                    request: end,
                }));
                let _ = job.bulk.send(end).await;
                return;
            }
            Read::Failed => return failed(&job, ErrorCode::FileReadErr),
        };
        if job.paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        let room = |received: &u64| end <= received + WINDOW_BYTES;
        if job.received.wait_for(room).await.is_err() {
            return;
        }
        if job.bulk.send(Message::Binary(frame)).await.is_err() {
            return; // the connection is gone: the engine resumes the upload on the next
        }
    }
}

/// The file of an upload, read in disk frames from `start` on the blocking pool, its MD5
/// computed beside on a thread of its own.
struct Source {
    file: Arc<File>,
    key: String,
    start: u64,
    size: u64,
    chunk: usize,
}

impl Source {
    fn read(self, reads: mpsc::Sender<Read>) {
        let result = self.read_all(&reads);
        let _ = reads.blocking_send(match result {
            Ok(Some(md5)) => Read::Digest(md5),
            Ok(None) => return, // the upload task is gone
            Err(e) => {
                tracing::warn!("net disk: cannot read an upload: {e}");
                Read::Failed
            }
        });
    }

    /// The digest once every frame was handed over; `None` when the task went away.
    fn read_all(&self, reads: &mpsc::Sender<Read>) -> std::io::Result<Option<String>> {
        // A resumed upload's digest covers the bytes sent before too.
        let hasher = Md5Thread::start(hash_prefix(&self.file, self.start)?)?;
        let mut offset = self.start;
        while offset < self.size {
            let len = self.chunk.min((self.size - offset) as usize);
            let mut frame = encode_disk_chunk(&self.key, offset, &[]);
            let header = frame.len();
            read_exact_at(&self.file, &mut frame, len, offset)?;
            let frame = Bytes::from(frame);
            hasher.update(frame.slice(header..));
            offset += len as u64;
            let chunk = Read::Chunk { end: offset, frame };
            if reads.blocking_send(chunk).is_err() {
                return Ok(None);
            }
        }
        let md5 = hasher.finish().ok_or(std::io::ErrorKind::Other)?;
        Ok(Some(md5))
    }
}

fn failed(job: &UploadJob, code: ErrorCode) {
    let _ = job
        .done
        .send(Internal::NetDisk(NetDiskReport::UploadFailed {
            key: job.key.clone(),
            code,
        }));
}

/// MD5 state after the first `len` bytes of `file`.
fn hash_prefix(file: &File, len: u64) -> std::io::Result<Md5> {
    let mut md5 = Md5::new();
    let mut buf = Vec::with_capacity(1 << 20);
    let mut offset = 0;
    while offset < len {
        let n = (1usize << 20).min((len - offset) as usize);
        buf.clear();
        read_exact_at(file, &mut buf, n, offset)?;
        md5.update(&buf);
        offset += n as u64;
    }
    Ok(md5)
}
